"""The search API's settings, read from the environment in one place (once per container).

=============================  =========================================================
``T4_ES_URL``                  Elasticsearch URL (or ``T4_ES_CLOUD_ID``); required unless
                               ``T4_ES_SECRET_ARN`` names a Secrets Manager secret, JSON
                               ``{"url", "username", "password"}`` or ``{"url", "api_key"}``
``T4_ES_USERNAME``/``_PASSWORD`` basic auth, or ``T4_ES_API_KEY``; ``T4_ES_CA_CERTS`` CA file
``T4_ES_ENGINE``               ``auto`` (default), ``elasticsearch`` or ``opensearch``
``T4_ES_SIGV4_REGION``         sign with the Lambda's role (Amazon OpenSearch Service)
``T4_SEARCH_ACCESS``           caller-to-bucket map, JSON (see ``access``); default deny
``T4_SEARCH_ACCOUNT_ID``       the API's own account: map keys of other accounts are refused
``T4_SEARCH_CURSOR_SECRET``    HMAC key for cursors, at least 16 characters; required unless
                               ``T4_SEARCH_CURSOR_SECRET_ARN`` names a secret holding it
``T4_SEARCH_MAX_PAGE``         page size cap, 1..1000, default 100
``T4_SEARCH_TIMEOUT``          seconds of Elasticsearch time per request, default 20 (< 29)
``T4_SEARCH_KEEP_ALIVE``       how long a cursor's point in time lives, default ``2m``
=============================  =========================================================
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas.search.access import AccessPolicy
from lambdas.search.errors import ConfigurationError
from t4index.engine import EngineConfig
from t4index.errors import T4IndexError
from t4index.query import MAX_PAGE_SIZE

DEFAULT_MAX_PAGE = 100
DEFAULT_TIMEOUT = 20.0
API_GATEWAY_TIMEOUT = 29.0
MIN_SECRET_CHARS = 16
_KEEP_ALIVE = re.compile(r"[1-9]\d{0,3}(s|m)")


@dataclass(frozen=True)
class Settings:
    """Everything the handler needs besides the request.

    Attributes:
        engine: how to reach Elasticsearch.
        access: the caller-to-bucket map.
        cursor_secret: the HMAC key of cursors.
        max_page: the largest ``page_size`` a request may ask for.
        timeout: seconds of Elasticsearch time one request may use in all.
        keep_alive: the point-in-time keep-alive between pages.
    """

    engine: EngineConfig
    access: AccessPolicy
    cursor_secret: bytes
    max_page: int = DEFAULT_MAX_PAGE
    timeout: float = DEFAULT_TIMEOUT
    keep_alive: str = "2m"

    def __post_init__(self) -> None:
        if len(self.cursor_secret) < MIN_SECRET_CHARS:
            raise ConfigurationError(f"T4_SEARCH_CURSOR_SECRET must be at least "
                                     f"{MIN_SECRET_CHARS} characters")
        if not 1 <= self.max_page <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"T4_SEARCH_MAX_PAGE must be 1..{MAX_PAGE_SIZE}, "
                                     f"got {self.max_page}")
        if not 0 < self.timeout < API_GATEWAY_TIMEOUT:
            raise ConfigurationError(f"T4_SEARCH_TIMEOUT must be above 0 and below API "
                                     f"Gateway's {API_GATEWAY_TIMEOUT:g} s, got {self.timeout}")
        if not _KEEP_ALIVE.fullmatch(self.keep_alive):
            raise ConfigurationError(f"T4_SEARCH_KEEP_ALIVE must look like '2m' or '90s', "
                                     f"got {self.keep_alive!r}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, secrets: Any = None) -> Settings:
        """Read the settings from ``env`` (default ``os.environ``).

        ``secrets`` is a Secrets Manager client, made with boto3 only when a
        ``*_SECRET_ARN`` variable needs one.

        Returns:
            The settings.
        Raises:
            ConfigurationError: a required variable is missing, a value is invalid, or a
                secret cannot be read.
        """
        env = os.environ if env is None else env
        es = {name: env.get(variable) or None for name, variable in _ENGINE_VARIABLES}
        es["engine"] = (es["engine"] or "auto").lower()
        if env.get("T4_ES_SECRET_ARN"):
            stored = _secret(env["T4_ES_SECRET_ARN"], secrets)
            try:
                found = json.loads(stored)
            except ValueError as exc:
                raise ConfigurationError("T4_ES_SECRET_ARN's secret is not JSON") from exc
            if not isinstance(found, dict):
                raise ConfigurationError("T4_ES_SECRET_ARN's secret is not a JSON object")
            es.update({k: found[k] for k in ("url", "username", "password", "api_key")
                       if found.get(k)})
        secret = env.get("T4_SEARCH_CURSOR_SECRET", "")
        if not secret and env.get("T4_SEARCH_CURSOR_SECRET_ARN"):
            secret = _secret(env["T4_SEARCH_CURSOR_SECRET_ARN"], secrets)
        if not secret:
            raise ConfigurationError("T4_SEARCH_CURSOR_SECRET (or T4_SEARCH_CURSOR_SECRET_ARN) "
                                     "is not set")
        try:
            engine = EngineConfig(**es)
        except (ValueError, T4IndexError) as exc:  # T4IndexError: a refused engine (aoss)
            raise ConfigurationError(f"T4_ES_URL and the other T4_ES_* settings: {exc}") from exc
        try:
            max_page = int(env.get("T4_SEARCH_MAX_PAGE", DEFAULT_MAX_PAGE))
            timeout = float(env.get("T4_SEARCH_TIMEOUT", DEFAULT_TIMEOUT))
        except ValueError as exc:
            raise ConfigurationError(f"T4_SEARCH_MAX_PAGE / T4_SEARCH_TIMEOUT: {exc}") from exc
        return cls(engine=engine, access=AccessPolicy.from_json(env.get("T4_SEARCH_ACCESS"),
                                                                   env.get("T4_SEARCH_ACCOUNT_ID")),
                   cursor_secret=secret.encode(), max_page=max_page, timeout=timeout,
                   keep_alive=env.get("T4_SEARCH_KEEP_ALIVE", "2m"))


_ENGINE_VARIABLES = (("url", "T4_ES_URL"), ("cloud_id", "T4_ES_CLOUD_ID"),
                     ("username", "T4_ES_USERNAME"), ("password", "T4_ES_PASSWORD"),
                     ("api_key", "T4_ES_API_KEY"), ("ca_certs", "T4_ES_CA_CERTS"),
                     ("engine", "T4_ES_ENGINE"), ("sigv4_region", "T4_ES_SIGV4_REGION"))
"""``EngineConfig`` field and the variable it is read from (spelt out: the template test
finds every variable a template sets by its name here)."""


def _secret(arn: str, client: Any = None) -> str:
    """The ``SecretString`` of ``arn``.

    Raises:
        ConfigurationError: the secret cannot be read (the message names it, not its value).
    """
    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    try:
        value = client.get_secret_value(SecretId=arn)["SecretString"]
    except Exception as exc:  # noqa: BLE001 - any failure is a deployment problem
        raise ConfigurationError(f"cannot read secret {arn}: {type(exc).__name__}") from exc
    return str(value).strip()
