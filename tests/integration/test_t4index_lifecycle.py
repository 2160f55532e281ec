"""Index lifecycle on the real Elasticsearch: template, first use, races, version roll."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from t4index import lifecycle
from t4index.document import build_document
from t4index.errors import IndexMissingError, IndexStateError
from t4index.mapping import MAPPING_VERSION, field_types, mappings
from t4index.names import TEMPLATE_NAME, alias_name, doc_id, index_name
from t4index.query import SearchQuery

pytestmark = pytest.mark.integration


@pytest.fixture
def bucket(es, unique_name: Callable[[str], str]) -> Iterator[str]:
    """A bucket name whose indices are deleted by exact name afterwards."""
    name = unique_name("ix")
    yield name
    for index in lifecycle.bucket_indices(es, name):
        lifecycle.delete_index(es, index)
    if any(found["name"] == alias_name(name) for found in
           es.resolve(alias_name(name)).get("indices", [])):
        es.delete_index(alias_name(name))


def count(es, bucket: str) -> int:
    es.refresh(alias_name(bucket))
    return es.count(alias_name(bucket))


def put(es, bucket: str, key: str, **kwargs) -> None:
    es.raw.index(index=alias_name(bucket), id=doc_id(bucket, key),
                 body=build_document(bucket=bucket, key=key, **kwargs), **lifecycle.WRITE_PARAMS)


def test_template_is_put_and_matches_the_mapping(es) -> None:
    assert lifecycle.ensure_template(es) in (True, False)
    found = es.raw.indices.get_index_template(name=TEMPLATE_NAME)["index_templates"][0]
    template = found["index_template"]
    assert template["index_patterns"] == ["t4-data-v*"]
    assert template["_meta"]["mapping_version"] >= MAPPING_VERSION


def test_first_use_creates_index_and_write_alias_idempotently(es, bucket: str) -> None:
    first = lifecycle.ensure_bucket_index(es, bucket)
    again = lifecycle.ensure_bucket_index(es, bucket)
    assert first.created and not again.created
    assert first.write_index == again.write_index == index_name(bucket, MAPPING_VERSION)
    aliases = es.alias_targets(alias_name(bucket))
    assert aliases[first.write_index]["is_write_index"] is True
    live = es.raw.indices.get_mapping(index=first.write_index)[first.write_index]["mappings"]
    assert field_types(live) == field_types(mappings())
    settings = es.raw.indices.get_settings(index=first.write_index)[first.write_index][
        "settings"]
    assert settings["index"]["highlight"]["max_analyzed_offset"] == "1000000"


def test_concurrent_first_use_makes_one_index(es, bucket: str) -> None:
    results: list[lifecycle.BucketIndex] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(lifecycle.ensure_bucket_index(es, bucket))
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {r.write_index for r in results} == {index_name(bucket, MAPPING_VERSION)}
    assert sum(r.created for r in results) == 1
    assert list(lifecycle.bucket_indices(es, bucket)) == [index_name(bucket, MAPPING_VERSION)]


def test_searches_from_the_moment_the_alias_exists_succeed(es, bucket: str) -> None:
    """A search of a bucket whose index is being created either finds no index yet or works.

    A new index's shard serves searches only once started, and searching it before
    fails with 503 (seen: a search right after a bucket's first event). The alias is
    added once the primary has started, and ``search_page`` tries a moment longer when
    Elasticsearch still says no shard is available.
    """
    failures: list[str] = []
    searched = threading.Event()
    stop = threading.Event()

    def search() -> None:
        while not stop.is_set():
            try:
                lifecycle.search_page(es, bucket, SearchQuery(page_size=1))
                searched.set()
            except IndexMissingError:  # no alias yet
                pass
            except Exception as exc:  # noqa: BLE001 - reported by the test
                failures.append(repr(exc))

    searchers = [threading.Thread(target=search) for _ in range(4)]
    for thread in searchers:
        thread.start()
    try:
        creators = [threading.Thread(target=lifecycle.ensure_bucket_index, args=(es, bucket))
                    for _ in range(3)]
        for thread in creators:
            thread.start()
        for thread in creators:
            thread.join()
        assert searched.wait(10)
    finally:
        stop.set()
        for thread in searchers:
            thread.join()
    assert failures == [], failures[:2]


def test_require_alias_refuses_writes_to_a_missing_alias(es, bucket: str) -> None:
    with pytest.raises(Exception) as info:
        put(es, bucket, "k")
    assert info.value.status_code == 404
    assert not es.raw.indices.exists(index=alias_name(bucket))


def test_an_index_squatting_the_alias_name_is_reported(es, bucket: str) -> None:
    es.raw.index(index=alias_name(bucket), body={"key": "k"}, refresh=True)
    with pytest.raises(IndexStateError, match="require_alias"):
        lifecycle.ensure_bucket_index(es, bucket)


def test_roll_to_new_version_swaps_the_alias_atomically(es, bucket: str) -> None:
    v1 = lifecycle.ensure_bucket_index(es, bucket)
    put(es, bucket, "old")
    assert count(es, bucket) == 1
    new = lifecycle.prepare_version(es, bucket, MAPPING_VERSION + 1)
    # while a reindex fills the new index, writers send to both; the alias still shows v1 only
    es.raw.index(index=new, id=doc_id(bucket, "old"),
                 body=build_document(bucket=bucket, key="old"), refresh=True)
    assert count(es, bucket) == 1
    rolled = lifecycle.roll_to_new_version(es, bucket, MAPPING_VERSION + 1)
    assert rolled.write_index == new and rolled.mapping_version == MAPPING_VERSION + 1
    assert set(es.alias_targets(alias_name(bucket))) == {new}
    put(es, bucket, "new")
    assert count(es, bucket) == 2
    assert es.count(v1.write_index) == 1
    assert lifecycle.ensure_bucket_index(es, bucket).write_index == new
    assert lifecycle.bucket_indices(es, bucket) == {
        v1.write_index: MAPPING_VERSION, new: MAPPING_VERSION + 1}
    assert lifecycle.delete_index(es, v1.write_index)
    assert not lifecycle.delete_index(es, v1.write_index)
    assert count(es, bucket) == 2


@pytest.mark.parametrize("bad", ["t4-data-v*", "a,b", "", "t4-objects-x", "_all"])
def test_delete_index_takes_exact_names_only(es, bad: str) -> None:
    with pytest.raises(ValueError, match="exact"):
        lifecycle.delete_index(es, bad)


def test_bucket_names_with_dots_and_legacy_case_work_end_to_end(es, unique_name) -> None:
    stem = unique_name("ix").replace("-", ".")
    for bucket in (stem, stem.replace("t4", "T4_Legacy", 1)):
        try:
            info = lifecycle.ensure_bucket_index(es, bucket)
            put(es, bucket, "a/b.txt")
            assert count(es, bucket) == 1
        finally:
            for index in lifecycle.bucket_indices(es, bucket):
                lifecycle.delete_index(es, index)
        assert info.alias == alias_name(bucket)


@pytest.mark.parametrize(("layout", "shards"), [(None, 1), (("3", "0-1"), 3), (("2", "0"), 2)])
def test_a_new_bucket_index_takes_the_layout_and_is_green_on_one_node(es, bucket, layout,
                                                                      shards):
    """One node holds no replica: auto-expanding 0-1 (the default) stays green, where a
    fixed replica would leave the index yellow (unassigned copies) for good."""
    from t4index.mapping import DEFAULT_LAYOUT, IndexLayout

    chosen = IndexLayout(int(layout[0]), layout[1]) if layout else DEFAULT_LAYOUT
    made = lifecycle.ensure_bucket_index(es, bucket, chosen)
    settings = es.raw.indices.get_settings(index=made.write_index)[made.write_index][
        "settings"]
    assert int(settings["index"]["number_of_shards"]) == shards
    # the server waits up to its default 30 s (opensearch-py reads ``timeout`` as its own)
    health = es.raw.cluster.health(index=made.write_index, wait_for_status="green")
    assert health["status"] == "green" and health["active_shards"] == shards
    if len(es.raw.nodes.info()["nodes"]) == 1:
        assert int(settings["index"]["number_of_replicas"]) == 0
