"""Wiring: settings -> clients -> the pipeline. Called once per Lambda container or process."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3

from indexer import budget
from indexer.errors import ConfigurationError, TransientError
from indexer.extract import (
    EXTRACTOR_VERSION,
    ExtractLimits,
    Extractor,
    OcrSwitch,
    TikaClient,
    TransientExtractionError,
    warm_up_language,
)
from indexer.pipeline import Pipeline
from indexer.settings import Settings
from indexer.source import ObjectGone, S3ObjectSource, helium_format
from indexer.state import ObjectState
from t4index.engine import EngineConfig, connect
from t4index.retry import aws_client, s3_client_config

log = logging.getLogger("t4.indexer")


def engine_config(settings: Settings, secrets: Any = None) -> EngineConfig:
    """The cluster's address and credentials: from the settings, or a Secrets Manager secret.

    The secret is a JSON object with ``url`` and ``username``/``password`` or ``api_key``.

    Raises:
        ConfigurationError: the secret cannot be read or lacks a URL.
    """
    common = {"ca_certs": settings.es_ca_certs, "request_timeout": settings.es_timeout,
              "engine": settings.es_engine, "sigv4_region": settings.es_sigv4_region}
    if not settings.es_secret_arn:
        return EngineConfig(url=settings.es_url, username=settings.es_username,
                            password=settings.es_password, api_key=settings.es_api_key,
                            **common)
    client = secrets or boto3.client("secretsmanager")
    try:
        value = json.loads(client.get_secret_value(SecretId=settings.es_secret_arn)["SecretString"])
    except Exception as exc:
        raise ConfigurationError(
            f"cannot read the Elasticsearch secret {settings.es_secret_arn}: {exc}") from exc
    url = value.get("url") or settings.es_url
    if not url:
        raise ConfigurationError(f"secret {settings.es_secret_arn} has no 'url'")
    try:
        return EngineConfig(url=url, username=value.get("username"),
                            password=value.get("password"), api_key=value.get("api_key"),
                            **common)
    except ValueError as exc:
        raise ConfigurationError(f"secret {settings.es_secret_arn}: {exc}") from exc


def make_extract(s3: Any, extractor: Extractor):
    """The pipeline's ``extract(state)``: a ranged-read source over the HEAD's facts."""

    def extract(state: ObjectState, head: bytes | None = None):
        source = S3ObjectSource(
            s3, state.bucket, state.key, state.version_id, size=state.size or 0,
            content_type=state.content_type, helium_format=helium_format(state.metadata),
            etag=state.etag, storage_class=state.storage_class)
        try:
            return extractor.extract(source, head, time_budget=budget.seconds_left())
        except (TransientExtractionError, ObjectGone) as exc:
            # Gone or changed since the HEAD: a later event (or the retry) sees the new state.
            raise TransientError(str(exc)) from exc

    return extract


def build_pipeline(settings: Settings, *, es: Any = None, s3: Any = None) -> Pipeline:
    """The pipeline for ``settings``; ``es``/``s3`` may be injected (tests, backfill)."""
    es = es or connect(engine_config(settings), max_retries=2, retry_on_timeout=True)
    # One invocation reads with ``threads`` threads at most; the pool is sized for a few
    # invocations sharing this client (the local worker runs several pollers per process),
    # so that no connection is opened for one request and thrown away.
    # botocore's retries are off: every S3 read goes through t4index.retry, the only layer.
    s3 = s3 or aws_client("s3", config=s3_client_config(
        max_pool_connections=max(32, settings.threads * 4)))
    limits = ExtractLimits(max_bytes=settings.max_bytes, max_chars=settings.max_chars,
                           tika_timeout=settings.tika_timeout,
                           max_decompressed=settings.max_decompressed,
                           ocr_max_pages=settings.ocr_max_pages,
                           ocr_max_bytes=settings.ocr_max_bytes,
                           ocr_timeout=settings.ocr_timeout)
    tika = TikaClient(settings.tika_url) if settings.tika_url else None
    if settings.languages:
        warm_up_language()  # the detector's model loads while the first objects are read
    ocr = None
    if tika is not None:
        ocr = OcrSwitch(settings.ocr, tika.ocr_types, languages=settings.ocr_languages)
        log.info("%s (Tika at %s)", ocr.describe(), tika.url)
    extractor = Extractor(tika, limits, languages=settings.languages, ocr=ocr)
    return Pipeline(es, s3, make_extract(s3, extractor),
                    extractor_version=EXTRACTOR_VERSION, threads=settings.threads,
                    safety_margin_ms=settings.safety_margin_ms,
                    all_versions=settings.all_versions, layout=settings.layout)
