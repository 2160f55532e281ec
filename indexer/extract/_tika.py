"""A small client of Tika server's REST API: ``PUT /rmeta/text`` with a streamed body.

Why not the ``tika`` package: it reads settings and writes a log file when
imported, reads the whole payload into memory, may download a jar by itself, and
cannot set a read timeout per request. Here a file is streamed from disk with its
Content-Length, the answer is read up to a bound, and urllib3 (already installed
with botocore) sets the timeouts.

Answers mapped here, once:

- connection refused, reset or dropped before an answer, HTTP 502/503/504
  -> :class:`TikaUnavailable` (transient: Tika is down or restarting its worker);
- no answer within the read timeout -> :class:`TikaTimeout` (permanent for that file);
- other HTTP errors -> :class:`TikaRefused` with the status (422 is Tika's
  "unprocessable": an encrypted or corrupt file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Any

import urllib3
from urllib3.exceptions import (
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from indexer.extract._model import TransientExtractionError
from indexer.extract._ocr import image_types_of

DEFAULT_TIKA_URL = "http://127.0.0.1:19998"
ANSWER_OVERHEAD = 8 * 2**20
"""Bytes of an answer allowed beyond the text itself (metadata of embedded documents)."""


class TikaUnavailable(TransientExtractionError):
    """Tika cannot be reached, or dropped the connection: retry the object later."""


class TikaTimeout(Exception):
    """Tika did not answer within the client's timeout."""


class TikaRefused(Exception):
    """Tika answered with an HTTP error.

    Attributes:
        status: the HTTP status.
        body: the first KB of the answer.
    """

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"Tika answered HTTP {status}: {body[:200]}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class OcrRequest:
    """How one parse runs OCR: tesseract's timeout per image or page, and its languages."""

    seconds: int
    languages: str = "eng"

    def headers(self) -> dict[str, str]:
        """Tika server's per-request settings: ``X-Tika-PDF<Setter>`` configures its PDF
        parser, ``X-Tika-OCR<Setter>`` its Tesseract parser (``PDFServerConfig``,
        ``TesseractServerConfig`` in tika-server 3.x)."""
        return {"X-Tika-PDFOcrStrategy": "auto",
                "X-Tika-OCRtimeoutSeconds": str(max(1, self.seconds)),
                "X-Tika-OCRlanguage": self.languages}


