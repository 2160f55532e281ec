"""gzip-compressed objects: bounded decompression, then the extractor of what is inside.

The compressed stream is read in chunks and decompressed at most 64 KB at a
time into a spooled temporary file (memory up to 4 MB, then disk), and stops at
the bytes the inner extractor can use: ``text_prefix_bytes`` for text-like
content, ``max_parse_bytes`` for JSON and notebooks, ``max_decompressed`` for
the rest. A gzip bomb therefore costs at most that much disk and never more
memory. Concatenated gzip members are read one after the other.

Outcomes: the inner extractor's, with ``truncated`` set when decompression
stopped early (``too_large`` for Tika formats, which need the whole file);
``corrupt`` when the stream is not valid gzip (the text decompressed before the
error is still indexed).
"""

from __future__ import annotations

import tempfile
import zlib
from collections.abc import Callable
from dataclasses import replace
from typing import IO

from indexer.extract._choose import NONE, TIKA, choose_extractor
from indexer.extract._model import Extraction, ExtractLimits, Status, failed, finish
from indexer.source import FileSource, ObjectSource

STEP = 64 * 1024
CHUNK = 256 * 1024
SPOOL_IN_MEMORY = 4 * 2**20
_TEXT_LIKE = frozenset({"text", "csv", "tsv", "jsonl"})
_WHOLE_PARSE = frozenset({"json", "notebook"})

Inner = Callable[[str, ObjectSource], Extraction]


def inner_key(key: str) -> str:
    """The key of the content inside a gzip object (``a.csv.gz`` -> ``a.csv``).

    Returns:
        The key without its ``.gz``/``.gzip`` extension (unchanged otherwise).
    """
    lower = key.lower()
    for ext in (".gz", ".gzip"):
        if lower.endswith(ext):
            return key[: -len(ext)]
    return key


def _wanted(kind: str, limits: ExtractLimits) -> int:
    if kind in _TEXT_LIKE:
        return min(limits.text_prefix_bytes, limits.max_decompressed)
    if kind in _WHOLE_PARSE:
        return min(limits.max_parse_bytes, limits.max_decompressed)
    return limits.max_decompressed


def decompress(source: ObjectSource, out: IO[bytes], limit: int, max_input: int,
               first: Callable[[bytes], int] | None = None) -> tuple[int, bool, str | None]:
    """Decompress ``source`` into ``out``, at most ``limit`` bytes (``max_input`` read).

    Args:
        first: called once with the first decompressed bytes; returns a new,
            possibly smaller, ``limit`` (so the inner format can choose its bound).

    Returns:
        (bytes written, whether decompression stopped before the end, the error
        when the stream is not valid gzip, else None).
    """
    written = read = 0
    dec = zlib.decompressobj(wbits=31)
    pending = False  # the current member has started and not ended
    members = after_member = 0
    chunks = source.iter_chunks(CHUNK)
    try:
        for chunk in chunks:
            read += len(chunk)
            if read > max_input:
                return written, True, None
            data = chunk
            while True:
                pending = pending or bool(data)
                try:
                    piece = dec.decompress(data, STEP)
                except zlib.error as exc:
                    if members and not dec.unconsumed_tail and written == after_member:
                        return written, False, None  # trailing padding after the last member
                    return written, False, f"not valid gzip: {exc}"
                if piece:
                    if written == 0 and first is not None:
                        limit = min(limit, first(piece))
                    room = limit - written
                    out.write(piece[:room])
                    written += min(len(piece), room)
                    if len(piece) > room:
                        return written, True, None
                if dec.eof:
                    data, pending = dec.unused_data, False
                    members, after_member = members + 1, written
                    dec = zlib.decompressobj(wbits=31)  # the next concatenated member
                    if not data:
                        break
                    continue
                data = dec.unconsumed_tail
                if not data and len(piece) < STEP:
                    break  # zlib wants more input
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()
    if pending:
        return written, False, "not valid gzip: the stream ends early (truncated file)"
    return written, False, None


def extract_gzip(source: ObjectSource, limits: ExtractLimits, inner: Inner) -> Extraction:
    """Decompress a gzip object within the bounds and extract what is inside.

    Args:
        inner: runs the extractor named by its first argument on a source.

    Returns:
        The inner extraction, its extractor named ``gzip+<inner>``.
    """
    key = inner_key(source.key)
    kind = [NONE]

    def choose(head: bytes) -> int:
        kind[0] = choose_extractor(key, None, None, head)
        return _wanted(kind[0], limits)

    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as tmp:
        written, cut, error = decompress(source, tmp, limits.max_decompressed,
                                         limits.max_bytes, choose)
        meta = {"compression": "gzip", "decompressed_bytes": written}
        name = f"gzip+{kind[0]}"
        if error and written == 0:
            return failed(name, Status.CORRUPT, error, content_type=source.content_type,
                          metadata=meta)
        if kind[0] == "gzip":
            return failed(name, Status.UNSUPPORTED, "gzip inside gzip is not opened",
                          metadata=meta)
        if cut and kind[0] == TIKA:
            return failed(name, Status.TOO_LARGE, f"decompressed content is over "
                          f"max_decompressed={limits.max_decompressed}", metadata=meta)
        inner_source = FileSource(tmp, key, size=written, bucket=source.bucket,  # type: ignore[arg-type]
                                  version_id=source.version_id)
        result = inner(kind[0], inner_source)
    metadata = {**result.metadata, **meta}
    if error:
        return replace(result, extractor=name, status=str(Status.CORRUPT), error=error,
                       metadata=metadata)
    if cut and result.status == Status.OK:
        bound = _wanted(kind[0], limits)
        return finish(name, result.text, limits, truncated=True,
                      error=f"decompressed the first {bound} bytes "
                            f"(text_prefix_bytes/max_parse_bytes/max_decompressed)",
                      content_type=result.content_type, metadata=metadata)
    return replace(result, extractor=name, metadata=metadata)
