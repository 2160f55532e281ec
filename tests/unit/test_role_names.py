import re

from t4index.names import index_name, role_index_names


def _lucene_like(pattern: str) -> re.Pattern:
    assert pattern.startswith("/") and pattern.endswith("/")
    return re.compile(pattern[1:-1])


def test_a_bucket_role_covers_its_alias_and_every_version_and_nothing_else():
    alias, regex = role_index_names("my.bucket")
    assert alias == "t4-objects-my.bucket"
    matcher = _lucene_like(regex)
    assert matcher.fullmatch(index_name("my.bucket", 1))
    assert matcher.fullmatch(index_name("my.bucket", 12))
    assert not matcher.fullmatch(index_name("x-my.bucket", 1))
    assert not matcher.fullmatch(index_name("myxbucket", 1))
