"""A reader of Thrift's compact protocol, enough for Parquet's footer (``FileMetaData``).

Structs are read as ``{field id: value}``; fields not asked for are skipped
without building values, so a footer with thousands of row groups costs little.
Nesting is bounded, and every read is bounds-checked: bad bytes raise
:class:`ThriftError`, never anything else.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 64

# compact protocol type ids
BOOL_TRUE, BOOL_FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT, UUID = range(
    1, 14)


class ThriftError(ValueError):
    """Bytes that are not a valid compact-protocol struct."""


class CompactReader:
    """Reads compact-protocol values from ``data`` starting at ``pos``."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def _byte(self) -> int:
        if self.pos >= len(self.data):
            raise ThriftError("unexpected end of the Thrift data")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ThriftError("unexpected end of the Thrift data")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def varint(self) -> int:
        """An unsigned LEB128 integer."""
        shift = result = 0
        while True:
            b = self._byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ThriftError("varint too long")

    def zigzag(self) -> int:
        """A signed (zigzag-encoded) integer."""
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def binary(self) -> bytes:
        """A length-prefixed byte string."""
        return self._take(self.varint())

    def _list_header(self) -> tuple[int, int]:
        head = self._byte()
        size = head >> 4
        if size == 15:
            size = self.varint()
        return size, head & 0x0F

    def value(self, ttype: int, depth: int = 0, want: dict[int, Any] | None = None) -> Any:
        """One value of compact type ``ttype`` (structs: only the fields in ``want``).

        ``want`` maps a struct's field ids to the ``want`` of their own values
        (None: all fields); lists apply it to their elements.
        """
        if depth > MAX_DEPTH:
            raise ThriftError("Thrift data nested too deeply")
        if ttype in (BOOL_TRUE, BOOL_FALSE):
            return ttype == BOOL_TRUE
        if ttype == BYTE:
            return struct.unpack("b", self._take(1))[0]
        if ttype in (I16, I32, I64):
            return self.zigzag()
        if ttype == DOUBLE:
            return struct.unpack("<d", self._take(8))[0]
        if ttype == BINARY:
            return self.binary()
        if ttype == UUID:
            return self._take(16)
        if ttype in (LIST, SET):
            size, etype = self._list_header()
            if etype in (BOOL_TRUE, BOOL_FALSE):  # booleans in lists are one byte each
                return [self._byte() == BOOL_TRUE for _ in range(size)]
            return [self.value(etype, depth + 1, want) for _ in range(size)]
        if ttype == MAP:
            size = self.varint()
            if not size:
                return {}
            kinds = self._byte()
            return {self.value(kinds >> 4, depth + 1): self.value(kinds & 0x0F, depth + 1)
                    for _ in range(size)}
        if ttype == STRUCT:
            return self.struct(depth + 1, want)
        raise ThriftError(f"unknown Thrift compact type {ttype}")

    def struct(self, depth: int = 0, want: dict[int, Any] | None = None) -> dict[int, Any]:
        """A struct's fields as ``{field id: value}`` (only those in ``want`` when given)."""
        fields: dict[int, Any] = {}
        last = 0
        while True:
            head = self._byte()
            if head == 0:
                return fields
            ttype, delta = head & 0x0F, head >> 4
            fid = last + delta if delta else self.zigzag()
            last = fid
            if want is not None and fid not in want:
                self.skip(ttype, depth)
                continue
            fields[fid] = self.value(ttype, depth, want.get(fid) if want is not None else None)

    def fields(self) -> Iterator[tuple[int, int]]:
        """The (field id, type) of each field of a struct; the caller reads or skips each value."""
        last = 0
        while True:
            head = self._byte()
            if head == 0:
                return
            delta = head >> 4
            last = last + delta if delta else self.zigzag()
            yield last, head & 0x0F

    def skip(self, ttype: int, depth: int = 0) -> None:
        """Read past one value of type ``ttype`` without building it."""
        if depth > MAX_DEPTH:
            raise ThriftError("Thrift data nested too deeply")
        if ttype in (BOOL_TRUE, BOOL_FALSE):
            return
        if ttype == BYTE:
            self._take(1)
        elif ttype in (I16, I32, I64):
            self.varint()
        elif ttype == DOUBLE:
            self._take(8)
        elif ttype == BINARY:
            self._take(self.varint())
        elif ttype == UUID:
            self._take(16)
        elif ttype in (LIST, SET):
            size, etype = self._list_header()
            for _ in range(size):
                if etype in (BOOL_TRUE, BOOL_FALSE):
                    self._byte()
                else:
                    self.skip(etype, depth + 1)
        elif ttype == MAP:
            size = self.varint()
            if size:
                kinds = self._byte()
                for _ in range(size):
                    self.skip(kinds >> 4, depth + 1)
                    self.skip(kinds & 0x0F, depth + 1)
        elif ttype == STRUCT:
            while True:
                head = self._byte()
                if head == 0:
                    return
                if not head >> 4:
                    self.zigzag()
                self.skip(head & 0x0F, depth + 1)
        else:
            raise ThriftError(f"unknown Thrift compact type {ttype}")

    def count_list(self, depth: int = 0) -> int:
        """Read past a list, returning its length."""
        size, etype = self._list_header()
        for _ in range(size):
            if etype in (BOOL_TRUE, BOOL_FALSE):
                self._byte()
            else:
                self.skip(etype, depth + 1)
        return size
