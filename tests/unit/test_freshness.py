"""The one freshness rule (``indexer.freshness``): pure, no service needed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from indexer import freshness
from indexer.state import ObjectState
from t4index import fields as F

LM = datetime(2024, 5, 14, 10, 1, 2, tzinfo=UTC)
STATE = ObjectState("b", "k.txt", True, size=4, etag='"abc"', last_modified=LM,
                    content_type="text/plain", metadata={"helium": '{"user_meta": {"s": 1}}'},
                    observed_at=LM + timedelta(seconds=30))


def stored_for(state: ObjectState, **extra) -> dict:
    return {F.ETAG: "abc", F.SIZE: state.size, F.LAST_MODIFIED: "2024-05-14T10:01:02.000Z",
            F.DELETED: False, F.EXTRACTOR_VERSION: "7", F.EXTRACTION_STATUS: "ok",
            F.SOURCE_DIGEST: freshness.source_digest(state),
            F.OBSERVED_AT: "2024-05-14T10:01:32.000Z", **extra}


def test_same_bytes_new_metadata_in_the_same_second_is_not_current():
    stored = stored_for(STATE)
    assert freshness.state_current(stored, STATE, "7")
    final = replace(STATE, metadata={"helium": '{"user_meta": {"s": 2}}'})
    assert not freshness.state_current(stored, final, "7")


def test_every_recorded_s3_fact_is_compared():
    stored = stored_for(STATE)
    for changed in (replace(STATE, content_type="text/csv"),
                    replace(STATE, metadata={**STATE.metadata, "owner": "x"}),
                    replace(STATE, etag='"abd"'), replace(STATE, size=5),
                    replace(STATE, version_id="v2"),
                    replace(STATE, last_modified=LM + timedelta(milliseconds=1))):
        assert not freshness.state_current(stored, changed, "7"), changed
    # the observation time is not a fact about the object
    assert freshness.state_current(stored, replace(STATE, observed_at=LM), "7")
    # metadata names compare case-insensitively, as S3 stores them
    upper = replace(STATE, metadata={"HELIUM": STATE.metadata["helium"]})
    assert freshness.state_current(stored, upper, "7")


def test_outcomes_that_are_not_final_or_older_extractors_are_not_current():
    assert not freshness.state_current(stored_for(STATE), STATE, "8")
    retry = stored_for(STATE, **{F.EXTRACTION_STATUS: "unavailable"})
    assert not freshness.state_current(retry, STATE, "7")
    assert freshness.state_current(stored_for(STATE, **{F.EXTRACTION_STATUS: "timeout"}),
                                   STATE, "7")
    denied = replace(STATE, unreadable="access denied (403)")
    unreadable = stored_for(denied, **{F.EXTRACTION_STATUS: "unreadable",
                                       F.EXTRACTOR_VERSION: None})
    assert freshness.state_current(unreadable, denied, "8")


def test_deleted_keys_and_tombstones():
    gone = ObjectState("b", "k.txt", False)
    assert freshness.state_current({F.DELETED: True}, gone, "7")
    assert not freshness.state_current(stored_for(STATE), gone, "7")
    assert not freshness.state_current({F.DELETED: True}, STATE, "7")
    assert not freshness.state_current(None, STATE, "7")


def listing(stored, **kw):
    args = {"etag": '"abc"', "size": 4, "last_modified": LM, "extractor_version": "7"}
    return freshness.listing_verdict(stored, **{**args, **kw})


def test_listing_proves_freshness_only_for_settled_or_immutable_documents():
    settled = stored_for(STATE)
    assert listing(settled) == "current"
    assert listing(settled, last_modified="2024-05-14T10:01:02.999Z") == "current"
    fresh = stored_for(STATE, **{F.OBSERVED_AT: "2024-05-14T10:01:02.900Z"})
    assert listing(fresh) == "confirm"  # a same-second write may be missing
    assert listing(fresh, version_id="3HL4kqtJlcpXroDTDmJ") == "current"  # versions never change
    assert listing(fresh, version_id="null") == "confirm"
    assert listing({k: v for k, v in settled.items() if k != F.OBSERVED_AT}) == "confirm"


def test_listing_finds_stale_documents():
    settled = stored_for(STATE)
    assert listing(None) == "stale"
    assert listing({**settled, F.DELETED: True}) == "stale"
    assert listing(settled, size=5) == "stale"
    assert listing(settled, etag='"abd"') == "stale"
    assert listing(settled, last_modified=LM + timedelta(seconds=1)) == "stale"
    assert listing(settled, extractor_version="8") == "stale"
    assert listing({**settled, F.EXTRACTION_STATUS: "unavailable"}) == "stale"
    assert listing({k: v for k, v in settled.items() if k != F.SOURCE_DIGEST}) == "stale"


GLACIER = replace(STATE, storage_class="GLACIER", archived=True,
                  unreadable="archived in storage class GLACIER")
RESTORED = replace(STATE, storage_class="GLACIER", restore="restored")


def test_tags_storage_class_and_restore_are_compared_as_the_described_half():
    stored = stored_for(replace(STATE, tags={"project": "x"}))
    for changed in (replace(STATE, tags={"project": "y"}), replace(STATE, tags={}),
                    replace(STATE, tags=None), replace(STATE, tags={"Project": "x"}),
                    replace(STATE, tags={"project": "x"}, storage_class="STANDARD_IA"),
                    replace(STATE, tags={"project": "x"}, restore="ongoing")):
        assert not freshness.state_current(stored, changed, "7"), changed
        assert freshness.described_only(stored, changed, "7"), changed
    # S3 names no storage class for STANDARD
    assert freshness.state_current(stored, replace(STATE, tags={"project": "x"},
                                                   storage_class="STANDARD"), "7")


def test_a_content_change_is_never_described_only():
    stored = stored_for(STATE)
    for changed in (replace(STATE, etag='"abd"', tags={"a": "b"}),
                    replace(STATE, metadata={}, tags={"a": "b"}),
                    replace(STATE, unreadable="access denied (403)")):
        assert not freshness.described_only(stored, changed, "7"), changed
    legacy = {**stored, F.SOURCE_DIGEST: "0" * 32}  # a digest from before the two halves
    assert not freshness.described_only(legacy, replace(STATE, tags={"a": "b"}), "7")


def test_archiving_keeps_text_and_a_restore_makes_an_unreadable_object_extracted():
    text = stored_for(STATE)
    assert freshness.described_only(text, GLACIER, "7")  # a lifecycle transition
    assert freshness.described_only(text, GLACIER, "8")  # no extractor can read it again
    assert freshness.state_current(stored_for(GLACIER), GLACIER, "8")
    archived = stored_for(GLACIER, **{F.EXTRACTION_STATUS: "unreadable"})
    assert freshness.state_current(archived, GLACIER, "7")
    # restored: the content can be read now, the unreadable outcome is not kept
    assert not freshness.state_current(archived, RESTORED, "7")
    assert not freshness.described_only(archived, RESTORED, "7")
    # the restored copy expired: the text extracted from it is kept
    assert freshness.described_only(stored_for(RESTORED), GLACIER, "7")
    assert not freshness.described_only(stored_for(STATE, **{F.EXTRACTION_STATUS: "unavailable"}),
                                        GLACIER, "7")
