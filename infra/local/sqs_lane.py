"""SQS's two busiest calls answered from moto's own queues, without moto's per-request machinery.

The stack's worker plays Lambda's event source mapping: for every 10 events it
indexes it sends one ``ReceiveMessage`` and one ``DeleteMessageBatch``. moto serves
each through Flask's routing, its generic request set-up (form parsing, the
model-driven parameter parser) and its model-driven response serializer: ~1.5 ms of
the server's CPU per call, 2.5 times an S3 GET (measured on the stack's moto). On
AWS that CPU is SQS's; on the stack's 2 cores it was a third of what indexing cost
beyond the minimal work (docs/benchmarks.md).

:class:`SqsLane` is a WSGI middleware in front of moto's application. For those two
calls in SQS's JSON protocol (what current SDKs send) it does what moto's
``SQSResponse`` does: the same account and region (moto's own methods pick them),
the same validations, the same backend calls (the queue's lock included, see
``infra.local.moto_patches``), the same answer. A request it does not recognise
exactly (the query protocol, an unknown queue or parameter, a value out of range,
IAM authorisation turned on) goes to moto unchanged, so moto's errors keep their
shapes; messages with message attributes are rendered by moto's own serializer.
``tests/unit/test_sqs_lane.py`` holds its answers to moto's own.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any

JSON_PROTOCOL = "application/x-amz-json-1.0"
RECEIVE = "AmazonSQS.ReceiveMessage"
DELETE_BATCH = "AmazonSQS.DeleteMessageBatch"

RECEIVE_PARAMS = frozenset({"QueueUrl", "MaxNumberOfMessages", "WaitTimeSeconds",
                            "VisibilityTimeout", "AttributeNames",
                            "MessageSystemAttributeNames", "MessageAttributeNames"})
SYSTEM_ATTRIBUTES = ("AWSTraceHeader", "ApproximateFirstReceiveTimestamp",
                     "ApproximateReceiveCount", "MessageDeduplicationId", "MessageGroupId",
                     "SenderId", "SentTimestamp", "SequenceNumber")
"""The system attributes moto's ReceiveMessage can return, in its order."""
MAX_VISIBILITY_TIMEOUT = 43_200

Answer = tuple[dict[str, Any], Callable[[], bytes] | None]
"""What a call returns: its result, and (for a result plain JSON cannot render) moto's
serializer to render it with."""


