"""Formats parsed by Tika (PDF, Office, OpenDocument, RTF, HTML, e-mail, EPUB, images).

These formats keep their index at the end of the file, so a prefix cannot be
parsed: the object is streamed to a temporary file (never held in memory) up to
``max_bytes`` and sent to Tika whole. A larger object gets status ``too_large``
without being read. Tika's answer is mapped here:

- ``X-TIKA:EXCEPTION:container_exception`` naming ``EncryptedDocumentException``,
  or ``X-TIKA:encrypted``, or a 422 naming it -> ``encrypted``;
- any other container exception, or a 422 -> ``corrupt`` (text Tika got anyway is kept);
- ``X-TIKA:EXCEPTION:write_limit_reached`` -> ``truncated``;
- parsed by ``EmptyParser`` only -> ``unsupported``;
- no answer within ``tika_timeout`` -> ``timeout``.

Images and PDFs without a text layer get a second parse with OCR when it is on
(``_ocr``): its text is indexed (extractor ``tika+ocr``), or the outcome is
``ocr_budget`` when a page, size or time budget stopped it.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import replace
from typing import IO, Any

from indexer.extract._model import Extraction, ExtractLimits, Status, failed, finish
from indexer.extract._ocr import OcrSwitch, plan, timed_out
from indexer.extract._tika import (
    OcrRequest,
    TikaClient,
    TikaRefused,
    TikaTimeout,
    TikaUnavailable,
)
from indexer.source import ObjectSource

EXTRACTOR = "tika"
OCR_EXTRACTOR = "tika+ocr"
"""The extractor recorded when the indexed text came from Tika's OCR parse."""
CHUNK = 1 * 2**20
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*(?:\n[ \t\r\f\v]*)+")
_SPACES = re.compile(r"[ \t\f\v]{2,}")
CONTAINER_EXCEPTION = "X-TIKA:EXCEPTION:container_exception"
WRITE_LIMIT = "X-TIKA:EXCEPTION:write_limit_reached"

# metadata kept from the container document: our name (``t4index.docmeta``) <- Tika's
# keys, the first present wins
_META_KEYS: dict[str, tuple[str, ...]] = {
    "title": ("dc:title",),
    "authors": ("dc:creator", "meta:author", "Author"),
    "subject": ("dc:subject", "dc:description"),
    "pages": ("xmpTPg:NPages", "meta:page-count", "meta:slide-count"),
    "created": ("dcterms:created",),
    "modified": ("dcterms:modified",),
    "language": ("dc:language",),
    "from": ("Message:From-Email", "Message-From"),
    "to": ("Message:To-Email", "Message-To"),
    "width": ("tiff:ImageWidth", "Image Width"),
    "height": ("tiff:ImageLength", "Image Height"),
    "producer": ("pdf:producer", "xmp:CreatorTool", "extended-properties:Application"),
}
_LIST_KEYS = frozenset({"authors", "to"})
_INT_KEYS = frozenset({"pages", "width", "height"})
MAX_META_CHARS = 1_000
MAX_META_VALUES = 50


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _small_metadata(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, keys in _META_KEYS.items():
        for key in keys:
            value = doc.get(key)
            if value in (None, "", []):
                continue
            if name in _LIST_KEYS:
                values = value if isinstance(value, list) else [value]
                out[name] = [str(v)[:MAX_META_CHARS] for v in values[:MAX_META_VALUES]]
                break
            value = _first(value)
            if name in _INT_KEYS:
                digits = re.match(r"\s*(\d+)", str(value))
                if digits:
                    out[name] = int(digits.group(1))
                    break
                continue
            out[name] = str(value)[:MAX_META_CHARS]
            break
    return out


_PACKAGE_PATH = re.compile(
    r"^[ \t]*/(?:docProps|word|xl|ppt|customXml|media|Pictures|Thumbnails|ObjectReplacements)"
    r"/[^\s]*[ \t]*$", re.MULTILINE)


def _without_package_paths(text: str) -> str:
    """``text`` without lines that are only a path inside an Office or OpenDocument
    package (``/docProps/thumbnail.jpeg``): Tika writes an embedded image's path as its
    text when the image itself has none."""
    return _PACKAGE_PATH.sub("", text) if "/" in text else text


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _BLANK_LINES.sub("\n\n", text)).strip()


def _first_line(exception: Any) -> str:
    return str(_first(exception) or "").strip().splitlines()[0][:500] if exception else ""


