"""Resume points: the position after the last fully completed chunk, in a local file.

The file is rewritten atomically (temporary file + rename) after every chunk, so
an interrupted run redoes at most the chunk it was working on. A checkpoint
belongs to one source (``s3://bucket/prefix`` or an inventory manifest) and one
mode; another source's checkpoint is ignored rather than misapplied.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.errors import IndexerError


class CheckpointError(IndexerError):
    """A checkpoint file that cannot be read; the message says how to start over."""


def default_path(source: str, mode: str = "backfill") -> Path:
    """``$XDG_CACHE_HOME/t4-search/backfill/<hash of source and mode>.json``."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(f"{mode}\0{source}".encode()).hexdigest()[:16]
    return base / "t4-search" / "backfill" / f"{digest}.json"


@dataclass
class Checkpoint:
    """A resume position for ``source`` kept in ``path``."""

    path: Path
    source: str
    mode: str = "backfill"

    def load(self) -> Any:
        """The saved position (a key, or an inventory ``[file, row]``), or None to start over.

        Raises:
            CheckpointError: the file exists but is not a checkpoint (corrupt).
        """
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError) as exc:
            raise CheckpointError(
                f"the checkpoint {self.path} is corrupt ({exc}); run again with --restart "
                "to start over, or delete the file") from exc
        if not isinstance(data, dict):
            raise CheckpointError(
                f"the checkpoint {self.path} is not a checkpoint; run again with --restart "
                "to start over, or delete the file")
        if data.get("source") != self.source or data.get("mode") != self.mode:
            return None
        return None if data.get("done") else data.get("position")

    def save(self, position: Any, counts: dict[str, int] | None = None, *,
             done: bool = False) -> None:
        """Record that everything up to ``position`` is complete."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"source": self.source, "mode": self.mode,
                                   "position": position, "counts": counts or {}, "done": done}))
        tmp.replace(self.path)

    def clear(self) -> None:
        """Forget the position (the next run starts from the beginning)."""
        self.path.unlink(missing_ok=True)
