"""``t4.config``: where search requests go, persisted in the user's config folder.

Settings live in ``$T4_CONFIG_DIR/config.json`` (default ``$XDG_CONFIG_HOME/t4`` or
``~/.config/t4``), written owner-only because it may hold an API key or password.
Environment variables override the file, one per setting (``ENV_VARS``). S3 itself
is not configured here: boto3's own session, profile, region and ``endpoint_url``
rules apply.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from t4._errors import T4Error

ENV_VARS = {
    "search_api_url": "T4_SEARCH_API_URL",
    "es_url": "T4_ES_URL",
    "es_cloud_id": "T4_ES_CLOUD_ID",
    "es_api_key": "T4_ES_API_KEY",
    "es_username": "T4_ES_USERNAME",
    "es_password": "T4_ES_PASSWORD",
    "es_ca_certs": "T4_ES_CA_CERTS",
    "es_engine": "T4_ES_ENGINE",
    "es_sigv4_region": "T4_ES_SIGV4_REGION",
}
SECRETS = ("es_api_key", "es_password")


class ConfigError(T4Error, ValueError):
    """A ``t4.config`` setting is unknown or malformed."""


def config_path() -> Path:
    """The file ``t4.config`` writes."""
    base = os.environ.get("T4_CONFIG_DIR")
    if base:
        return Path(base) / "config.json"
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "t4" / "config.json"


def _read_file() -> dict[str, Any]:
    path = config_path()
    if not path.is_file():
        return {}
    try:
        value = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); fix or delete it") from exc
    return value if isinstance(value, dict) else {}


def load() -> dict[str, str]:
    """The effective settings: the config file, then environment variables on top."""
    settings = {k: v for k, v in _read_file().items() if k in ENV_VARS and v}
    for name, var in ENV_VARS.items():
        if os.environ.get(var):
            settings[name] = os.environ[var]
    return settings


def config(*, search_api_url: str | None = None, es_url: str | None = None,
           es_cloud_id: str | None = None, es_api_key: str | None = None,
           es_username: str | None = None, es_password: str | None = None,
           es_ca_certs: str | None = None, es_engine: str | None = None,
           es_sigv4_region: str | None = None, reset: bool = False) -> dict[str, str]:
    """Point ``Bucket.search`` at a catalog and remember it for later sessions.

    Either the deployed search API (``search_api_url``: requests are signed with
    your AWS credentials) or Elasticsearch directly (``es_url``, one URL or several
    nodes' comma-separated, or ``es_cloud_id``,
    with ``es_api_key`` or ``es_username``/``es_password``, and ``es_ca_certs``; for
    OpenSearch, ``es_engine="opensearch"`` or the default ``"auto"``, and
    ``es_sigv4_region`` to sign with your AWS credentials, as Amazon OpenSearch
    Service domains expect).
    Setting one route clears the other. ``reset=True`` forgets everything first.
    With no arguments, nothing changes.

    Returns:
        The effective settings (file plus environment), secrets masked.
    Raises:
        ConfigError: a URL is not http(s), or both routes are given at once.
    """
    given = {k: v for k, v in dict(
        search_api_url=search_api_url, es_url=es_url, es_cloud_id=es_cloud_id,
        es_api_key=es_api_key, es_username=es_username, es_password=es_password,
        es_ca_certs=es_ca_certs, es_engine=es_engine,
        es_sigv4_region=es_sigv4_region).items() if v is not None}
    for name in ("search_api_url", "es_url"):
        if name in given and not str(given[name]).startswith(("http://", "https://")):
            raise ConfigError(f"{name} must start with http:// or https://, got {given[name]!r}")
    if "es_url" in given:
        from t4index.engine import EngineConfig

        try:  # the one reading of a node list (``http://a:9200,http://b:9200``)
            EngineConfig(url=str(given["es_url"]))
        except ValueError as exc:
            raise ConfigError(f"es_url: {exc}") from exc
    direct = {"es_url", "es_cloud_id"} & given.keys()
    if "search_api_url" in given and direct:
        raise ConfigError("give either search_api_url (the search API) or es_url/es_cloud_id "
                          "(Elasticsearch directly), not both")
    current = {} if reset else _read_file()
    if "search_api_url" in given:
        current = {}
    elif direct:
        current.pop("search_api_url", None)
    current.update(given)
    if given or reset:
        path = config_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(current, fh, indent=2)
        os.chmod(path, 0o600)
    return {k: ("***" if k in SECRETS else v) for k, v in load().items()}
