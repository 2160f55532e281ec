"""JSON, JSON Lines and Jupyter notebooks.

A JSON document (or notebook) of at most ``max_parse_bytes`` is parsed whole and
its keys and scalar values are indexed one ``key: value`` per line, so that
highlights are readable; a larger one, or one that is not valid JSON, is indexed
as plain text (a prefix). JSON Lines are parsed line by line from a prefix.
A notebook gives its cells' sources and text outputs (``text/plain``,
``text/markdown``, stream output, error names), never images.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from indexer.extract._model import Extraction, ExtractLimits, finish
from indexer.extract._text import decode, drop_partial_line, extract_text, read_prefix
from indexer.source import ObjectSource

MAX_KEYS_IN_METADATA = 100
_TEXT_OUTPUTS = ("text/plain", "text/markdown")


def _walk(value: Any, key: str | None, budget: list[int]) -> Iterator[str]:
    """``key: value`` lines for the scalars of ``value``; ``budget[0]`` counts characters left."""
    stack: list[tuple[str | None, Any]] = [(key, value)]
    while stack and budget[0] > 0:
        k, v = stack.pop()
        if isinstance(v, dict):
            stack.extend(reversed([(str(kk), vv) for kk, vv in v.items()]))
        elif isinstance(v, list):
            stack.extend(reversed([(k, vv) for vv in v]))
        elif v is not None:
            text = v if isinstance(v, str) else json.dumps(v)
            line = f"{k}: {text}" if k is not None else text
            budget[0] -= len(line) + 1
            yield line


def _as_text(value: Any, limits: ExtractLimits) -> tuple[str, bool]:
    budget = [limits.max_chars + 1]
    text = "\n".join(_walk(value, None, budget))
    return text, budget[0] <= 0


def _describe(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {"json_type": "object",
                "keys": [str(k)[:256] for k in list(value)[:MAX_KEYS_IN_METADATA]]}
    if isinstance(value, list):
        return {"json_type": "array", "length": len(value)}
    return {"json_type": type(value).__name__}


def _as_plain_text(source: ObjectSource, limits: ExtractLimits, why: str) -> Extraction:
    plain = extract_text(source, limits)
    return finish("text", plain.text, limits, truncated=plain.truncated,
                  error=f"{why}; indexed as text", content_type=source.content_type,
                  metadata=plain.metadata)


def _load_whole(source: ObjectSource, limits: ExtractLimits) -> Any:
    data = source.read_range(0, source.size - 1) if source.size else b""
    text, _ = decode(data)
    return json.loads(text)


def extract_json(source: ObjectSource, limits: ExtractLimits) -> Extraction:
    """Keys and values of a JSON document (a notebook is handed to :func:`extract_notebook`).

    Returns:
        ``ok``/``truncated``; plain text when too large to parse or not JSON.
    """
    if source.size > limits.max_parse_bytes:
        return _as_plain_text(source, limits,
                              f"larger than max_parse_bytes={limits.max_parse_bytes}")
    try:
        value = _load_whole(source, limits)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return extract_jsonl(source, limits)
        return _as_plain_text(source, limits, f"not valid JSON ({exc.msg} at "
                                                      f"line {exc.lineno} column {exc.colno})")
    except RecursionError:
        return _as_plain_text(source, limits, "JSON nested too deeply")
    if _is_notebook(value):
        return _notebook(value, source, limits)
    text, cut = _as_text(value, limits)
    return finish("json", text, limits, truncated=cut, content_type=source.content_type,
                  metadata=_describe(value))


def extract_jsonl(source: ObjectSource, limits: ExtractLimits) -> Extraction:
    """Keys and values of each line of a JSON Lines prefix (bad lines kept as text).

    Returns:
        ``ok``/``truncated``.
    """
    data, more = read_prefix(source, limits.text_prefix_bytes)
    if more:
        data = drop_partial_line(data)
    text, _ = decode(data, complete=not more)
    budget = [limits.max_chars + 1]
    out: list[str] = []
    lines = bad = 0
    for line in text.splitlines():
        if budget[0] <= 0:
            break
        if not line.strip():
            continue
        lines += 1
        try:
            out.extend(_walk(json.loads(line), None, budget))
        except (json.JSONDecodeError, RecursionError):
            bad += 1
            budget[0] -= len(line) + 1
            out.append(line)
    truncated = more or budget[0] <= 0
    error = f"read the first text_prefix_bytes={limits.text_prefix_bytes}" if more else None
    metadata: dict[str, Any] = {"lines_indexed": lines}
    if bad:
        metadata["invalid_lines"] = bad
    return finish("jsonl", "\n".join(out), limits, truncated=truncated, error=error,
                  content_type=source.content_type, metadata=metadata)


def _is_notebook(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("cells"), list) and "nbformat" in value


def _lines(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else ""


def _cell_text(cell: dict[str, Any]) -> Iterator[str]:
    yield _lines(cell.get("source"))
    for output in cell.get("outputs") or []:
        if not isinstance(output, dict):
            continue
        if output.get("output_type") == "stream":
            yield _lines(output.get("text"))
        elif output.get("output_type") == "error":
            yield f"{output.get('ename', '')}: {output.get('evalue', '')}"
        data = output.get("data")
        if isinstance(data, dict):
            for mime in _TEXT_OUTPUTS:
                if mime in data:
                    yield _lines(data[mime])


def _notebook(value: dict[str, Any], source: ObjectSource, limits: ExtractLimits) -> Extraction:
    cells = [c for c in value["cells"] if isinstance(c, dict)]
    parts: list[str] = []
    size = 0
    for cell in cells:
        for text in _cell_text(cell):
            if text.strip():
                parts.append(text.strip())
                size += len(text)
        if size > limits.max_chars:
            break
    meta = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    kernel = (meta.get("kernelspec") or {}) if isinstance(meta, dict) else {}
    language = (meta.get("language_info") or {}).get("name") if isinstance(meta, dict) else None
    metadata: dict[str, Any] = {
        "cells": len(cells),
        "code_cells": sum(1 for c in cells if c.get("cell_type") == "code"),
        "nbformat": value.get("nbformat"),
    }
    if isinstance(kernel, dict) and kernel.get("name"):
        metadata["kernel"] = str(kernel["name"])[:256]
    if isinstance(language, str):
        metadata["kernel_language"] = language[:64]
    return finish("notebook", "\n\n".join(parts), limits, content_type=source.content_type,
                  metadata=metadata)


def extract_notebook(source: ObjectSource, limits: ExtractLimits) -> Extraction:
    """Cell sources and text outputs of a Jupyter notebook.

    Returns:
        ``ok``/``truncated``; plain text when too large to parse or not a notebook.
    """
    if source.size > limits.max_parse_bytes:
        return _as_plain_text(source, limits,
                              f"larger than max_parse_bytes={limits.max_parse_bytes}")
    try:
        value = _load_whole(source, limits)
    except (json.JSONDecodeError, RecursionError) as exc:
        return _as_plain_text(source, limits, f"not valid JSON ({exc})")
    if not _is_notebook(value):
        text, cut = _as_text(value, limits)
        return finish("json", text, limits, truncated=cut, content_type=source.content_type,
                      metadata=_describe(value))
    return _notebook(value, source, limits)
