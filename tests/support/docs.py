"""The documentation's executed examples.

Every fenced ``pycon`` block (``>>>`` prompts and the results they print) in README.md
and docs/*.md is an example the tests run against the local stack, in the order of its
page, in one namespace per page (``tests/integration/test_docs_examples.py``). A line
``<!-- docs-test: after-indexing -->`` right before a block makes the tests wait until
the index shows the buckets' current objects before running it (the worker indexes a
put a second or two later). ``<!-- docs-test -->`` alone only says that the block runs.
Each ``s3://NAME`` in a page's examples stands for a new bucket of its own in the test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARK = re.compile(r"^<!--\s*docs-test(?::\s*(?P<option>[a-z-]+))?\s*-->\s*$")
OPTIONS = {None, "after-indexing"}
FENCE = re.compile(r"^(?P<indent>\s*)```+\s*(?P<lang>[\w+-]*)")
BUCKET_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]*[a-z0-9])")


@dataclass(frozen=True)
class Example:
    """One ``pycon`` block: its text, where it is, and whether it waits for the index."""

    path: Path
    line: int  # 1-based line of the block's first line of code
    text: str
    after_indexing: bool


def doc_files() -> list[Path]:
    """README.md and every page of the docs site."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def examples(path: Path) -> list[Example]:
    """The executed examples of one Markdown file, in order.

    Raises:
        ValueError: a ``docs-test`` mark that is unknown or not right before a top-level
            ``pycon`` block, or a ``pycon`` block that is never closed.
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Example] = []
    pending: tuple[int, str | None] | None = None  # (line of the mark, its option)
    i = 0
    while i < len(lines):
        line = lines[i]
        mark = MARK.match(line)
        if mark:
            if mark["option"] not in OPTIONS:
                raise ValueError(f"{path}:{i + 1}: unknown docs-test option {mark['option']!r}; "
                                 f"known: {sorted(o for o in OPTIONS if o)}")
            pending = (i + 1, mark["option"])
            i += 1
            continue
        fence = FENCE.match(line)
        if fence:
            end = next((j for j in range(i + 1, len(lines))
                        if lines[j].strip().startswith("```")), None)
            if end is None:
                raise ValueError(f"{path}:{i + 1}: a code block is never closed")
            if fence["lang"] == "pycon":
                if fence["indent"]:
                    raise ValueError(f"{path}:{i + 1}: a pycon block must not be indented "
                                     "(the examples run top-level blocks only)")
                found.append(Example(path, i + 2, "\n".join(lines[i + 1:end]) + "\n",
                                     after_indexing=bool(pending and pending[1])))
            elif pending:
                raise ValueError(f"{path}:{pending[0]}: a docs-test mark must come right "
                                 f"before a pycon block, not a {fence['lang'] or 'plain'} one")
            pending = None
            i = end + 1
            continue
        if pending and line.strip():
            raise ValueError(f"{path}:{pending[0]}: a docs-test mark must come right before "
                             "a pycon block")
        i += 1
    if pending:
        raise ValueError(f"{path}:{pending[0]}: a docs-test mark at the end of the file")
    return found


def bucket_names(found: list[Example]) -> list[str]:
    """The bucket names the examples use (``s3://NAME``), in order of appearance."""
    names: list[str] = []
    for example in found:
        for name in BUCKET_URL.findall(example.text):
            if name not in names:
                names.append(name)
    return names
