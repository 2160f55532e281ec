"""moto's costs cut, its answers kept: the patches the stack's moto server installs.

Everything AWS-shaped stays moto's; each patch changes what a request costs, never
what it answers (``tests/unit/test_moto_server.py`` holds each to moto's own code):

- Dispatch. Before routing each request moto lists its own package folder
  (``os.listdir`` and ``isdir`` of ~200 entries) and tries its URL patterns, under
  one lock that serialises every request. The folder listing is read once and the
  answer is remembered per host (``<service>.<region>.amazonaws.com``, a bounded set).
  So are two pure helpers it calls per request: a response class's method names
  (``inspect.getmembers``) and an action name's snake_case spelling.
- SQS. moto 5.2 computes every attribute of a queue, including two counters that
  scan the whole queue with a datetime-based clock call per message, once for
  every message it receives: ``ReceiveMessage`` of 10 from a queue with 1,000
  waiting took ~0.6 s of the server (real SQS: milliseconds at any depth). The
  retention check reads the one attribute it needs, and the clock of moto's SQS
  module is ``time.time()`` (the same value as moto's naive-datetime subtraction).
  And moto's queues are not thread-safe: a delete rebuilds the message list without
  the lock a send appends under, so a message sent meanwhile could vanish (events
  lost under load), and two concurrent receives could take the same message. Those
  run under the queue's own lock now (released while a long poll waits). Draining a
  deep queue was quadratic too: every delete scanned the whole queue twice, every
  receive rebuilt the list of visible messages with two clock reads per message. A
  delete now finds its message among those in flight, a receive scans only until it
  has its messages, reading the clock once, and a receipt handle is drawn in one call
  (a receive and delete of 10 from 2,000 queued: 3.2 ms -> 0.4 ms of the server).

- Timestamps. moto 5.2 renders its answers with a generic serializer that turns
  every timestamp it holds as text back into a datetime with botocore's
  ``parse_timestamp`` (dateutil's parser, ~70 us a value): two per object of a LIST
  page, most of the server's time for a 1,000-key page. Text in the ISO 8601 form
  moto writes is read by ``datetime.fromisoformat`` (same datetime, in UTC); any
  other text still goes to botocore.

A patch whose target is missing from a future moto is skipped with a warning (the
server still works, only slower).
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Iterator
from typing import Any

_EPOCH = datetime.datetime(1970, 1, 1)
_UTC = datetime.UTC


def _unix_time(dt: datetime.datetime | None = None) -> float:
    """moto's ``unix_time``: seconds since the epoch of a naive UTC datetime, or now."""
    if dt is None:
        return time.time()
    return (dt - _EPOCH).total_seconds()


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    return _unix_time(dt) * 1000.0


def _retention_ok(self: Any, queue_name: str, message: Any) -> bool:
    """``SQSBackend.is_message_valid_based_on_retention_period`` reading only the
    queue's retention period, instead of computing all of its attributes."""
    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return retain_until > _unix_time()


class _VisibleMessages:
    """``Queue.messages`` (visible and not delayed now) as moto uses it: iterated by a
    receive, which stops after the messages it wants; ``len`` for the attribute count;
    truth for a long poll's wait. moto built the full list on every receive, with two
    clock reads per message; this reads the clock once and scans only as far as asked.
    """

    __slots__ = ("_messages", "_now")

    def __init__(self, messages: list[Any], now: float) -> None:
        self._messages, self._now = messages, now

    def __iter__(self) -> Iterator[Any]:
        now = self._now
        return (m for m in self._messages if now > m.visible_at and not now < m.delayed_until)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return any(True for _ in self)


def _visible(self: Any) -> _VisibleMessages:
    return _VisibleMessages(self._messages, _unix_time_millis())


def _count_delayed(self: Any) -> int:
    now = _unix_time_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _count_not_visible(self: Any) -> int:
    now = _unix_time_millis()
    return sum(1 for m in self._messages if not now > m.visible_at)


def _delete_in_flight(original: Any) -> Any:
    """``Queue.delete_message`` looking for the handle among the messages in flight first.

    moto checks every message of the queue twice per deleted message (two passes, each
    building a list of the message's handles), so draining a queue of N messages cost
    N² steps. A received message is in ``pending_messages`` until it is deleted or made
    visible again; any other case (and every error) goes to moto's own code.
    """

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        found = next((m for m in self.pending_messages if m.had_receipt_handle(receipt_handle)),
                     None)
        if found is not None:
            messages = self._messages
            try:
                at = messages.index(found)  # received first, so near the front
            except ValueError:
                at = -1
            if at >= 0:
                self.pending_messages.discard(found)
                self.deleted_messages.update(found.all_receipt_handles)
                self._messages = messages[:at] + messages[at + 1:]  # a new list, as moto's
                return
        original(self, receipt_handle)

    delete_message.__wrapped__ = original
    return delete_message


def _receipt_handle() -> str:
    """moto's receipt handle (185 random lowercase letters, from moto's seedable random)
    drawn in one call instead of 185."""
    import string

    from moto.moto_api._internal import mock_random

    return "".join(mock_random.choices(string.ascii_lowercase, k=185))


