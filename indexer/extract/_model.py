"""The value objects of extraction: its bounds, its outcome, and the one error it raises.

Errors::

    TransientExtractionError     retry later: Tika refused the connection or reset it,
    │                            S3 throttled or failed with a 5xx, the object changed mid-read
    └── TikaUnavailable          the Tika server cannot be reached (defined in ``_tika``)

Everything else that can go wrong with one object (a corrupt file, a Tika timeout,
an archived object) is an :class:`Extraction` with a status, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from t4index import outcomes

EXTRACTOR_VERSION = "4"
"""Bumped whenever the text or metadata extracted from the same bytes changes.

The backfill compares it with the version stored in each document and
re-extracts the documents made by an older one.
"""


class Status(StrEnum):
    """The outcome of one extraction (stored in the document's status field).

    The values and which are final live in ``t4index.outcomes``.
    """

    OK = outcomes.OK
    TRUNCATED = outcomes.TRUNCATED
    TOO_LARGE = outcomes.TOO_LARGE
    TIMEOUT = outcomes.TIMEOUT      # Tika timed out on this file while healthy (final)
    ENCRYPTED = outcomes.ENCRYPTED
    CORRUPT = outcomes.CORRUPT
    UNSUPPORTED = outcomes.UNSUPPORTED
    UNREADABLE = outcomes.UNREADABLE
    OCR_BUDGET = outcomes.OCR_BUDGET  # OCR called for, a budget hit: the text it has (final)
    UNAVAILABLE = outcomes.UNAVAILABLE  # retryable: Tika or S3 down, overloaded or hung


class TransientExtractionError(Exception):
    """Extraction could not run for a reason that may pass: retry the object later."""


@dataclass(frozen=True)
class ExtractLimits:
    """The bounds of one extraction; each is recorded in the document when hit.

    Attributes:
        max_bytes: bytes streamed to Tika per object; a larger whole-file format
            (PDF, Office ...) is indexed with status ``too_large`` and no text.
        max_chars: characters of text indexed (below Elasticsearch's highlight
            limit of 1,000,000 analysed characters).
        tika_timeout: seconds the client waits for Tika's answer to one object;
            keep it below the server's ``taskTimeoutMillis`` (300 s by default).
        max_decompressed: bytes decompressed from one gzip object at most.
        text_prefix_bytes: bytes read from a text-like object (text, CSV, JSONL)
            by one ranged GET; a longer object is indexed as ``truncated``.
        max_parse_bytes: largest JSON document or notebook parsed as a whole;
            a larger one is indexed as a text prefix (``truncated``).
        table_rows: rows of a CSV/TSV indexed after its header.
        ocr_max_pages: pages OCR'd in one PDF at most (an image counts as one); a PDF
            with more pages without text is not OCR'd (``ocr_budget``).
        ocr_max_bytes: largest image or PDF OCR'd (``ocr_budget`` above).
        ocr_timeout: seconds for the OCR parse of one object (``ocr_budget`` when hit);
            None: ``tika_timeout``. Tesseract's own timeout per image or page is set to it.
    """

    max_bytes: int = 100 * 2**20
    max_chars: int = 500_000
    tika_timeout: float = 60.0
    max_decompressed: int = 50 * 2**20
    text_prefix_bytes: int = 2 * 2**20
    max_parse_bytes: int = 8 * 2**20
    table_rows: int = 1_000
    ocr_max_pages: int = 10
    ocr_max_bytes: int = 20 * 2**20
    ocr_timeout: float | None = None
    tika_timeout_is_deadline: bool = False
    """True when ``tika_timeout`` was cut to the invocation's deadline: a timeout then
    says nothing about the file (retry it later)."""

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_chars", "max_decompressed", "text_prefix_bytes",
                     "max_parse_bytes", "table_rows"):
            value = getattr(self, name)
            if value <= 0:
                raise ValueError(f"ExtractLimits.{name} must be positive, not {value}")
        if self.tika_timeout <= 0:
            raise ValueError(
                f"ExtractLimits.tika_timeout must be positive, not {self.tika_timeout}")
        if self.ocr_max_pages < 0 or self.ocr_max_bytes < 0:
            raise ValueError("ExtractLimits.ocr_max_pages and ocr_max_bytes must be >= 0")
        if self.ocr_timeout is not None and self.ocr_timeout <= 0:
            raise ValueError(
                f"ExtractLimits.ocr_timeout must be positive, not {self.ocr_timeout}")

    @property
    def ocr_seconds(self) -> float:
        """Seconds for the OCR parse of one object (``ocr_timeout``, else ``tika_timeout``)."""
        return self.tika_timeout if self.ocr_timeout is None else self.ocr_timeout


@dataclass(frozen=True)
class Extraction:
    """What was extracted from one object, and how it went.

    Attributes:
        text: the indexed text, at most ``max_chars`` characters ("" when none).
        status: a :class:`Status` value.
        error: why the status is not ``ok`` (names the limit or the parser's
            message, never document content), or None.
        truncated: True when ``text`` is a prefix of the content.
        extractor: which extractor ran: ``text``, ``csv``, ``tsv``, ``json``,
            ``jsonl``, ``notebook``, ``parquet``, ``numpy``, ``tika``, ``none``,
            prefixed ``gzip+`` for gzip-compressed content.
        extractor_version: :data:`EXTRACTOR_VERSION`.
        content_type: the content type the extractor worked from (Tika's
            detection for Tika formats), or None.
        metadata: small extracted metadata (title, author, pages, columns, shape ...).
    """

    text: str
    status: str
    error: str | None = None
    truncated: bool = False
    extractor: str = "none"
    extractor_version: str = EXTRACTOR_VERSION
    content_type: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def finish(extractor: str, text: str, limits: ExtractLimits, *, truncated: bool = False,
           status: str | None = None, error: str | None = None,
           content_type: str | None = None, metadata: dict[str, Any] | None = None) -> Extraction:
    """An :class:`Extraction` with the text cut to ``limits.max_chars``.

    Returns:
        The extraction; its status is ``status`` when given, else ``truncated``
        when a bound was hit (here or by the caller), else ``ok``.
    """
    if len(text) > limits.max_chars:
        text = text[: limits.max_chars]
        truncated = True
        error = error or f"text cut at max_chars={limits.max_chars}"
    if status is None:
        status = Status.TRUNCATED if truncated else Status.OK
    return Extraction(text=text, status=str(status), error=error, truncated=truncated,
                      extractor=extractor, content_type=content_type, metadata=metadata or {})


def failed(extractor: str, status: Status, error: str, *, content_type: str | None = None,
           metadata: dict[str, Any] | None = None) -> Extraction:
    """An extraction with no text and a non-``ok`` status.

    Returns:
        The extraction.
    """
    return Extraction(text="", status=str(status), error=error, truncated=False,
                      extractor=extractor, content_type=content_type, metadata=metadata or {})