def map_answer(docs: list[dict[str, Any]], limits: ExtractLimits) -> Extraction:
    """The extraction for Tika's ``/rmeta/text`` answer (pure).

    Returns:
        The extraction: status from the container's exception, the write
        limit, or the parser that ran (see the module's docstring).
    """
    if not docs:
        return failed(EXTRACTOR, Status.CORRUPT, "Tika returned no document")
    container = docs[0]
    content_type = str(_first(container.get("Content-Type")) or "") or None
    metadata = _small_metadata(container)
    if content_type:
        metadata["detected_type"] = content_type.split(";", 1)[0].strip().lower()
    if len(docs) > 1:
        metadata["embedded"] = len(docs) - 1
    parts = [_without_package_paths(str(_first(d.get("X-TIKA:content")) or ""))
             for d in docs]
    text = _clean("\n\n".join(p for p in parts if p.strip()))
    truncated = any(str(_first(d.get(WRITE_LIMIT))).lower() == "true" for d in docs)
    exception = _first_line(container.get(CONTAINER_EXCEPTION))
    encrypted = (str(_first(container.get("X-TIKA:encrypted"))).lower() == "true"
                 or "EncryptedDocumentException" in exception)
    if encrypted:
        return finish(EXTRACTOR, text, limits, status=Status.ENCRYPTED,
                      error=exception or "encrypted document", content_type=content_type,
                      metadata=metadata)
    if exception:
        return finish(EXTRACTOR, text, limits, truncated=truncated, status=Status.CORRUPT,
                      error=exception, content_type=content_type, metadata=metadata)
    parsers = container.get("X-TIKA:Parsed-By") or []
    parsers = parsers if isinstance(parsers, list) else [parsers]
    if parsers and all(str(p).endswith("EmptyParser") for p in parsers):
        return failed(EXTRACTOR, Status.UNSUPPORTED, f"Tika has no parser for {content_type}",
                      content_type=content_type, metadata=metadata)
    error = f"Tika stopped at max_chars={limits.max_chars}" if truncated else None
    return finish(EXTRACTOR, text, limits, truncated=truncated, error=error,
                  content_type=content_type, metadata=metadata)


def spool(source: ObjectSource, limit: int, into: IO[bytes]) -> bool:
    """Copy ``source`` into the file ``into``, at most ``limit`` bytes.

    Returns:
        True when the whole object fit, False when it was longer than ``limit``.
    """
    written = 0
    chunks = source.iter_chunks(CHUNK)
    try:
        for chunk in chunks:
            written += len(chunk)
            if written > limit:
                return False
            into.write(chunk)
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    into.flush()
    into.seek(0)
    return True


def extract_document(source: ObjectSource, limits: ExtractLimits,
                     tika: TikaClient | None, ocr: OcrSwitch | None = None) -> Extraction:
    """Text and metadata of a Tika format, streamed through a temporary file.

    ``ocr``: when given and on, images and PDFs without a text layer are parsed a
    second time with OCR (``indexer.extract._ocr``), within the OCR budgets.

    Returns:
        The extraction (``too_large``, ``timeout``, ``encrypted``, ``corrupt``,
        ``unsupported``, ``ocr_budget`` included).

    Raises:
        TikaUnavailable: Tika refused or dropped the connection (transient).
        SourceError: reading the object failed (the caller maps it).
    """
    ctype = source.content_type
    too_large = failed(EXTRACTOR, Status.TOO_LARGE,
                       f"{source.size} bytes is over max_bytes={limits.max_bytes}",
                       content_type=ctype, metadata={"size": source.size})
    if source.size > limits.max_bytes:
        return too_large
    if tika is None:
        return failed(EXTRACTOR, Status.UNSUPPORTED, "no Tika server is configured",
                      content_type=ctype)
    with tempfile.TemporaryFile(prefix="t4-extract-") as tmp:
        if not spool(source, limits.max_bytes, tmp):
            return too_large
        started = time.monotonic()
        length = tmp.seek(0, 2)
        name = source.key.rsplit("/")[-1]

        def parse(timeout: float, request: OcrRequest | None = None) -> list[dict[str, Any]]:
            tmp.seek(0)
            return tika.rmeta(tmp, length, timeout=timeout, write_limit=limits.max_chars,
                              filename=name, content_type=ctype, ocr=request)

        try:
            try:
                docs = parse(limits.tika_timeout)
            except TikaTimeout as exc:
                if limits.tika_timeout_is_deadline:  # the invocation's time, not the file's
                    raise TikaUnavailable(f"{exc}: the invocation's deadline came first") \
                        from exc
                # A timeout is the file's only when Tika is healthy: a hung, overloaded or
                # restarting Tika times out on everything (retry later). A Tika just back
                # from a stall may still be draining its backlog: one more try, once it
                # answers a tiny request, before the timeout counts against the file.
                if not tika.healthy():
                    raise
                docs = parse(limits.tika_timeout)
        except TikaTimeout as exc:
            if not tika.healthy():
                raise TikaUnavailable(f"{exc}, and Tika does not answer a tiny request either "
                                      "(hung, overloaded or restarting)") from exc
            return failed(EXTRACTOR, Status.TIMEOUT,
                          f"{exc} twice (tika_timeout={limits.tika_timeout:g}) while Tika "
                          "answered other requests", content_type=ctype)
        except TikaRefused as exc:
            status = Status.ENCRYPTED if "Encrypted" in exc.body else (
                Status.UNSUPPORTED if exc.status == 415 else Status.CORRUPT)
            return failed(EXTRACTOR, status, str(exc), content_type=ctype)
        extraction = map_answer(docs, limits)
        if ocr is None or extraction.status not in (Status.OK, Status.TRUNCATED):
            return extraction
        decision = plan(docs[0], length, image_types=ocr.image_types(),
                        max_pages=limits.ocr_max_pages, max_bytes=limits.ocr_max_bytes)
        if decision.budget:
            return over_budget(extraction, decision.budget)
        if not decision.run:
            return extraction
        seconds, cut = limits.ocr_seconds, False
        if limits.tika_timeout_is_deadline:  # the OCR parse must end before the deadline
            left = limits.tika_timeout - (time.monotonic() - started)
            if left <= 0.5:
                raise TikaUnavailable("no time left for OCR before the invocation's deadline")
            if left < seconds:
                seconds, cut = left, True
        try:
            ocr_docs = parse(seconds, OcrRequest(int(seconds), ocr.languages))
        except TikaTimeout as exc:
            if cut:
                raise TikaUnavailable(f"{exc}: the invocation's deadline came first") from exc
            if not tika.healthy():
                raise TikaUnavailable(f"OCR: {exc}, and Tika does not answer a tiny request "
                                      "either (hung, overloaded or restarting)") from exc
            return over_budget(extraction, f"OCR ran over ocr_timeout={seconds:g} s")
        except TikaRefused as exc:
            return replace(extraction, error=f"OCR failed: {exc}"[:500])
    if cut and timed_out(ocr_docs):  # tesseract's timeout was the deadline's, not the budget
        raise TikaUnavailable("OCR cut short by the invocation's deadline")
    return with_ocr(extraction, ocr_docs, limits, seconds)


