"""OCR through Tika's Tesseract parser: when to run it, within which budgets.

Tika formats are parsed once with OCR off (fast, as ever). A second parse with OCR
on runs only for

- images of a type Tika's ``TesseractOCRParser`` reads (PNG, JPEG, TIFF, BMP, GIF ...);
- PDFs whose first parse found no text layer on at least half of their pages
  (Tika reports the text found per page in ``pdf:charsPerPage``; a page with fewer
  than :data:`MIN_CHARS_PER_PAGE` characters has none). That second parse uses
  Tika's ``auto`` PDF strategy, which OCRs only the pages without text.

So a text PDF never pays for OCR, nor does one with a few blank or figure pages.
Budgets (:class:`indexer.extract.ExtractLimits`): ``ocr_max_bytes`` (object size),
``ocr_max_pages`` (pages to OCR in one PDF; an image counts as one page; Tika
cannot OCR a part of a PDF, so a PDF over the budget is not OCR'd at all) and
``ocr_timeout`` (seconds for the OCR parse of one object). A budget hit keeps the
text the document has and records the final outcome ``ocr_budget``.

Everything here but :class:`OcrSwitch` is pure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("t4.indexer.extract")

MODES = ("auto", "on", "off")
"""``T4_OCR``: ``auto`` OCRs when the Tika server can (tesseract on its PATH), ``on``
always asks Tika to, ``off`` never does."""
MIN_CHARS_PER_PAGE = 10
"""A PDF page with fewer characters than this has no text layer (Tika's own default
for its ``auto`` OCR strategy)."""
TESSERACT_TIMEOUT = "TesseractOCRParser timeout"
"""What Tika's exception says when tesseract ran past ``X-Tika-OCRtimeoutSeconds``."""
IMAGE_TYPES: frozenset[str] = frozenset({
    "image/png", "image/jpeg", "image/tiff", "image/bmp", "image/gif", "image/jp2",
    "image/jpx", "image/x-portable-pixmap", "image/webp"})
"""Image types OCR'd when ``T4_OCR=on`` and the Tika server does not list its own."""
PROBE_RETRY_S = 30.0


@dataclass(frozen=True)
class OcrDecision:
    """Whether to run the OCR parse for one object, and why not.

    Attributes:
        run: True to parse again with OCR on.
        pages: pages that would be OCR'd (1 for an image, 0 when nothing needs OCR).
        budget: the budget that forbids OCR (names it and the value), or None.
    """

    run: bool
    pages: int = 0
    budget: str | None = None


NO_OCR = OcrDecision(run=False)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def textless_pages(container: Mapping[str, Any]) -> tuple[int, int] | None:
    """``(pages without a text layer, pages)`` of a PDF from Tika's first-parse metadata
    (``pdf:charsPerPage``, else ``pdf:ocrPageCount`` and ``xmpTPg:NPages``); None when
    Tika reported neither (not a PDF, or a parse that stopped early)."""
    chars = container.get("pdf:charsPerPage")
    if chars is not None:
        chars = chars if isinstance(chars, list) else [chars]
        counts = [int(c) for c in chars if str(c).strip().isdigit()]
        if counts:
            return sum(1 for c in counts if c < MIN_CHARS_PER_PAGE), len(counts)
    try:
        textless = int(str(_first(container.get("pdf:ocrPageCount"))))
        pages = int(str(_first(container.get("xmpTPg:NPages"))))
    except ValueError:
        return None
    return textless, pages


def plan(container: Mapping[str, Any], size: int, *, image_types: frozenset[str],
         max_pages: int, max_bytes: int) -> OcrDecision:
    """Whether Tika's first parse of an object (``container``: its first ``/rmeta``
    document) calls for an OCR parse, within the page and size budgets.

    Args:
        container: Tika's metadata of the object (``Content-Type``, ``pdf:charsPerPage`` ...).
        size: the object's size in bytes.
        image_types: content types the Tika server OCRs (empty: it cannot OCR).

    Returns:
        The decision (``budget`` set when OCR is called for but a budget forbids it).
    """
    ctype = str(_first(container.get("Content-Type")) or "").split(";")[0].strip().lower()
    if ctype in image_types:
        pages = 1
    elif ctype == "application/pdf" and image_types:
        counted = textless_pages(container)
        if counted is None:
            return NO_OCR
        textless, total = counted
        if textless == 0 or textless * 2 < total:
            return NO_OCR  # a text PDF, perhaps with a few blank or figure pages
        pages = textless
    else:
        return NO_OCR
    if size > max_bytes:
        return OcrDecision(False, pages, f"{size} bytes is over ocr_max_bytes={max_bytes}")
    if pages > max_pages:
        what = "an image" if pages == 1 and ctype != "application/pdf" else f"{pages} pages"
        return OcrDecision(False, pages, f"{what} to OCR is over ocr_max_pages={max_pages}")
    return OcrDecision(True, pages)


