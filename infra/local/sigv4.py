"""SigV4 verification as AWS does it, for the local servers that stand in for AWS front doors.

Both the local search API (API Gateway's IAM check, service ``execute-api``) and the
engine proxy in front of the local OpenSearch (an Amazon OpenSearch Service domain's
IAM check, service ``es``) verify requests here against one credentials file::

    {"AKIDALICE": {"secret": "...", "arn": "arn:aws:iam::000000000000:user/alice"}}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW_SECONDS = 15 * 60
_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/"
                   r"aws4_request,\s*SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})")
_ARN_ACCOUNT = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+::(\d{12}):.+")


class SignatureRefused(Exception):
    """The request is not signed by a known key for this API; ``str`` says why (logged only)."""


@dataclass(frozen=True)
class Principal:
    """One known access key: its secret and the IAM identity it stands for."""

    access_key: str
    secret: str
    arn: str
    caller_id: str
    token: str | None = None

    @property
    def account_id(self) -> str:
        """The 12-digit account of ``arn`` (or ``""``)."""
        found = _ARN_ACCOUNT.fullmatch(self.arn)
        return found.group(1) if found else ""


def load_credentials(path: str | Path) -> dict[str, Principal]:
    """Read a credentials file ``{"<access key id>": {"secret": ..., "arn": ...}}``.

    ``caller_id`` (the IAM unique id) and ``token`` (a session token the request must
    carry) are optional.

    Returns:
        Access key id -> ``Principal``.
    Raises:
        ValueError: the file is not such a JSON object.
    """
    raw = json.loads(Path(path).read_text())
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a JSON object of access key ids")
    out = {}
    for key, entry in raw.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("secret"), str)
                and isinstance(entry.get("arn"), str) and entry["arn"].startswith("arn:")):
            raise ValueError(f"{path}: entry {key!r} needs a 'secret' and an 'arn'")
        caller_id = entry.get("caller_id") or "AIDA" + hashlib.sha256(
            entry["arn"].encode()).hexdigest()[:17].upper()
        out[key] = Principal(key, entry["secret"], entry["arn"], caller_id, entry.get("token"))
    return out


def verify_signature(method: str, url: str, headers: Mapping[str, list[str]], body: bytes,
                     principals: Mapping[str, Principal], region: str,
                     now: datetime | None = None, *, service: str) -> Principal:
    """Check a request's SigV4 ``Authorization`` header as AWS does for ``service``
    in ``region`` (``execute-api`` for API Gateway, ``es`` for OpenSearch Service).

    ``headers`` maps lower-case names to their values (in order). The signature is
    recomputed with botocore over the signed headers, the URL and the body at the
    request's ``X-Amz-Date``, and compared in constant time.

    Returns:
        The ``Principal`` whose key signed the request.
    Raises:
        SignatureRefused: unsigned, malformed, unknown key, wrong scope, expired,
            body hash or signature mismatch.
    """
    found = _AUTH.fullmatch(" ".join((headers.get("authorization") or [""])[:1]).strip())
    if not found:
        raise SignatureRefused("missing or malformed Authorization header")
    access_key, day, scope_region, scope_service, signed, signature = found.groups()
    principal = principals.get(access_key)
    if principal is None:
        raise SignatureRefused(f"unknown access key {access_key}")
    if (scope_region, scope_service) != (region, service):
        raise SignatureRefused(f"credential scope {scope_region}/{scope_service} is not "
                               f"{region}/{service}")
    amz_date = (headers.get("x-amz-date") or [""])[0]
    try:
        when = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise SignatureRefused("missing or malformed X-Amz-Date") from exc
    if amz_date[:8] != day:
        raise SignatureRefused("credential scope date differs from X-Amz-Date")
    if abs(((now or datetime.now(UTC)) - when).total_seconds()) > MAX_SKEW_SECONDS:
        raise SignatureRefused("signature expired (more than 15 minutes of clock skew)")
    names = signed.split(";")
    if "host" not in names or "x-amz-date" not in names:
        raise SignatureRefused("host and x-amz-date must be signed")
    token = (headers.get("x-amz-security-token") or [None])[0]
    if token != principal.token or (token and "x-amz-security-token" not in names):
        raise SignatureRefused("security token missing, unsigned or not this key's")
    claimed = (headers.get("x-amz-content-sha256") or [None])[0]
    if claimed is not None and not hmac.compare_digest(claimed, hashlib.sha256(body).hexdigest()):
        raise SignatureRefused("X-Amz-Content-SHA256 does not match the body")
    request = AWSRequest(method=method, url=url, data=body)
    for name in names:
        if name not in headers:
            raise SignatureRefused(f"signed header {name} is missing")
        for value in headers[name]:
            request.headers[name] = value  # HTTPHeaders appends repeated names
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key, principal.secret, principal.token), service, region)
    canonical = signer.canonical_request(request)
    if signer.signed_headers(signer.headers_to_sign(request)) != signed:
        raise SignatureRefused("signed headers cannot be reproduced")
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        raise SignatureRefused("signature does not match")
    return principal


class BodyTooLarge(Exception):
    """A request body over the server's limit (answer 413 and close the connection)."""


@dataclass(frozen=True)
class SignedRequest:
    """A request read off a ``BaseHTTPRequestHandler`` whose signature was verified."""

    body: bytes
    headers: dict[str, list[str]]
    principal: Principal


def read_signed(handler: Any, principals: Mapping[str, Principal], region: str, service: str,
                max_body: int) -> SignedRequest:
    """Read the request ``handler`` is serving and verify its SigV4 signature.

    Raises:
        BodyTooLarge: the declared body is over ``max_body`` bytes (nothing read).
        SignatureRefused: the signature does not verify (the message says why).
    """
    length = int(handler.headers.get("Content-Length") or 0)
    if length > max_body:
        raise BodyTooLarge(f"{length} bytes is over {max_body}")
    body = handler.rfile.read(length) if length else b""
    headers: dict[str, list[str]] = {}
    for name, value in handler.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    host = (headers.get("host") or [""])[0]
    principal = verify_signature(handler.command, f"http://{host}{handler.path}", headers, body,
                                 principals, region, service=service)
    return SignedRequest(body, headers, principal)
