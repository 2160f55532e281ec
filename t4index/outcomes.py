"""Extraction outcomes (the document's ``extraction_status``): final or retryable.

A final outcome is a property of the object: reading it again gives the same
answer until the object (or the extractor version) changes. A retryable outcome
is a property of the moment: a service was down, overloaded or restarting. The
indexer returns the object's message to its queue, and a document that still
records a retryable outcome is picked up by ``t4-backfill backfill``/``repair``
without ``--force`` (``verify`` counts them).
"""

from __future__ import annotations

OK = "ok"                  # the whole content was read and indexed
TRUNCATED = "truncated"    # a bound was hit: a prefix of the content is indexed
TOO_LARGE = "too_large"    # larger than the byte bound for a whole-file format: metadata only
TIMEOUT = "timeout"        # Tika timed out on this file while it answered others (healthy)
ENCRYPTED = "encrypted"    # password protected
CORRUPT = "corrupt"        # the parser refused the bytes (partial text may be indexed)
UNSUPPORTED = "unsupported"  # no extractor for this format
UNREADABLE = "unreadable"  # S3 refuses to serve the bytes (archived, SSE-C, KMS, 403)
OCR_BUDGET = "ocr_budget"  # OCR was called for but an OCR budget (pages, bytes, time) was hit
UNAVAILABLE = "unavailable"  # retryable: Tika or S3 unreachable, overloaded or hung

FINAL: frozenset[str] = frozenset(
    {OK, TRUNCATED, TOO_LARGE, TIMEOUT, ENCRYPTED, CORRUPT, UNSUPPORTED, UNREADABLE, OCR_BUDGET})
RETRYABLE: frozenset[str] = frozenset({UNAVAILABLE})
ALL: frozenset[str] = FINAL | RETRYABLE


def is_final(status: str | None) -> bool:
    """Whether ``status`` is a final outcome (None, no extraction recorded, is not)."""
    return status in FINAL