class TikaClient:
    """Tika server at ``url``; one connection pool, reused across objects."""

    def __init__(self, url: str = DEFAULT_TIKA_URL, *, connect_timeout: float = 5.0,
                 max_connections: int = 16, pool: urllib3.PoolManager | None = None) -> None:
        """A client of the server at ``url`` (e.g. ``http://127.0.0.1:19998``); thread-safe.

        Args:
            connect_timeout: seconds to wait for a connection.
            max_connections: connections kept open (one per concurrent extraction).
            pool: an urllib3 pool to use (one is made otherwise).
        """
        self.url = url.rstrip("/")
        self.connect_timeout = connect_timeout
        self._pool = pool or urllib3.PoolManager(num_pools=2, maxsize=max_connections,
                                                 retries=False)

    def rmeta(self, body: IO[bytes], length: int, *, timeout: float, write_limit: int,
              filename: str | None = None, content_type: str | None = None,
              ocr: OcrRequest | None = None) -> list[dict[str, Any]]:
        """Parse ``length`` bytes of ``body`` with ``PUT /rmeta/text``.

        Args:
            body: a binary file positioned at its start (streamed, not read into memory).
            length: its size in bytes.
            timeout: seconds to wait for the answer once the body is sent.
            write_limit: characters of text Tika extracts at most, over all
                embedded documents (``X-TIKA:EXCEPTION:write_limit_reached`` when hit).
            filename: a name whose extension helps Tika's detection.
            content_type: the object's content type, as a hint.
            ocr: run Tesseract on images and on PDF pages without text (Tika's ``auto``
                PDF strategy), as asked; None skips OCR (``X-Tika-OCRskipOcr``).

        Returns:
            One metadata dict per document, the container first (text in
            ``X-TIKA:content``).

        Raises:
            TikaUnavailable: refused, reset or dropped connections, 502/503/504.
            TikaTimeout: no answer within ``timeout``.
            TikaRefused: any other HTTP error, or an answer that is not the expected JSON.
        """
        headers = {"Content-Length": str(length), "Accept": "application/json",
                   "writeLimit": str(write_limit), "throwOnWriteLimitReached": "false"}
        if ocr is None:
            headers["X-Tika-OCRskipOcr"] = "true"
        else:
            headers.update(ocr.headers())
        if filename:
            safe = filename.encode("ascii", "replace").decode("ascii").replace('"', "_")
            headers["Content-Disposition"] = f'attachment; filename="{safe[-200:]}"'
        if content_type and content_type.split(";")[0].strip() not in (
                "", "application/octet-stream", "binary/octet-stream"):
            headers["Content-Type"] = content_type
        limit = write_limit * 6 + ANSWER_OVERHEAD
        try:
            response = self._pool.request(
                "PUT", f"{self.url}/rmeta/text", body=body, headers=headers,
                timeout=urllib3.Timeout(connect=self.connect_timeout, read=timeout),
                preload_content=False, retries=False)
            try:
                data = response.read(limit + 1)
            finally:
                response.release_conn()
        except ReadTimeoutError as exc:
            raise TikaTimeout(f"no answer from Tika within {timeout:g} s") from exc
        except (NewConnectionError, ProtocolError, MaxRetryError) as exc:
            raise TikaUnavailable(f"Tika at {self.url} is unreachable: {exc}") from exc
        except HTTPError as exc:
            raise TikaUnavailable(f"Tika at {self.url} failed: {exc}") from exc
        if response.status in (502, 503, 504):
            raise TikaUnavailable(f"Tika at {self.url} answered HTTP {response.status}")
        text = data[:4096].decode("utf-8", "replace")
        if response.status != 200:
            raise TikaRefused(response.status, text)
        if len(data) > limit:
            raise TikaRefused(200, f"answer larger than {limit} bytes")
        try:
            answer = json.loads(data)
        except ValueError as exc:
            raise TikaRefused(200, f"answer is not JSON: {exc}") from exc
        if not isinstance(answer, list) or not all(isinstance(d, dict) for d in answer):
            raise TikaRefused(200, "answer is not a list of metadata objects")
        return answer

    def healthy(self, timeout: float = 5.0) -> bool:
        """Whether Tika parses a tiny text within ``timeout`` seconds right now.

        Goes through the same parsing path as :meth:`rmeta` (a status page can answer
        while every parser thread hangs). Never raises.
        """
        try:
            response = self._pool.request(
                "PUT", f"{self.url}/tika", body=b"t4 health check",
                headers={"Content-Type": "text/plain", "Accept": "text/plain",
                         "X-Tika-OCRskipOcr": "true"},
                timeout=urllib3.Timeout(connect=min(self.connect_timeout, timeout),
                                        read=timeout), retries=False)
        except HTTPError:
            return False
        return response.status == 200

    def ocr_types(self, timeout: float = 5.0) -> frozenset[str] | None:
        """The image types the server's Tesseract parser reads (``GET /parsers/details``):
        empty when tesseract is not on the server's PATH, None when the server cannot be
        asked right now. Never raises."""
        try:
            response = self._pool.request(
                "GET", f"{self.url}/parsers/details", headers={"Accept": "application/json"},
                timeout=urllib3.Timeout(connect=min(self.connect_timeout, timeout),
                                        read=timeout), retries=False)
            if response.status != 200:
                return None
            answer = json.loads(response.data)
        except (HTTPError, ValueError):
            return None
        return image_types_of(answer) if isinstance(answer, dict) else None

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.clear()
