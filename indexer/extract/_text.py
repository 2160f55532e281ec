"""Plain text, Markdown and source files: a bounded prefix, decoded without ever failing.

Decoding: a byte-order mark wins; then UTF-16 without one (NUL bytes at every
other offset); then strict UTF-8 (a multi-byte character cut by the end of the
prefix is dropped); then UTF-8 with replacement characters when at most 1 in
1,000 characters is invalid or the valid multi-byte characters outnumber the
invalid bytes (UTF-8 with a few stray bytes); then the most plausible legacy
encoding (``_charset.guess``: scored candidates, good on short texts where
statistical detection is not). Invalid bytes never fail an extraction. Control
characters other than tab, newline and form feed are removed.
"""

from __future__ import annotations

import codecs

from indexer.extract import _charset
from indexer.extract._model import Extraction, ExtractLimits, finish
from indexer.source import ObjectSource

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])


def decode(data: bytes, complete: bool = True) -> tuple[str, str]:
    """Decode ``data`` (a whole file or, when not ``complete``, a prefix of one).

    Returns:
        (text, the encoding used). Never raises for any bytes.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _clean(data.decode(encoding, errors="replace")), encoding
    utf16 = _charset.utf16_without_bom(data)
    if utf16:
        usable = data if len(data) % 2 == 0 else data[:-1]
        return _clean(usable.decode(utf16, errors="replace")), utf16
    try:
        return _clean(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError as exc:
        # a prefix may end inside a character: retry without its last 1-3 bytes
        if not complete and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return _clean(data[: exc.start].decode("utf-8", errors="replace")), "utf-8"
    lenient = data.decode("utf-8", errors="replace")
    invalid = lenient.count("\ufffd")
    if invalid * 1000 <= len(lenient) or _multibyte(lenient) - invalid >= invalid:
        # mostly UTF-8 with a few bad bytes: keep UTF-8 rather than guess another encoding
        return _clean(lenient), "utf-8"
    encoding = _charset.guess(data, complete, _detect(data))
    return _clean(data.decode(encoding, errors="replace")), encoding


def _multibyte(text: str) -> int:
    """Characters beyond ASCII in ``text`` (each came from a valid multi-byte sequence,
    replacement characters included)."""
    return sum(1 for ch in text if ch >= "\x80")


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:_charset.SAMPLE_BYTES]).best()
    encoding = best.encoding if best is not None else "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        encoding = "utf-8"
    return encoding


def _clean(text: str) -> str:
    return text.translate(_CONTROLS)  # O(n) memory, unlike re.sub on many matches


def read_prefix(source: ObjectSource, limit: int) -> tuple[bytes, bool]:
    """The first ``limit`` bytes of ``source`` by one ranged read.

    Returns:
        (bytes, whether the object is longer than what was read).
    """
    if source.size == 0:
        return b"", False
    data = source.read_range(0, min(source.size, limit) - 1)
    return data, source.size > len(data)


def drop_partial_line(data: bytes) -> bytes:
    """``data`` without its last, incomplete line (used on a truncated prefix).

    Returns:
        The bytes up to and including the last newline (all of them when there is none).
    """
    cut = data.rfind(b"\n")
    return data[: cut + 1] if cut >= 0 else data


def extract_text(source: ObjectSource, limits: ExtractLimits, head: bytes = b"") -> Extraction:
    """Text of a plain-text object (the first ``text_prefix_bytes``).

    Returns:
        ``ok``, or ``truncated`` when the object is longer than the prefix or the
        text longer than ``max_chars``.
    """
    data, more = read_prefix(source, limits.text_prefix_bytes)
    text, encoding = decode(data, complete=not more)
    error = f"read the first text_prefix_bytes={limits.text_prefix_bytes}" if more else None
    return finish("text", text, limits, truncated=more, error=error,
                  content_type=source.content_type, metadata={"encoding": encoding})
