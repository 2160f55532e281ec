"""Mapping keys to local paths and back, without ever leaving the destination folder.

A folder fetch writes the object ``prefix/rel/path`` to ``dest/rel/path``. The
relative part is split on ``/``; a part that is empty (``a//b``, a leading
``/``), ``.`` or ``..``, or that holds a backslash or NUL, could land outside
``dest`` or collide with another key, so such keys are refused (all listed in
one :class:`~t4.UnsafeKeyError`) before anything is written. Fetch them one at
a time to a path of your choice. Every resolved path is also checked to lie
inside ``dest`` (symlinks included).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from t4._errors import LocalPathConflictError, UnsafeKeyError

_BAD_PARTS = frozenset({"", ".", ".."})


def safe_parts(rel: str) -> list[str] | None:
    """The path parts of a relative key, or None when it is unsafe to write locally."""
    parts = rel.split("/")
    for part in parts:
        if part in _BAD_PARTS or "\\" in part or "\x00" in part:
            return None
    return parts


def plan_folder(dest: Path, prefix: str, keys: Iterable[str]) -> list[tuple[str, Path]]:
    """``(key, local path)`` for each key under ``prefix``, all inside ``dest``.

    Raises:
        UnsafeKeyError: some keys would be written outside ``dest`` (all listed).
        LocalPathConflictError: a key is both a file and a folder (``a`` and ``a/b``).
    """
    root = dest.resolve()
    plan: list[tuple[str, Path]] = []
    unsafe: list[str] = []
    files: dict[tuple[str, ...], str] = {}
    parents: dict[tuple[str, ...], bool] = {}  # folder parts -> resolves inside root
    for key in keys:
        parts = safe_parts(key[len(prefix) :])
        if parts is None:
            unsafe.append(key)
            continue
        folder = tuple(parts[:-1])
        inside = parents.get(folder)
        if inside is None:  # resolve each folder once: symlinks must not lead out of root
            inside = parents[folder] = root.joinpath(*folder).resolve().is_relative_to(root)
        if not inside:
            unsafe.append(key)
            continue
        files[tuple(parts)] = key
        plan.append((key, root.joinpath(*parts)))
    if unsafe:
        shown = ", ".join(repr(k) for k in unsafe[:10])
        more = f" and {len(unsafe) - 10} more" if len(unsafe) > 10 else ""
        raise UnsafeKeyError(
            f"{len(unsafe)} key(s) under {prefix!r} would be written outside {str(dest)!r} "
            f"or to an ambiguous path: {shown}{more}; nothing was written "
            "(fetch such keys one at a time to a path of your choice)",
            unsafe,
        )
    conflicts = sorted(
        {files[parts[:i]] for parts in files for i in range(1, len(parts)) if parts[:i] in files}
    )
    if conflicts:
        shown = ", ".join(repr(k) for k in conflicts[:10])
        raise LocalPathConflictError(
            f"key(s) {shown} are both a file and a folder of other keys under {prefix!r}, "
            f"so they cannot all be written to {str(dest)!r}; nothing was written "
            "(fetch the file and the folder separately)",
            conflicts,
        )
    return plan


def local_files(folder: Path) -> Iterator[tuple[str, Path]]:
    """``(relative path with / separators, path)`` of every file under ``folder``, sorted.

    Symbolic links to files are read; links to folders are not followed.
    """
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        base = Path(dirpath)
        for name in sorted(filenames):
            path = base / name
            if path.is_file():
                yield path.relative_to(folder).as_posix(), path


def make_parents(plan: Iterable[tuple[str, Path]]) -> None:
    """Create the folders of every planned file, each once."""
    for folder in sorted({path.parent for _, path in plan}):
        folder.mkdir(parents=True, exist_ok=True)


def atomic_writer(target: Path, make_parent: bool = True) -> tuple[int, str]:
    """Open a temporary file beside ``target``; ``(fd, tmp path)``."""
    if make_parent:
        target.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{target.name[:50]}.", suffix=".t4part", dir=target.parent)