def over_budget(extraction: Extraction, budget: str) -> Extraction:
    """``extraction`` (its text kept) with the outcome ``ocr_budget`` and the budget hit."""
    return replace(extraction, status=str(Status.OCR_BUDGET), error=f"OCR budget: {budget}")


_PARSED_BY = ("X-TIKA:Parsed-By-Full-Set", "X-TIKA:Parsed-By")


def tesseract_ran(docs: list[dict[str, Any]]) -> bool:
    """Whether Tika's answer shows its tesseract parser ran (directly on an image, or
    inside the PDF parser: ``X-TIKA:Parsed-By-Full-Set``); True when the answer names
    no parsers at all (nothing to tell by)."""
    named = False
    for doc in docs:
        for field in _PARSED_BY:
            parsers = doc.get(field)
            if parsers is None:
                continue
            named = True
            if any(str(p).endswith("TesseractOCRParser")
                   for p in (parsers if isinstance(parsers, list) else [parsers])):
                return True
    return not named


def with_ocr(extraction: Extraction, ocr_docs: list[dict[str, Any]], limits: ExtractLimits,
             seconds: float) -> Extraction:
    """The extraction of an object after its OCR parse (pure).

    Args:
        extraction: the first parse's (OCR off).
        ocr_docs: Tika's answer to the OCR parse.

    Returns:
        The OCR parse's extraction (extractor ``tika+ocr``) when it succeeded;
        ``ocr_budget`` with the longer of both texts when tesseract ran out of time;
        the first extraction with the OCR error noted when the OCR parse failed, or
        when tesseract did not run at all (``T4_OCR=on`` with a Tika server that has
        none: its answer names the parsers that ran, and none is tesseract's).
    """
    if not tesseract_ran(ocr_docs):
        return replace(extraction, error="OCR did not run: the Tika server has no tesseract "
                                         "parser (install tesseract-ocr where Tika runs)")
    got = map_answer(ocr_docs, limits)
    if timed_out(ocr_docs):
        best = got if len(got.text) > len(extraction.text) else extraction
        best = replace(best, extractor=OCR_EXTRACTOR if best is got else EXTRACTOR,
                       metadata=extraction.metadata, content_type=extraction.content_type)
        return over_budget(best, f"tesseract ran over ocr_timeout={seconds:g} s on a page "
                                 "or image")
    if got.status not in (Status.OK, Status.TRUNCATED):
        return replace(extraction, error=f"OCR failed: {got.error}"[:500])
    return replace(got, extractor=OCR_EXTRACTOR, metadata={**extraction.metadata, **got.metadata})
