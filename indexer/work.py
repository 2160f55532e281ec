"""The unit of work of one round: a key named by a batch, and the retry-later signal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class KeyWork:
    """One ``(bucket, key)`` of a batch, with the messages that named it."""

    bucket: str
    key: str
    messages: set[str] = field(default_factory=set)
    sequencer: str | None = None
    force: bool = False  # rewrite even when the stored document shows this state
    event_time: datetime | None = None  # the oldest event of the key in this batch


class RetryLater(Exception):
    """A key whose message must come back, with actions to write meanwhile (a document
    recording a retryable outcome, so the object is findable and ``verify`` sees it)."""

    def __init__(self, reason: str, actions: list[dict[str, Any]]) -> None:
        super().__init__(reason)
        self.actions = actions
