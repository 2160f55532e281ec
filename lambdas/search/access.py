"""Who is calling, and which buckets they may search: the caller-to-bucket map.

The map comes from the deployment (``T4_SEARCH_ACCESS``), a JSON object::

    {"arn:aws:iam::111122223333:user/alice": ["data-a", "logs-*"],
     "arn:aws:iam::111122223333:role/analyst": ["data-*"],
     "444455556666": ["shared"],
     "*": ["public-demo"]}

Matching rules (default deny):

- A caller matches the entries keyed by its exact ``userArn``; for an assumed-role
  session (``arn:aws:sts::ACCT:assumed-role/ROLE/SESSION``) also the role's ARN
  (``arn:aws:iam::ACCT:role/ROLE``, any path) ; the entry keyed by its 12-digit
  account id; and the entry ``"*"`` (any caller API Gateway authenticated).
- The caller may search the union of the buckets of every entry it matches.
- A bucket entry is an exact bucket name, or a pattern whose ``*`` matches any run
  of characters (``"logs-*"``); nothing else is special. A lone ``"*"`` allows all.
- A caller that matches no entry, or a request without IAM identity, may search nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.search.errors import ConfigurationError, Forbidden

_ACCOUNT = re.compile(r"\d{12}")
_ASSUMED_ROLE = re.compile(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+")
_ARN_ACCOUNT = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+::(\d{12}):.+")


@dataclass(frozen=True)
class Caller:
    """The IAM identity API Gateway authenticated (``requestContext.authorizer.iam``)."""

    arn: str
    account_id: str
    caller_id: str
    access_key: str

    @property
    def principal(self) -> str:
        """The identity a cursor is bound to: the ARN, else the caller id."""
        return self.arn or self.caller_id

    def access_keys(self) -> list[str]:
        """The access-map keys this caller matches, most specific first."""
        keys = [self.arn] if self.arn else []
        role = _ASSUMED_ROLE.fullmatch(self.arn)
        if role:
            partition, account, name = role.groups()
            keys.append(f"arn:{partition}:iam::{account}:role/{name}")
        account = self.account_id
        if not account:
            found = _ARN_ACCOUNT.fullmatch(self.arn)
            account = found.group(1) if found else ""
        if account:
            keys.append(account)
        keys.append("*")
        return keys


def caller_from_context(request_context: Mapping[str, Any]) -> Caller:
    """The caller of an HTTP API (payload 2.0) request with IAM authorization.

    Returns:
        The ``Caller``.
    Raises:
        Forbidden: the request carries no IAM identity (the route is not IAM-authorized).
    """
    iam = ((request_context.get("authorizer") or {}).get("iam")) or {}
    caller = Caller(arn=str(iam.get("userArn") or ""), account_id=str(iam.get("accountId") or ""),
                    caller_id=str(iam.get("callerId") or ""),
                    access_key=str(iam.get("accessKey") or ""))
    if not caller.principal:
        raise Forbidden("the request carries no IAM identity; sign it with SigV4 "
                        "(the API must use IAM authorization)")
    return caller


def _pattern(entry: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in entry.split("*")))


@dataclass(frozen=True)
class AccessPolicy:
    """The caller-to-bucket map; see the module docstring for the rules."""

    entries: Mapping[str, tuple[str, ...]]

    @classmethod
    def from_json(cls, text: str | None) -> AccessPolicy:
        """Parse ``T4_SEARCH_ACCESS``; empty or None means nobody may search.

        Returns:
            The policy.
        Raises:
            ConfigurationError: not a JSON object of string lists.
        """
        if not text or not text.strip():
            return cls({})
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ConfigurationError(f"T4_SEARCH_ACCESS is not JSON: {exc}") from exc
        return cls.from_mapping(raw)

    @classmethod
    def from_mapping(cls, raw: Any) -> AccessPolicy:
        """Check and freeze a ``{caller: [bucket or pattern, ...]}`` mapping.

        Returns:
            The policy.
        Raises:
            ConfigurationError: not a mapping of non-empty strings to lists of them.
        """
        if not isinstance(raw, Mapping):
            raise ConfigurationError("T4_SEARCH_ACCESS must be a JSON object "
                                     '{"<caller arn|account id|*>": ["bucket", ...]}')
        entries: dict[str, tuple[str, ...]] = {}
        for who, buckets in raw.items():
            if not isinstance(who, str) or not who or isinstance(buckets, str) or not (
                isinstance(buckets, list) and all(isinstance(b, str) and b for b in buckets)
            ):
                raise ConfigurationError(f"T4_SEARCH_ACCESS entry {who!r} must map to a list "
                                         f"of bucket names or patterns, got {buckets!r}")
            if who != "*" and not (_ACCOUNT.fullmatch(who) or who.startswith("arn:")):
                raise ConfigurationError(f"T4_SEARCH_ACCESS key {who!r} is not an ARN, "
                                         "a 12-digit account id or '*'")
            entries[who] = tuple(buckets)
        return cls(entries)

    def patterns_for(self, caller: Caller) -> list[str]:
        """Every bucket entry the caller matches (union over its keys)."""
        out: list[str] = []
        for key in caller.access_keys():
            out.extend(self.entries.get(key, ()))
        return out

    def allows(self, caller: Caller, bucket: str) -> bool:
        """Whether ``caller`` may search ``bucket``."""
        return any(_pattern(p).fullmatch(bucket) for p in self.patterns_for(caller))

    def check(self, caller: Caller, buckets: Iterable[str]) -> None:
        """Refuse unless ``caller`` may search every one of ``buckets``.

        Raises:
            Forbidden: names the buckets refused (never the ones allowed).
        """
        refused = [b for b in buckets if not self.allows(caller, b)]
        if refused:
            raise Forbidden(f"{caller.principal} may not search bucket(s) "
                            f"{', '.join(sorted(refused))}")
