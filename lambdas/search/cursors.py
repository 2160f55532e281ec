"""Signed cursors: the next page's point in time, bound to the caller, buckets and query.

A cursor handed to a caller is ``<payload>.<mac>``: both URL-safe base64 without
padding; the payload is JSON ``{"v", "pit", "after", "q", "c", "b"}`` (point-in-time
id, ``search_after`` values, query fingerprint, caller principal, sorted buckets)
and the MAC is HMAC-SHA256 of the payload under ``T4_SEARCH_CURSOR_SECRET``. The
point-in-time id names concrete indices, so an unsigned one would let a caller
read any index; the signature is checked before anything in it is believed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.search.errors import BadRequest, Forbidden
from t4index.query import Cursor

VERSION = 1
MAX_CURSOR_CHARS = 8_192


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class CursorSigner:
    """Signs and checks cursors with one secret (bytes, at least 16 of them)."""

    secret: bytes

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()

    def sign(self, cursor: Cursor, principal: str, buckets: Sequence[str]) -> str:
        """The opaque string for ``cursor``, bound to ``principal`` and ``buckets``.

        Returns:
            ``<payload>.<mac>``.
        """
        body = {"v": VERSION, "pit": cursor.pit_id, "after": cursor.search_after,
                "q": cursor.query_hash, "c": principal, "b": sorted(set(buckets))}
        payload = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verify(self, token: Any, principal: str, buckets: Sequence[str]) -> Cursor:
        """The cursor of ``token`` if it is intact and was issued to ``principal`` for ``buckets``.

        Returns:
            A ``t4index`` ``Cursor`` (its ``query_hash`` is checked by the query model).
        Raises:
            BadRequest: not a cursor, altered, or issued for other buckets.
            Forbidden: issued to another caller.
        """
        invalid = BadRequest("cursor is not valid: pass the 'cursor' of the previous "
                             "page unchanged")
        if not isinstance(token, str) or not token or len(token) > MAX_CURSOR_CHARS:
            raise invalid
        payload_part, _, mac_part = token.partition(".")
        try:
            payload, mac = _unb64(payload_part), _unb64(mac_part)
        except (binascii.Error, ValueError) as exc:
            raise invalid from exc
        if not mac or not hmac.compare_digest(mac, self._mac(payload)):
            raise invalid
        try:
            body = json.loads(payload)
            pit, after, query_hash = body["pit"], body["after"], body["q"]
            owner, owned = body["c"], body["b"]
        except (ValueError, KeyError, TypeError) as exc:
            raise invalid from exc
        if body.get("v") != VERSION:
            raise invalid
        if not hmac.compare_digest(str(owner).encode(), principal.encode()):
            raise Forbidden("cursor was issued to another caller")
        if owned != sorted(set(buckets)):
            raise BadRequest("cursor was issued for other buckets: send the same "
                             "'buckets' as the request that returned it")
        return Cursor(pit_id=pit, search_after=after, query_hash=query_hash, buckets=owned)
