"""A read-only, seekable file over an :class:`ObjectSource`, one ranged read per ``read``.

Parsers that want a file (pyarrow's Parquet footer reader, ``zipfile``) read
only the bytes they need through it; ``bytes_read`` and ``reads`` tell how much
that was.
"""

from __future__ import annotations

import io

from indexer.source import ObjectSource


class RangedFile(io.RawIOBase):
    """``source`` as a raw binary file: ``seek``/``tell``/``readinto`` by ranged reads."""

    def __init__(self, source: ObjectSource) -> None:
        super().__init__()
        self._source = source
        self._pos = 0
        self.size = source.size
        self.bytes_read = 0
        self.reads = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` from the start, the current position or the end.

        Returns:
            The new position.

        Raises:
            ValueError: the position would be negative.
        """
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the current position by one ranged read.

        Returns:
            The number of bytes read (0 at the end).
        """
        want = min(len(buffer), self.size - self._pos)
        if want <= 0:
            return 0
        data = self._source.read_range(self._pos, self._pos + want - 1)
        n = len(data)
        buffer[:n] = data
        self._pos += n
        self.bytes_read += n
        self.reads += 1
        return n
