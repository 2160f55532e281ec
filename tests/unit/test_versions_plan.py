from indexer.bulk import Current
from indexer.versions import VersionRow, plan
from t4index import fields as F


def absent(version_id):
    return Current(f"id-{version_id}", None)


def stored(version_id, *, latest, deleted=False, etag="e1", size=3):
    return Current(f"id-{version_id}", {F.VERSION_ID: version_id, F.IS_LATEST: latest,
                                        F.DELETED: deleted, F.ETAG: etag, F.SIZE: size,
                                        F.EXTRACTOR_VERSION: "1", F.EXTRACTION_STATUS: "ok",
                                        F.SOURCE_DIGEST: "d"}, 1, 1)


def kinds(decisions):
    return sorted((d.kind, d.version_id) for d in decisions)


def test_new_versions_are_written_and_flags_flipped_without_extraction():
    rows = [VersionRow("v2", True, False, '"e2"', 3), VersionRow("v1", False, False, '"e1"', 3)]
    decisions = plan(rows, {"v1": stored("v1", latest=True)}, absent, "1")
    assert kinds(decisions) == [("flag", "v1"), ("write", "v2")]


def test_nothing_to_do_when_documents_match():
    rows = [VersionRow("v1", True, False, '"e1"', 3)]
    assert plan(rows, {"v1": stored("v1", latest=True)}, absent, "1") == []


def test_markers_and_vanished_versions():
    rows = [VersionRow("m1", True, True), VersionRow("v1", False, False, '"e1"', 3)]
    current = {"v1": stored("v1", latest=False), "v0": stored("v0", latest=False)}
    assert kinds(plan(rows, current, absent, "1")) == [("gone", "v0"), ("marker", "m1")]
    # a tombstone already written is left alone
    current["v0"] = stored("v0", latest=False, deleted=True)
    assert kinds(plan(rows, current, absent, "1")) == [("marker", "m1")]


def test_a_new_extractor_version_rewrites():
    rows = [VersionRow("v1", True, False, '"e1"', 3)]
    assert kinds(plan(rows, {"v1": stored("v1", latest=True)}, absent, "2")) == [("write", "v1")]
