"""How programs on this machine reach the stack's services, or the ones you point them at.

Environment variables win over the local stack, so the same tests and demo run
against an existing Elasticsearch or Tika:

- ``T4_ES_URL``, ``T4_ES_USERNAME`` / ``T4_ES_PASSWORD`` or ``T4_ES_API_KEY``, ``T4_ES_CA_CERTS``
- ``T4_TIKA_URL``
- ``AWS_ENDPOINT_URL`` (boto3's own variable) for S3, SQS and SNS
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from infra.local.settings import StackSettings


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

    @classmethod
    def resolve(cls, settings: StackSettings | None = None) -> Endpoints:
        """Endpoints from the environment, falling back to the local stack's."""
        settings = settings or StackSettings.from_env()
        env = os.environ
        username = env.get("T4_ES_USERNAME")
        password = env.get("T4_ES_PASSWORD")
        api_key = env.get("T4_ES_API_KEY")
        if not (username or api_key) and settings.credentials_file.exists():
            creds = settings.credentials()
            username, password = creds["username"], creds["password"]
        return cls(
            es_url=env.get("T4_ES_URL", settings.es_url),
            es_username=username,
            es_password=password,
            es_api_key=api_key,
            es_ca_certs=env.get("T4_ES_CA_CERTS"),
            tika_url=env.get("T4_TIKA_URL", settings.tika_url),
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL", settings.moto_url),
            region=env.get("AWS_DEFAULT_REGION", settings.region),
        )

    def es_env(self) -> dict[str, str]:
        """The variables that point a child process (worker, demo) at these services."""
        out = {"T4_ES_URL": self.es_url, "T4_TIKA_URL": self.tika_url,
               "AWS_DEFAULT_REGION": self.region}
        for key, value in (
            ("T4_ES_USERNAME", self.es_username),
            ("T4_ES_PASSWORD", self.es_password),
            ("T4_ES_API_KEY", self.es_api_key),
            ("T4_ES_CA_CERTS", self.es_ca_certs),
            ("AWS_ENDPOINT_URL", self.aws_endpoint_url),
        ):
            if value:
                out[key] = value
        return out