def timed_out(docs: list[dict[str, Any]]) -> bool:
    """Whether tesseract ran past its timeout in an OCR parse (Tika's ``/rmeta`` answer)."""
    for doc in docs:
        for key, value in doc.items():
            if key.startswith("X-TIKA:EXCEPTION:") and TESSERACT_TIMEOUT in str(value):
                return True
    return False


def parse_mode(raw: str | None) -> str:
    """``T4_OCR``'s value, normalized (empty means ``auto``).

    Raises:
        ValueError: not one of :data:`MODES`.
    """
    mode = (raw or "auto").strip().lower()
    if mode not in MODES:
        raise ValueError(f"must be one of {', '.join(MODES)}, not {raw!r}")
    return mode


def image_types_of(parsers: Mapping[str, Any]) -> frozenset[str]:
    """The content types Tika's ``TesseractOCRParser`` reads, from ``GET /parsers/details``
    (empty when it lists none: tesseract is not on the Tika server's PATH). Tika lists most
    as internal aliases (``image/ocr-png``: the image parser hands a PNG to tesseract under
    that name): those are read as the type they stand for (``image/png``)."""
    found: set[str] = set()
    stack = [parsers]
    while stack:
        node = stack.pop()
        if "TesseractOCRParser" in str(node.get("name", "")):
            found.update(str(t) for t in node.get("supportedTypes") or [])
        stack.extend(c for c in node.get("children") or [] if isinstance(c, Mapping))
    return frozenset(t.replace("image/ocr-", "image/", 1) for t in found)


class OcrSwitch:
    """OCR on or off for one extractor: ``T4_OCR`` and what the Tika server can do.

    ``auto`` asks the server (``GET /parsers/details``) which image types its
    Tesseract parser reads, once it answers (again every 30 s while it does not);
    ``on`` uses the server's list or :data:`IMAGE_TYPES`; ``off`` OCRs nothing.
    Thread-safe.
    """

    def __init__(self, mode: str, probe: Any, *, languages: str = "eng") -> None:
        """``probe()`` returns the server's OCR types, or None when it cannot be asked
        (``TikaClient.ocr_types``); ``languages`` are tesseract's (``eng+fra``)."""
        self.mode = parse_mode(mode)
        self.languages = languages
        self._probe = probe
        self._types: frozenset[str] | None = None
        self._asked = 0.0
        self._lock = threading.Lock()

    def image_types(self) -> frozenset[str]:
        """The content types to OCR now (empty: OCR is off)."""
        if self.mode == "off":
            return frozenset()
        with self._lock:
            if self._types is None and time.monotonic() - self._asked >= PROBE_RETRY_S:
                self._asked = time.monotonic()
                self._types = self._probe()
            types = self._types
        if self.mode == "on":
            return types or IMAGE_TYPES
        return types or frozenset()

    def describe(self) -> str:
        """One line for a start-up log: on or off, and why."""
        types = self.image_types()
        if self.mode == "off":
            return "OCR off (T4_OCR=off)"
        if self.mode == "on" and self._types == frozenset():
            return ("OCR on (T4_OCR=on), but the Tika server lists no tesseract parser: "
                    "images and scanned PDFs will get no text until it has one")
        if types:
            kinds = ", ".join(sorted(t.removeprefix("image/") for t in types))
            return (f"OCR on (T4_OCR={self.mode}, languages {self.languages}): images "
                    f"({kinds}) and PDFs without a text layer")
        if self._types is None:
            return ("OCR off for now (T4_OCR=auto): the Tika server did not answer; "
                    "asked again on the next document")
        return ("OCR off (T4_OCR=auto): the Tika server has no tesseract on its PATH; "
                "install tesseract-ocr where Tika runs (docs/extraction.md#ocr)")
