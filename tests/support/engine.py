"""Engine-neutral helpers for tests that write documents straight to the index."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def bulk_index(es: Any, actions: Iterable[dict[str, Any]],
               **params: Any) -> tuple[int, list[Any]]:
    """Write ``actions`` through ``es.streaming_bulk`` and refresh what they touched.

    Returns:
        ``(number written, [failed items])``, like ``helpers.bulk(raise_on_error=False)``.
    """
    actions = list(actions)
    ok, errors = 0, []
    for success, item in es.streaming_bulk(actions, raise_on_error=False, **params):
        if success:
            ok += 1
        else:
            errors.append(item)
    indices = sorted({a["_index"] for a in actions})
    if indices:
        es.refresh(indices)
    return ok, errors
