"""What the command line says when a run cannot start or stops: one line, never a traceback.

``describe`` turns the exceptions that reach ``t4-backfill``'s ``main`` (AWS SDK
errors, engine connection errors, local file errors) into one sentence a user
can act on; :func:`check_bucket` refuses a bucket that does not exist or cannot
be reached before anything is written to the index.
"""

from __future__ import annotations

from typing import Any

from indexer.errors import IndexerError
from t4index.errors import EngineError


class BackfillError(IndexerError):
    """A run that cannot start or go on; the message says what to do."""


def check_bucket(s3: Any, bucket: str) -> None:
    """HEAD the bucket, so that a wrong name or missing access fails before any write.

    Raises:
        BackfillError: the bucket is missing, not allowed, or S3 cannot be reached.
    """
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001 - described below
        raise BackfillError(describe(exc, f"s3://{bucket}")) from exc


def describe(exc: BaseException, where: str = "") -> str:
    """One line for ``exc`` (AWS, engine or file errors); ``where`` names the object."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        ParamValidationError,
    )

    at = f" ({where})" if where else ""
    if isinstance(exc, NoCredentialsError):
        return ("no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or run with a role" + at)
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}{at}: " \
               "check the network and AWS_ENDPOINT_URL"
    if isinstance(exc, ParamValidationError):
        return f"invalid request{at}: {str(exc).splitlines()[-1].strip()}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("404", "NoSuchBucket"):
            return f"no such bucket{at}"
        if code == "NoSuchKey":
            return f"no such object{at}"
        if code in ("403", "AccessDenied", "AllAccessDisabled"):
            return f"access denied{at}: the credentials may not read it"
        if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return f"no such SQS queue{at}"
        if code in ("400", "InvalidBucketName"):
            return f"invalid bucket name or request{at} (HTTP {status})"
        return f"AWS refused the request{at}: {code or status}: {error.get('Message', '')}"
    if isinstance(exc, PermissionError | IsADirectoryError | NotADirectoryError):
        name = getattr(exc, "filename", None) or where
        return f"cannot write {name}: {exc.strerror or exc}"
    if isinstance(exc, EngineError) or type(exc).__module__.split(".")[0] in (
            "elastic_transport", "elasticsearch", "opensearchpy", "urllib3"):
        return f"the search engine cannot be reached or refused the request{at}: " \
               f"{type(exc).__name__}: {str(exc)[:300]}"
    return f"{type(exc).__name__}{at}: {str(exc)[:300]}"