def _patch_dispatch() -> None:
    import functools

    from moto import backends
    from moto.core import responses
    from moto.moto_server import werkzeug_app
    from moto.sqs import models as sqs_models

    # Pure functions moto calls on every request (a class's method names, listed by
    # inspect.getmembers; an action name's snake_case spelling), remembered.
    for module in (responses, sqs_models):
        if not callable(getattr(module, "camelcase_to_underscores", None)):
            raise AttributeError(f"{module.__name__}.camelcase_to_underscores")
        module.camelcase_to_underscores = functools.lru_cache(maxsize=4096)(
            module.camelcase_to_underscores)
    if not callable(getattr(responses, "method_names_from_class", None)):
        raise AttributeError("moto.core.responses.method_names_from_class")
    names_of = responses.method_names_from_class
    responses.method_names_from_class = functools.lru_cache(maxsize=1024)(
        lambda clazz: tuple(names_of(clazz)))

    modules = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    dispatcher = werkzeug_app.DomainDispatcherApplication
    find = dispatcher.get_backend_for_host
    found: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in found:
            found[host] = find(self, host)
        return found[host]

    dispatcher.get_backend_for_host = get_backend_for_host


def _under_queue_lock(method: Any, queue_of: Any) -> Any:
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with queue_of(self, *args, **kwargs)._messages_lock:
            return method(self, *args, **kwargs)

    locked.__wrapped__ = method
    return locked


_REPLACED_QUEUE_MEMBERS = ("delete_message", "messages", "approximate_number_of_messages_delayed",
                           "approximate_number_of_messages_not_visible")

ORIGINAL: dict[str, Any] = {}
"""moto's own ``Queue`` members replaced by the SQS patch (tests compare against them)."""


def _patch_sqs() -> None:
    from moto.sqs import models

    for name in ("is_message_valid_based_on_retention_period", "receive_message",
                 "change_message_visibility"):
        if not hasattr(models.SQSBackend, name):
            raise AttributeError(f"SQSBackend.{name}")
    for name in _REPLACED_QUEUE_MEMBERS:
        if not hasattr(models.Queue, name):
            raise AttributeError(f"Queue.{name}")
    probe = models.Message("probe", "body")
    for name in ("visible_at", "delayed_until", "all_receipt_handles"):
        if not hasattr(probe, name):
            raise AttributeError(f"Message.{name}")
    if not callable(getattr(models, "generate_receipt_handle", None)):
        raise AttributeError("generate_receipt_handle")
    ORIGINAL.update({f"Queue.{name}": getattr(models.Queue, name)
                     for name in _REPLACED_QUEUE_MEMBERS})
    models.generate_receipt_handle = _receipt_handle
    models.unix_time = _unix_time
    models.unix_time_millis = _unix_time_millis
    models.SQSBackend.is_message_valid_based_on_retention_period = _retention_ok
    models.Queue.messages = property(_visible)
    models.Queue.approximate_number_of_messages_delayed = property(_count_delayed)
    models.Queue.approximate_number_of_messages_not_visible = property(_count_not_visible)
    # Thread safety. Queue.add_message appends under the queue's condition lock, but
    # delete_message rebuilds the message list without it: a message sent while
    # another is deleted could vanish (seen: 10 of 2,000 events lost under load).
    # Receives scan and mark messages without it too, so two pollers could take the
    # same message. The condition's lock is re-entrant and a long poll's wait
    # releases it, so holding it for a whole receive blocks no one during the wait.
    by_name = models.SQSBackend.get_queue
    models.Queue.delete_message = _under_queue_lock(
        _delete_in_flight(models.Queue.delete_message), lambda queue, *_, **__: queue)
    for name in ("receive_message", "change_message_visibility"):
        setattr(models.SQSBackend, name, _under_queue_lock(
            getattr(models.SQSBackend, name),
            lambda backend, queue_name, *_, **__: by_name(backend, queue_name)))


def aware_datetime(value: Any) -> datetime.datetime:
    """botocore's ``parse_to_aware_datetime`` (what moto's serializer calls): text read
    by :func:`t4index.dates.parse_aws_timestamp` (moto writes AWS's ``...Z`` form,
    which it reads with ``datetime.fromisoformat``), then made aware, in UTC."""
    if not isinstance(value, str):
        from botocore.utils import parse_to_aware_datetime

        return parse_to_aware_datetime(value)
    from t4index.dates import parse_aws_timestamp

    parsed = parse_aws_timestamp(value)
    return parsed.replace(tzinfo=_UTC) if parsed.tzinfo is None else parsed.astimezone(_UTC)


def _patch_timestamps() -> None:
    from moto.core import serialize

    if not callable(getattr(serialize, "parse_to_aware_datetime", None)):
        raise AttributeError("moto.core.serialize.parse_to_aware_datetime")
    serialize.parse_to_aware_datetime = aware_datetime


_applied: set[str] = set()


def apply() -> list[str]:
    """Install the patches into moto (idempotent); the names of those in place."""
    for name, patch in (("dispatch", _patch_dispatch), ("sqs", _patch_sqs),
                        ("timestamps", _patch_timestamps)):
        if name in _applied:
            continue
        try:
            patch()
            _applied.add(name)
        except (AttributeError, ImportError) as exc:  # a moto that moved things around
            print(f"moto_server: {name} patch not applied ({exc}); moto runs unpatched",
                  file=sys.stderr, flush=True)
    return sorted(_applied)
