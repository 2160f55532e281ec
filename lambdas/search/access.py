"""Who is calling, and which buckets they may search: the caller-to-bucket map.

The map comes from the deployment (``T4_SEARCH_ACCESS``), a JSON object::

    {"arn:aws:iam::111122223333:user/alice": ["data-a", "logs-*"],
     "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Analyst_0a1b":
         ["data-*"],
     "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0a1b/jo@example.com": ["audit"],
     "111122223333": ["shared"],
     "*": ["public-demo"]}

Keys, and the callers they match (API Gateway reports a caller's ``userArn``):

- an IAM user ARN, with or without its path: that user (``arn:aws:iam::A:user/[path/]name``);
- an IAM role ARN, with or without its path: every session of that role. Sessions
  arrive as ``arn:aws:sts::A:assumed-role/NAME/SESSION``, without the role's path, so
  the match is on account and role name (unique in an account). IAM Identity Center
  roles live under ``/aws-reserved/sso.amazonaws.com/`` and are named
  ``AWSReservedSSO_<permission set>_<id>``: copy the role's ARN from IAM as it is;
- an assumed-role session ARN: that session only (an Identity Center user's session is
  named after the user, e.g. their e-mail);
- a federated-user ARN (``arn:aws:sts::A:federated-user/name``), or an account's root
  (``arn:aws:iam::A:root``): that caller;
- a 12-digit account id: every caller of that account;
- ``"*"``: any caller API Gateway authenticated.

The caller may search the union of the buckets of every entry it matches. A bucket
entry is an exact bucket name, or a pattern whose ``*`` matches any run of characters
(``"logs-*"``); a lone ``"*"`` allows all. A caller that matches no entry, or a request
without IAM identity, may search nothing.

Entries that could never match are refused when the map is loaded, with a message
naming the entry: malformed ARNs, groups or other resource types, wildcards inside an
ARN, and, when the deployment's account is known (``T4_SEARCH_ACCOUNT_ID``), any other
account's principal or id: an HTTP API with IAM authorization has no resource policy,
so another account's principals are refused by API Gateway before the map is read;
they call by assuming a role of the API's account, and that role is what to list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.search.errors import ConfigurationError, Forbidden

_ACCOUNT = re.compile(r"\d{12}")
_ARN = re.compile(r"arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(.+)")
_NAME = r"[\w+=,.@-]+"
_RESOURCES = (
    # (service, pattern of the resource part, kind of principal)
    ("iam", re.compile(rf"user/(?:{_NAME}/)*({_NAME})"), "user"),
    ("iam", re.compile(rf"role/(?:{_NAME}/)*({_NAME})"), "role"),
    ("iam", re.compile(r"(root)"), "root"),
    ("sts", re.compile(rf"assumed-role/({_NAME}/{_NAME})"), "session"),
    ("sts", re.compile(rf"federated-user/({_NAME})"), "federated"),
)


@dataclass(frozen=True)
class Principal:
    """One identity a map key names or a caller has, in the form both are compared in.

    ``kind`` is ``user``, ``role``, ``session``, ``federated``, ``root``, ``account`` or
    ``any``; ``name`` is the user or role name (no path), ``ROLE/SESSION`` for a session.
    """

    kind: str
    partition: str = ""
    account: str = ""
    name: str = ""


def parse_principal(arn: str) -> Principal | None:
    """The principal an IAM or STS ARN names, or None when it names no caller."""
    found = _ARN.fullmatch(arn)
    if not found:
        return None
    partition, service, account, resource = found.groups()
    for svc, pattern, kind in _RESOURCES:
        matched = pattern.fullmatch(resource) if svc == service else None
        if matched:
            return Principal(kind, partition, account, matched.group(1))
    return None


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

    def principals(self) -> list[Principal]:
        """Every identity of the map this caller matches, most specific first."""
        out: list[Principal] = []
        own = parse_principal(self.arn) if self.arn else None
        if own is not None:
            out.append(own)
            if own.kind == "session":
                out.append(Principal("role", own.partition, own.account,
                                     own.name.split("/", 1)[0]))
        account = self.account_id or (own.account if own else "")
        if account:
            out.append(Principal("account", account=account))
        out.append(Principal("any"))
        return out


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


def _key_principal(key: str, account_id: str | None) -> Principal:
    """The principal a map key names.

    Raises:
        ConfigurationError: the key could never match a caller; the message names it.
    """
    if key == "*":
        return Principal("any")
    if _ACCOUNT.fullmatch(key):
        found = Principal("account", account=key)
    elif key.startswith("arn:"):
        if "*" in key or "?" in key:
            raise ConfigurationError(f"T4_SEARCH_ACCESS key {key!r}: wildcards inside an ARN "
                                     "are not supported; use the account id or '*'")
        parsed = parse_principal(key)
        if parsed is None:
            raise ConfigurationError(
                f"T4_SEARCH_ACCESS key {key!r} names no caller: use an IAM user or role ARN "
                "(with or without its path), an assumed-role session ARN "
                "(arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION), a federated user, an "
                "account's root, a 12-digit account id or '*'")
        found = parsed
    else:
        raise ConfigurationError(f"T4_SEARCH_ACCESS key {key!r} is not an ARN, "
                                 "a 12-digit account id or '*'")
    if account_id and found.account != account_id:
        raise ConfigurationError(
            f"T4_SEARCH_ACCESS key {key!r} is in account {found.account}, not the search API's "
            f"account {account_id}: API Gateway refuses other accounts' principals before this "
            "map is read (an HTTP API has no resource policy). Let them assume a role of "
            f"account {account_id} that may call the API, and list that role instead")
    return found


@dataclass(frozen=True)
class AccessPolicy:
    """The caller-to-bucket map; see the module docstring for the rules."""

    entries: Mapping[str, tuple[str, ...]]
    principals: Mapping[Principal, tuple[str, ...]] | None = None

    @classmethod
    def from_json(cls, text: str | None, account_id: str | None = None) -> AccessPolicy:
        """Parse ``T4_SEARCH_ACCESS``; empty or None means nobody may search.

        ``account_id`` is the search API's own account, when known: keys of other
        accounts are then refused.

        Returns:
            The policy.
        Raises:
            ConfigurationError: not a JSON object of string lists, or a key that could
                never match (the message names it).
        """
        if not text or not text.strip():
            return cls({})
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ConfigurationError(f"T4_SEARCH_ACCESS is not JSON: {exc}") from exc
        return cls.from_mapping(raw, account_id)

    @classmethod
    def from_mapping(cls, raw: Any, account_id: str | None = None) -> AccessPolicy:
        """Check and freeze a ``{caller: [bucket or pattern, ...]}`` mapping.

        Returns:
            The policy.
        Raises:
            ConfigurationError: not a mapping of non-empty strings to lists of them, or a
                key that could never match (the message names it).
        """
        if not isinstance(raw, Mapping):
            raise ConfigurationError("T4_SEARCH_ACCESS must be a JSON object "
                                     '{"<caller arn|account id|*>": ["bucket", ...]}')
        entries: dict[str, tuple[str, ...]] = {}
        principals: dict[Principal, tuple[str, ...]] = {}
        for who, buckets in raw.items():
            if not isinstance(who, str) or not who or isinstance(buckets, str) or not (
                isinstance(buckets, list) and all(isinstance(b, str) and b for b in buckets)
            ):
                raise ConfigurationError(f"T4_SEARCH_ACCESS entry {who!r} must map to a list "
                                         f"of bucket names or patterns, got {buckets!r}")
            principal = _key_principal(who, account_id)
            entries[who] = tuple(buckets)
            principals[principal] = principals.get(principal, ()) + tuple(buckets)
        return cls(entries, principals)

    def patterns_for(self, caller: Caller) -> list[str]:
        """Every bucket entry the caller matches (union over its identities)."""
        if not self.principals:
            return []
        out: list[str] = []
        for principal in caller.principals():
            out.extend(self.principals.get(principal, ()))
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
