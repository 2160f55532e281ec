"""Which legacy encoding a byte string that is not UTF-8 is in, good on short texts too.

Statistical detectors need hundreds of bytes: on ``café crème`` in Latin-1,
charset-normalizer ranks Windows-1250 first and the text becomes ``café crčme``;
on ``Привет мир`` in KOI8-R it answers Shift-JIS. Here every candidate of a short
list (and the detector's own guess) decodes a sample, and each decoding is scored
by what real text does not look like:

- a word that switches script (``йtй``: Cyrillic and Latin in one word);
- a Latin word with more accented than plain letters (``Ïðèâåò``, Windows-1251
  read as Windows-1252), or with a symbol between its letters (``Pøíliš ¾lu»ou``);
- a lower-case letter followed by an upper-case one in a non-ASCII word
  (``пРИВЕТ``: KOI8-R read as Windows-1251);
- C1 control characters, private-use or unassigned code points, half-width katakana,
  rare marks (``‹ ˆ ˜``).

Too short a text cannot be told apart: two or three letters (``мир`` in KOI8-R reads
as the all-capitals ``НЙТ`` in Windows-1251) may be guessed wrong.

The lowest score wins; ties go to the earlier candidate (Windows-1252 first: the
most common legacy encoding, a superset of Latin-1's printable characters).
"""

from __future__ import annotations

import codecs
import unicodedata

CANDIDATES: tuple[str, ...] = ("cp1252", "cp932", "cp1251", "koi8_r", "cp1250", "cp1253",
                               "euc_kr", "gb18030", "big5", "euc_jp", "cp1254", "cp1257")
"""Tried in this order; an earlier one wins a tie."""
SAMPLE_BYTES = 32 * 1024
"""Bytes scored per candidate (scoring is linear in the sample)."""
_COMMON_MARKS = frozenset("’‘“”„–—…€•«»¿¡°·§©®™£¥¢×÷¶†‡‰¨´¸ªº¬¦±²³¹¼½¾µ"
                          "。、「」『』・ー〜！？（）：；，．")
_SCRIPT_CACHE: dict[str, str] = {}


def _script(ch: str) -> str:
    if ch < "\x80":
        return "LATIN"
    script = _SCRIPT_CACHE.get(ch)
    if script is None:
        name = unicodedata.name(ch, "")
        first = name.split(" ", 1)[0]
        if first in ("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC"):
            script = "HALFWIDTH" if name.startswith("HALFWIDTH") else "CJK"
        elif first == "HALFWIDTH":
            script = "HALFWIDTH"
        else:
            script = first or "OTHER"
        _SCRIPT_CACHE[ch] = script
    return script


def score(text: str) -> int:
    """How implausible ``text`` is as human writing (0: nothing odd; pure).

    Returns:
        A penalty, higher for less plausible decodings (see the module's docstring).
    """
    penalty = 0
    word: list[str] = []
    for ch in text + " ":
        if ch.isalpha():
            word.append(ch)
            continue
        if word:
            penalty += _word_penalty(word, ch)
            word = []
        if ch >= "\x80" and not ch.isspace() and not ch.isdigit():
            category = unicodedata.category(ch)
            if category in ("Cc", "Co", "Cn", "Cs"):
                penalty += 5
            elif ch not in _COMMON_MARKS and category[0] in ("S", "P"):
                penalty += 1
    return penalty


def _word_penalty(word: list[str], after: str) -> int:
    penalty = 0
    scripts = [_script(ch) for ch in word]
    penalty += 3 * sum(1 for a, b in zip(scripts, scripts[1:], strict=False) if a != b)
    penalty += scripts.count("HALFWIDTH")
    if scripts[0] == "LATIN":
        accented = sum(1 for ch in word if ch >= "\x80")
        plain = len(word) - accented
        if accented >= 3 and accented > plain:
            penalty += accented - plain
    if any(ch >= "\x80" for ch in word):
        penalty += sum(1 for a, b in zip(word, word[1:], strict=False)
                       if a.islower() and b.isupper())
    return penalty


def _decode_sample(data: bytes, encoding: str, complete: bool) -> str | None:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        return decoder.decode(data, final=complete)
    except (UnicodeDecodeError, LookupError):
        return None


def _ascii_compatible(encoding: str) -> bool:
    try:
        return "Az09 .,\n".encode(encoding) == b"Az09 .,\n"
    except (LookupError, UnicodeError):
        return False


_LOW = bytes(b for b in range(0x20) if b not in b"\t\n\r")


def _low_bytes(data: bytes) -> int:
    return len(data) - len(data.translate(None, _LOW))


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``data`` looks like UTF-16 text without a
    byte-order mark, else None.

    The high byte of Latin, Cyrillic, Greek ... characters is a control byte (0x00
    for Latin, 0x04 for Cyrillic): many of them at every other offset, and four times
    fewer at the others, is UTF-16 (and the sample must decode as it). Ideographs
    have no such high byte: CJK text in UTF-16 needs its byte-order mark.
    """
    sample = data[:SAMPLE_BYTES]
    if len(sample) < 4:
        return None
    even, odd = _low_bytes(sample[0::2]), _low_bytes(sample[1::2])
    half = len(sample) // 2
    encoding = None
    if odd >= 0.3 * half and even * 4 <= odd:
        encoding = "utf-16-le"
    elif even >= 0.3 * half and odd * 4 <= even:
        encoding = "utf-16-be"
    if encoding is None or _decode_sample(sample[: len(sample) // 2 * 2], encoding,
                                          False) is None:
        return None
    return encoding


def guess(data: bytes, complete: bool, detected: str | None = None) -> str:
    """The most plausible legacy encoding of ``data`` (not UTF-8).

    Args:
        data: the bytes (a whole file when ``complete``, else a prefix).
        complete: whether ``data`` ends where the file ends.
        detected: a statistical detector's guess, tried after :data:`CANDIDATES`.

    Returns:
        A codec name; ``cp1252`` when nothing decodes (it then decodes with replacements).
    """
    sample = data[:SAMPLE_BYTES]
    whole = complete and len(data) <= SAMPLE_BYTES
    candidates = list(CANDIDATES)
    if detected and detected not in candidates and _ascii_compatible(detected):
        candidates.append(detected)
    best, best_score = "cp1252", None
    for encoding in candidates:
        text = _decode_sample(sample, encoding, whole)
        if text is None:
            continue
        points = score(text)
        if best_score is None or points < best_score:
            best, best_score = encoding, points
            if points == 0:
                break
    return best
