"""How programs on this machine reach the stack's services, or the ones you point them at.

Environment variables win over the local stack, so the same tests and demo run
against an existing Elasticsearch or Tika:

- ``T4_ES_URL``, ``T4_ES_USERNAME`` / ``T4_ES_PASSWORD`` or ``T4_ES_API_KEY``, ``T4_ES_CA_CERTS``,
  ``T4_ES_ENGINE`` and ``T4_ES_SIGV4_REGION`` (SigV4 with the ambient AWS credentials)

With ``T4_STACK_ENGINE=opensearch`` the stack's engine is reached through its SigV4
proxy, signed with the stack's local IAM identity (also the search API's caller).
- ``T4_TIKA_URL``
- ``AWS_ENDPOINT_URL`` (boto3's own variable) for S3, SQS and SNS
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from infra.local.cluster import node_urls
from infra.local.settings import StackSettings

if TYPE_CHECKING:
    from t4index.engine import EngineConfig


def clients_engine_url(settings: StackSettings) -> str:
    """``T4_ES_URL`` of the stack's clients (worker, search API, demo, ``./dev env``).

    OpenSearch: its SigV4 proxy, which fronts every node. Elasticsearch: every node's
    URL, comma-separated (the engine layer spreads requests over them and fails over),
    so that the stack keeps indexing and searching while any one node is stopped
    (``./dev node stop es-1`` included).
    """
    if settings.engine == "elasticsearch" and settings.es_nodes > 1:
        return ",".join(node_urls(settings))
    return settings.es_url


@dataclass(frozen=True)
class Endpoints:
    es_url: str
    es_username: str | None
    es_password: str | None
    es_api_key: str | None
    es_ca_certs: str | None
    tika_url: str
    aws_endpoint_url: str | None
    region: str
    es_engine: str = "auto"
    es_sigv4_region: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None

    @classmethod
    def resolve(cls, settings: StackSettings | None = None) -> Endpoints:
        """Endpoints from the environment, falling back to the local stack's."""
        settings = settings or StackSettings.from_env()
        env = os.environ
        username = env.get("T4_ES_USERNAME")
        password = env.get("T4_ES_PASSWORD")
        api_key = env.get("T4_ES_API_KEY")
        stack_engine = "T4_ES_URL" not in env
        sigv4 = env.get("T4_ES_SIGV4_REGION") or None
        key_id = secret = None
        if stack_engine and settings.engine == "opensearch":
            sigv4 = sigv4 or settings.region
            if settings.local_aws_credentials_file.exists():
                import json

                known = json.loads(settings.local_aws_credentials_file.read_text())
                key_id, entry = next(iter(known.items()))
                secret = entry["secret"]
        elif not (username or api_key or sigv4) and settings.credentials_file.exists():
            # the local Elasticsearch's user; never on top of SigV4 (an OpenSearch stack
            # run in a home where an Elasticsearch stack left its credentials)
            creds = settings.credentials()
            username, password = creds["username"], creds["password"]
        return cls(
            es_url=env.get("T4_ES_URL", clients_engine_url(settings)),
            es_username=username,
            es_password=password,
            es_api_key=api_key,
            es_ca_certs=env.get("T4_ES_CA_CERTS"),
            tika_url=env.get("T4_TIKA_URL", settings.tika_url),
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL", settings.moto_url),
            region=env.get("AWS_DEFAULT_REGION", settings.region),
            es_engine=env.get("T4_ES_ENGINE") or (settings.engine if stack_engine else "auto"),
            es_sigv4_region=sigv4,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
        )

    def engine_config(self, **overrides: object) -> EngineConfig:
        """The ``EngineConfig`` of these endpoints (``overrides`` replace fields)."""
        from t4index.engine import EngineConfig

        values = {"url": self.es_url, "username": self.es_username,
                  "password": self.es_password, "api_key": self.es_api_key,
                  "ca_certs": self.es_ca_certs, "engine": self.es_engine,
                  "sigv4_region": self.es_sigv4_region, **overrides}
        return EngineConfig(**values)  # type: ignore[arg-type]

    def use_local_identity(self) -> None:
        """Sign this process's AWS requests with the stack's local identity, when the
        stack's engine verifies SigV4 (OpenSearch behind its proxy)."""
        if self.aws_access_key_id and self.aws_secret_access_key:
            os.environ["AWS_ACCESS_KEY_ID"] = self.aws_access_key_id
            os.environ["AWS_SECRET_ACCESS_KEY"] = self.aws_secret_access_key

    def es_env(self) -> dict[str, str]:
        """The variables that point a child process (worker, demo) at these services."""
        out = {"T4_ES_URL": self.es_url, "T4_TIKA_URL": self.tika_url,
               "AWS_DEFAULT_REGION": self.region}
        for key, value in (
            ("T4_ES_USERNAME", self.es_username),
            ("T4_ES_PASSWORD", self.es_password),
            ("T4_ES_API_KEY", self.es_api_key),
            ("T4_ES_CA_CERTS", self.es_ca_certs),
            ("T4_ES_ENGINE", self.es_engine),
            ("T4_ES_SIGV4_REGION", self.es_sigv4_region),
            ("AWS_ACCESS_KEY_ID", self.aws_access_key_id),
            ("AWS_SECRET_ACCESS_KEY", self.aws_secret_access_key),
            ("AWS_ENDPOINT_URL", self.aws_endpoint_url),
        ):
            if value:
                out[key] = value
        return out
