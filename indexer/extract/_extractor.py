"""The :class:`Extractor`: choose the extractor for an object, run it, map every failure.

``extract`` never raises for a bad file: a parser failure is ``corrupt``, an S3
refusal is ``unreadable``. It raises :class:`TransientExtractionError` only
when a retry may succeed (Tika refusing or dropping connections, S3
throttling or 5xx, the object changing mid-read), and lets
:class:`indexer.source.ObjectGone` through (the object was deleted meanwhile).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

from indexer.extract._choose import NONE, TIKA, choose_extractor
from indexer.extract._documents import extract_document
from indexer.extract._gzip import extract_gzip
from indexer.extract._json import extract_json, extract_jsonl, extract_notebook
from indexer.extract._language import detect_language
from indexer.extract._model import (
    Extraction,
    ExtractLimits,
    Status,
    TransientExtractionError,
    failed,
    finish,
)
from indexer.extract._numpy import extract_numpy
from indexer.extract._ocr import OcrSwitch
from indexer.extract._parquet import extract_parquet
from indexer.extract._tabular import extract_table
from indexer.extract._text import extract_text
from indexer.extract._tika import TikaClient
from indexer.source import ObjectGone, ObjectSource, ObjectUnreadable, SourceUnavailable

log = logging.getLogger("t4.indexer.extract")

HEAD_BYTES = 64 * 1024
"""Bytes read first, for the magic bytes; an object this small costs a single GET."""
NO_LANGUAGE = frozenset({"parquet", "numpy", NONE})
"""Extractors whose text is a schema, not prose: no language is detected."""


def with_language(extraction: Extraction) -> Extraction:
    """``extraction`` with ``metadata["language"]`` detected from its text, unless the
    file declared one or the extractor's text is not prose (:data:`NO_LANGUAGE`)."""
    if (not extraction.text or extraction.metadata.get("language")
            or extraction.extractor.removeprefix("gzip+") in NO_LANGUAGE):
        return extraction
    language = detect_language(extraction.text)
    if language is None:
        return extraction
    return replace(extraction, metadata={**extraction.metadata, "language": language})


class _HeadCached:
    """``source`` with its first bytes in memory: reads inside them cost no request."""

    def __init__(self, source: ObjectSource, head: bytes) -> None:
        self._source = source
        self._head = head
        self._whole = len(head) == source.size
        self.bucket, self.key, self.version_id = source.bucket, source.key, source.version_id
        self.size, self.content_type = source.size, source.content_type
        self.helium_format = source.helium_format

    def read_range(self, start: int, end: int) -> bytes:
        if start >= 0 and (end < len(self._head) or self._whole):
            return self._head[start:end + 1]
        return self._source.read_range(start, end)

    def iter_chunks(self, chunk_size: int = 2**20) -> Iterator[bytes]:
        if not self._whole:
            yield from self._source.iter_chunks(chunk_size)
            return
        for start in range(0, len(self._head), chunk_size):
            yield self._head[start:start + chunk_size]


class Extractor:
    """Extracts text and small metadata from objects, within :class:`ExtractLimits`."""

    def __init__(self, tika: TikaClient | None, limits: ExtractLimits | None = None, *,
                 languages: bool = True, ocr: OcrSwitch | None = None) -> None:
        """An extractor using ``tika`` for document formats (None: those are ``unsupported``);
        ``languages``: detect the language of prose texts (``with_language``); ``ocr``:
        OCR images and PDFs without a text layer through Tika when it is on (None: never)."""
        self.tika = tika
        self.limits = limits or ExtractLimits()
        self.languages = languages
        self.ocr = ocr

    def extract(self, source: ObjectSource, head: bytes | None = None, *,
                time_budget: float | None = None) -> Extraction:
        """Extract ``source``; ``head``, when given, is its first bytes already read
        (``min(size, HEAD_BYTES)`` of them, or the whole object), which saves a GET.
        ``time_budget``: seconds left before the caller's deadline; Tika's timeout is
        cut to it, and a Tika call cut short that way is a transient failure.

        Returns:
            The extraction, whatever the file holds (see :class:`Status`).

        Raises:
            TransientExtractionError: Tika is unreachable, or S3 throttled or
                failed; retry the object later.
            ObjectGone: the object or version no longer exists.
        """
        try:
            want = min(source.size, HEAD_BYTES)
            if head is None or len(head) < want:
                head = source.read_range(0, want - 1) if source.size else b""
            if source.size == 0:
                return finish(NONE, "", self.limits, content_type=source.content_type)
            kind = choose_extractor(source.key, source.content_type, source.helium_format, head)
            limits = self.limits
            if time_budget is not None and time_budget < limits.tika_timeout:
                if time_budget <= 0.5:
                    raise TransientExtractionError("no time left before the deadline")
                limits = replace(limits, tika_timeout=time_budget, tika_timeout_is_deadline=True,
                                 ocr_timeout=min(limits.ocr_seconds, time_budget))
            extraction = self._run(kind, _HeadCached(source, head), limits)
            return with_language(extraction) if self.languages else extraction
        except ObjectUnreadable as exc:
            return failed(NONE, Status.UNREADABLE, exc.reason, content_type=source.content_type)
        except SourceUnavailable as exc:
            raise TransientExtractionError(str(exc)) from exc
        except (TransientExtractionError, ObjectGone):
            raise
        except Exception as exc:  # a parser's bug or a file it chokes on: never fail the batch
            where = f"s3://{source.bucket}/{source.key}"
            log.exception("extraction of %s failed", where)
            return failed(NONE, Status.CORRUPT, f"extraction failed: {type(exc).__name__}: "
                          f"{exc}"[:500], content_type=source.content_type)

    def _run(self, kind: str, source: ObjectSource, limits: ExtractLimits | None = None
             ) -> Extraction:
        limits = limits or self.limits
        if kind == "text":
            return extract_text(source, limits)
        if kind in ("csv", "tsv"):
            return extract_table(source, limits, tsv=kind == "tsv")
        if kind == "json":
            return extract_json(source, limits)
        if kind == "jsonl":
            return extract_jsonl(source, limits)
        if kind == "notebook":
            return extract_notebook(source, limits)
        if kind == "parquet":
            return extract_parquet(source, limits)
        if kind == "numpy":
            return extract_numpy(source, limits)
        if kind == TIKA:
            return extract_document(source, limits, self.tika, self.ocr)
        if kind == "gzip":
            return extract_gzip(source, limits, lambda k, src: self._run(k, src, limits))
        return failed(NONE, Status.UNSUPPORTED, "no extractor for this format (binary data)",
                      content_type=source.content_type)
