"""The indexer's configuration: read from the environment in one place, ``Settings.from_env()``."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from indexer.errors import ConfigurationError
from indexer.extract import parse_ocr_mode as parse_mode
from t4index.mapping import DEFAULT_LAYOUT, IndexLayout


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "on", "yes"):
        return True
    if raw in ("0", "false", "off", "no"):
        return False
    raise ConfigurationError(f"{name}={raw!r} must be true or false")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigurationError(f"{name}={raw!r} must be positive")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the indexing core needs to know; see the README's settings table."""

    es_url: str | None
    es_username: str | None = None
    es_password: str | None = None
    es_api_key: str | None = None
    es_ca_certs: str | None = None
    es_secret_arn: str | None = None
    es_engine: str = "auto"
    es_sigv4_region: str | None = None
    tika_url: str | None = None
    max_bytes: int = 100 * 2**20
    max_chars: int = 500_000
    tika_timeout: float = 60.0
    max_decompressed: int = 50 * 2**20
    threads: int = 8
    safety_margin_ms: int = 10_000
    es_timeout: float = 30.0
    all_versions: bool = False
    retry_base_s: int = 30
    retry_max_s: int = 900
    languages: bool = True  # T4_DETECT_LANGUAGE=false turns detection off (docs/extraction.md)
    ocr: str = "auto"  # auto | on | off (docs/extraction.md#ocr)
    ocr_max_pages: int = 10
    ocr_max_bytes: int = 20 * 2**20
    ocr_timeout: float | None = None  # None: tika_timeout
    ocr_languages: str = "eng"
    layout: IndexLayout = DEFAULT_LAYOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``T4_*`` variables.

        Raises:
            ConfigurationError: no Elasticsearch is named, or a value is malformed.
        """
        env = os.environ if env is None else env
        url = env.get("T4_ES_URL") or None
        secret = env.get("T4_ES_SECRET_ARN") or None
        if not url and not secret:
            raise ConfigurationError(
                "set T4_ES_URL (with T4_ES_USERNAME/T4_ES_PASSWORD or T4_ES_API_KEY), or "
                "T4_ES_SECRET_ARN naming a Secrets Manager secret that holds them")
        if url and not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"T4_ES_URL={url!r} must start with http:// or https://")
        if url:
            from t4index.engine import EngineConfig

            try:  # the one reading of a node list (``http://a:9200,http://b:9200``)
                EngineConfig(url=url)
            except ValueError as exc:
                raise ConfigurationError(f"T4_ES_URL={url!r}: {exc}") from exc
        mode = (env.get("T4_INDEX_VERSIONS") or "latest").strip().lower()
        if mode not in ("latest", "all"):
            raise ConfigurationError(f"T4_INDEX_VERSIONS={mode!r} must be 'latest' (one document "
                                     "per key, its current state) or 'all' (every version)")
        try:
            layout = IndexLayout(
                shards=_int(env, "T4_INDEX_SHARDS", DEFAULT_LAYOUT.shards, 1),
                replicas=(env.get("T4_INDEX_REPLICAS") or DEFAULT_LAYOUT.replicas).strip())
        except ValueError as exc:
            raise ConfigurationError(f"T4_INDEX_SHARDS / T4_INDEX_REPLICAS: {exc}") from None
        try:
            ocr = parse_mode(env.get("T4_OCR"))
        except ValueError as exc:
            raise ConfigurationError(f"T4_OCR: {exc}") from None
        tika_timeout = _float(env, "T4_TIKA_TIMEOUT", cls.tika_timeout)
        ocr_timeout = _float(env, "T4_OCR_TIMEOUT", 0.0) or None
        if ocr_timeout is not None and ocr_timeout > tika_timeout:
            raise ConfigurationError(
                f"T4_OCR_TIMEOUT={ocr_timeout:g} must not exceed T4_TIKA_TIMEOUT={tika_timeout:g}"
                " (the Tika server's task timeout is sized from it)")
        languages = (env.get("T4_OCR_LANGUAGES") or cls.ocr_languages).strip()
        if not re.fullmatch(r"[A-Za-z_]+(\+[A-Za-z_]+)*", languages):
            raise ConfigurationError(f"T4_OCR_LANGUAGES={languages!r} must be tesseract "
                                     "language codes joined by '+' (eng, eng+fra)")
        if env.get("T4_ES_USERNAME") and not env.get("T4_ES_PASSWORD"):
            raise ConfigurationError("T4_ES_USERNAME is set but T4_ES_PASSWORD is not")
        return cls(
            es_url=url,
            es_username=env.get("T4_ES_USERNAME") or None,
            es_password=env.get("T4_ES_PASSWORD") or None,
            es_api_key=env.get("T4_ES_API_KEY") or None,
            es_ca_certs=env.get("T4_ES_CA_CERTS") or None,
            es_secret_arn=secret,
            es_engine=(env.get("T4_ES_ENGINE") or "auto").strip().lower(),
            es_sigv4_region=env.get("T4_ES_SIGV4_REGION") or None,
            tika_url=env.get("T4_TIKA_URL") or None,
            max_bytes=_int(env, "T4_MAX_BYTES", cls.max_bytes, 1),
            max_chars=_int(env, "T4_MAX_CHARS", cls.max_chars, 1),
            tika_timeout=tika_timeout,
            max_decompressed=_int(env, "T4_MAX_DECOMPRESSED", cls.max_decompressed, 1),
            threads=_int(env, "T4_THREADS", cls.threads, 1),
            safety_margin_ms=_int(env, "T4_SAFETY_MARGIN_MS", cls.safety_margin_ms, 0),
            es_timeout=_float(env, "T4_ES_TIMEOUT", cls.es_timeout),
            languages=_flag(env, "T4_DETECT_LANGUAGE", cls.languages),
            ocr=ocr,
            ocr_max_pages=_int(env, "T4_OCR_MAX_PAGES", cls.ocr_max_pages, 0),
            ocr_max_bytes=_int(env, "T4_OCR_MAX_BYTES", cls.ocr_max_bytes, 0),
            ocr_timeout=ocr_timeout,
            ocr_languages=languages,
            all_versions=mode == "all",
            retry_base_s=_int(env, "T4_RETRY_BASE_S", cls.retry_base_s, 0),
            retry_max_s=_int(env, "T4_RETRY_MAX_S", cls.retry_max_s, 0),
            layout=layout,
        )