def _caller_class() -> type:
    """A class with just enough of a moto response object for moto's own account and
    region rules (``BaseResponse.get_current_account`` and ``get_region_from_url``),
    built once (moto is imported when the lane is)."""
    from moto.core.responses import BaseResponse
    from moto.sqs.responses import SQSResponse

    class Caller:
        region_regex = SQSResponse.region_regex
        region_from_useragent_regex = BaseResponse.region_from_useragent_regex
        access_key_regex = BaseResponse.access_key_regex
        default_region = BaseResponse.default_region
        get_access_key = BaseResponse.get_access_key

        def __init__(self, headers: Any) -> None:
            self.headers = headers
            self.querystring: dict[str, list[str]] = {}

        def account(self) -> str:
            return BaseResponse.get_current_account(self)  # type: ignore[arg-type]

        def region(self, full_url: str) -> str:
            return BaseResponse.get_region_from_url(self, self, full_url)  # type: ignore[arg-type]

    return Caller


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _names(value: Any) -> list[str] | None:
    """A list of names, or None when ``value`` is not one."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _queue_name(queue_url: str) -> str:
    """The queue's name, as moto's ``SQSResponse._get_queue_name`` reads a QueueUrl."""
    if queue_url.startswith(("http://", "https://")):
        return queue_url.split("/")[-1]
    return queue_url


class SqsLane:
    """WSGI middleware: ReceiveMessage and DeleteMessageBatch (JSON protocol) answered
    from moto's SQS backend; every other request goes to ``app``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        from moto import settings
        from moto.iam.models import mark_account_as_visited
        from moto.sqs.models import sqs_backends
        from moto.utilities.aws_headers import gen_amzn_requestid_long
        from werkzeug.datastructures import EnvironHeaders

        self.app = app
        self._caller = _caller_class()
        self._headers = EnvironHeaders
        self._settings = settings
        self._backends = sqs_backends
        self._request_id = gen_amzn_requestid_long
        self._visited = mark_account_as_visited
        self._calls = {RECEIVE: self._receive, DELETE_BATCH: self._delete_batch}
        self._lock = threading.Lock()
        self.answered = 0
        """Requests this lane answered itself (the others went to moto)."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        call = self._calls.get(environ.get("HTTP_X_AMZ_TARGET", ""))
        length = environ.get("CONTENT_LENGTH") or ""
        if (call is None or environ.get("REQUEST_METHOD") != "POST" or not length.isdigit()
                or not environ.get("CONTENT_TYPE", "").startswith(JSON_PROTOCOL)
                or not math.isinf(self._settings.INITIAL_NO_AUTH_ACTION_COUNT)):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = io.BytesIO(body)  # for moto, when the lane passes it on
        try:
            params = json.loads(body)
        except (ValueError, RecursionError):  # not JSON (or nested past the parser): moto's
            params = None
        answer = call(environ, params) if isinstance(params, dict) else None
        if answer is None:
            return self.app(environ, start_response)
        with self._lock:
            self.answered += 1
        result, render = answer
        payload = render() if render is not None else json.dumps(result).encode()
        headers = {"server": "amazon.com", "Content-Type": JSON_PROTOCOL, "status": "200"}
        self._request_id(headers)
        headers["Content-Length"] = str(len(payload))
        headers["Access-Control-Allow-Origin"] = "*"
        start_response("200 OK", list(headers.items()))
        return [payload]

    def _queue(self, environ: dict[str, Any], queue_url: Any) -> tuple[Any, str] | None:
        """(moto's SQS backend for this caller, the queue's name) when the queue exists."""
        if not isinstance(queue_url, str) or not queue_url:
            return None
        caller = self._caller(self._headers(environ))
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        path = environ.get("RAW_URI") or environ.get("PATH_INFO", "/")
        try:
            region = caller.region(f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}")
            account = caller.account()
            backend = self._backends[account][region]
        except Exception:  # noqa: BLE001 - a caller moto cannot place: moto's own answer
            return None
        name = _queue_name(queue_url)
        if name not in backend.queues:
            return None  # moto answers QueueDoesNotExist
        self._visited(account_id=account, access_key=caller.get_access_key(), service="sqs",
                      region=region)
        return backend, name

    def _receive(self, environ: dict[str, Any], params: dict[str, Any]) -> Answer | None:
        if not params.keys() <= RECEIVE_PARAMS:
            return None
        system = _names(params.get("AttributeNames", []))
        more = _names(params.get("MessageSystemAttributeNames", []))
        wanted = _names(params.get("MessageAttributeNames", []))
        count = params.get("MaxNumberOfMessages", 1)
        if system is None or more is None or wanted is None or not _is_int(count) \
                or not 1 <= count <= 10:
            return None
        found = self._queue(environ, params.get("QueueUrl"))
        if found is None:
            return None
        backend, name = found
        queue = backend.queues[name]
        wait = params.get("WaitTimeSeconds", int(queue.receive_message_wait_time_seconds))
        visibility = params.get("VisibilityTimeout", queue.visibility_timeout)
        if not _is_int(wait) or not 0 <= wait <= 20 or not _is_int(visibility) \
                or not 0 <= visibility <= MAX_VISIBILITY_TIMEOUT:
            return None
        names = set(system) | set(more)
        include = [a for a in SYSTEM_ATTRIBUTES if "All" in names or a in names]
        messages = backend.receive_message(name, count, wait, visibility, wanted)
        rendered = [self._message(m, include) for m in messages]
        result = {"Messages": rendered} if rendered else {}
        if any("MessageAttributes" in m for m in rendered):
            return result, lambda: _moto_render("ReceiveMessage", result)
        return result, None

    @staticmethod
    def _message(message: Any, include: list[str]) -> dict[str, Any]:
        """One received message, as moto's ``SQSResponse.receive_message`` describes it."""
        out: dict[str, Any] = {"MessageId": message.id, "ReceiptHandle": message.receipt_handle,
                               "MD5OfBody": message.body_md5, "Body": message.body}
        attributes: dict[str, str] = {}
        for name in include:
            value = _system_attribute(message, name)
            if value is not None:
                attributes[name] = value
        if include:
            out["Attributes"] = attributes
        if len(message.message_attributes):
            out["MD5OfMessageAttributes"] = message.attribute_md5
            out["MessageAttributes"] = message.message_attributes
        return out

    def _delete_batch(self, environ: dict[str, Any], params: dict[str, Any]) -> Answer | None:
        entries = params.get("Entries")
        if not params.keys() <= {"QueueUrl", "Entries"} or not isinstance(entries, list) \
                or not 1 <= len(entries) <= 10:
            return None
        for entry in entries:
            if not isinstance(entry, dict) or entry.keys() != {"Id", "ReceiptHandle"} \
                    or not all(isinstance(v, str) for v in entry.values()):
                return None
        if len({e["ReceiptHandle"] for e in entries}) != len(entries):
            return None  # moto answers BatchEntryIdsNotDistinct
        found = self._queue(environ, params.get("QueueUrl"))
        if found is None:
            return None
        backend, name = found
        done, failed = backend.delete_message_batch(name, entries)
        return {"Successful": [{"Id": ident} for ident in done], "Failed": failed}, None


def _system_attribute(message: Any, name: str) -> str | None:
    """A system attribute's value as moto's ReceiveMessage gives it (None: left out)."""
    if name == "SenderId":
        return message.sender_id
    if name == "SentTimestamp":
        return str(message.sent_timestamp)
    if name == "ApproximateReceiveCount":
        return str(message.approximate_receive_count)
    if name == "ApproximateFirstReceiveTimestamp":
        return str(message.approximate_first_receive_timestamp)
    if name == "MessageDeduplicationId":
        return message.deduplication_id
    if name == "MessageGroupId":
        return message.group_id
    if name == "AWSTraceHeader":
        header = (message.system_attributes or {}).get("AWSTraceHeader")
        return header.get("StringValue") if header else None
    return message.sequence_number  # SequenceNumber


def _moto_render(operation: str, result: dict[str, Any]) -> bytes:
    """``result`` rendered by moto's own serializer for SQS's JSON protocol."""
    from moto import settings
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model("sqs")
    serializer = get_serializer_class("sqs", "json")(
        operation_model=model.operation_model(operation), pretty_print=settings.PRETTIFY_RESPONSES,
        value_picker=XFormedAttributePicker(response_transformers=None))
    body = serializer.serialize(result)["body"]
    return body.encode() if isinstance(body, str) else body
