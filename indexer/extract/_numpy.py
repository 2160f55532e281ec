"""NumPy ``.npy`` headers (shape, dtype) and the members of ``.npz`` archives.

The header is a Python dict literal; it is read with :func:`ast.literal_eval`
(never unpickled, numpy not needed). An ``.npz`` is a zip of ``.npy`` members,
listed through ranged reads; each member's header costs one small read.
"""

from __future__ import annotations

import ast
import io
import struct
import zipfile
import zlib
from typing import Any

from indexer.extract._model import Extraction, ExtractLimits, Status, failed, finish
from indexer.extract._ranged import RangedFile
from indexer.source import ObjectSource

MAGIC = b"\x93NUMPY"
HEAD_BYTES = 64 * 1024
MAX_MEMBERS = 200


class NpyHeaderError(ValueError):
    """Bytes that do not start with a valid ``.npy`` header."""


def parse_npy_header(head: bytes) -> dict[str, Any]:
    """Shape, dtype and order from the first bytes of an ``.npy`` file.

    Returns:
        ``{"shape": [...], "dtype": "<f8", "fortran_order": bool}``.

    Raises:
        NpyHeaderError: the bytes are not an ``.npy`` header.
    """
    if not head.startswith(MAGIC) or len(head) < 10:
        raise NpyHeaderError("no .npy magic bytes")
    major = head[6]
    if major == 1:
        (length,), start = struct.unpack("<H", head[8:10]), 10
    elif major in (2, 3):
        (length,), start = struct.unpack("<I", head[8:12]), 12
    else:
        raise NpyHeaderError(f"unknown .npy format version {major}")
    raw = head[start:start + length]
    if len(raw) < length:
        raise NpyHeaderError(f".npy header of {length} bytes is cut short")
    try:
        header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin-1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        raise NpyHeaderError(f"unreadable .npy header: {exc}") from exc
    if not isinstance(header, dict) or not {"descr", "shape"} <= header.keys():
        raise NpyHeaderError(".npy header lacks descr or shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(n, int) for n in shape):
        raise NpyHeaderError(f".npy shape is not a tuple of integers: {shape!r}"[:200])
    return {"shape": list(shape), "dtype": str(header["descr"])[:200],
            "fortran_order": bool(header.get("fortran_order", False))}


def _describe(name: str | None, info: dict[str, Any]) -> str:
    shape = "x".join(str(n) for n in info["shape"]) or "scalar"
    prefix = f"{name}: " if name else ""
    return f"{prefix}array {shape} {info['dtype']}"


def extract_numpy(source: ObjectSource, limits: ExtractLimits) -> Extraction:
    """The header of an ``.npy`` object, or the members' headers of an ``.npz`` archive.

    Returns:
        ``ok``; ``corrupt`` for a header or archive that cannot be read.
    """
    head = source.read_range(0, min(source.size, HEAD_BYTES) - 1) if source.size else b""
    try:
        if head.startswith(b"PK"):
            return _npz(source, limits)
        info = parse_npy_header(head)
    except (NpyHeaderError, zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError,
            NotImplementedError) as exc:
        return failed("numpy", Status.CORRUPT, str(exc)[:500], content_type=source.content_type)
    return finish("numpy", _describe(None, info), limits, content_type=source.content_type,
                  metadata=info)


def _npz(source: ObjectSource, limits: ExtractLimits) -> Extraction:
    members: list[dict[str, Any]] = []
    with zipfile.ZipFile(io.BufferedReader(RangedFile(source), buffer_size=HEAD_BYTES)) as zf:
        infos = zf.infolist()
        for info in infos[:MAX_MEMBERS]:
            name = info.filename.removesuffix(".npy")
            with zf.open(info) as member:
                head = member.read(4096)
            try:
                members.append({"name": name[:256], **parse_npy_header(head)})
            except NpyHeaderError as exc:
                members.append({"name": name[:256], "error": str(exc)[:200]})
    text = "\n".join(_describe(m["name"], m) for m in members if "shape" in m)
    return finish("numpy", text, limits, truncated=len(infos) > MAX_MEMBERS,
                  content_type=source.content_type,
                  metadata={"arrays": members, "num_arrays": len(infos)})
