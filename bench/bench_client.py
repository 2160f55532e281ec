"""Benchmark of t4.Bucket's folder transfers and listing against raw boto3 (docs/benchmarks.md).

One run, on the same files:

- ``put_dir`` and ``fetch`` of N small files (default 1,000 of 1 KB) against a
  raw boto3 pool (16 threads, ``put_object`` / ``get_object``) and against a
  sequential loop, first on the plain moto server, then through a small
  latency-injecting HTTP proxy on loopback that delays every request (default
  30 ms), as a stand-in for real S3's round trips. With the delay, the
  sequential loop runs on a sample of the files (``--seq-sample``) and its rate
  is compared; everything else runs on all files.
- ``keys()`` on 10,000 objects against boto3's ``list_objects_v2`` paginator.

Ours and each baseline run interleaved, ``--rounds`` rounds (at least 5), and every
ratio printed is the median of the per-round ratios with its spread (min-max):
``bench/rounds.py``.

Targets (issue 4): put_dir/fetch >= 0.9 of the raw pool; with the delay >= 5x
the sequential loop; keys() no slower than the paginator.

Usage: ./dev bench bench_client [--files N] [--delay-ms MS] [--keys N] [--seq-sample N]
It points at AWS_ENDPOINT_URL (or the local stack's moto server) and creates
its own buckets. Typical run: 3-5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

import t4  # noqa: E402
from bench.rounds import MIN_ROUNDS, Spread, interleave, paired, seconds, spread  # noqa: E402

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


# --- latency-injecting proxy -----------------------------------------------------------------


def start_delay_proxy(upstream: str, delay: float) -> tuple[ThreadingHTTPServer, str]:
    """An HTTP/1.1 keep-alive proxy on loopback that sleeps ``delay`` before each request."""
    target = urlsplit(upstream)
    local = threading.local()

    def connection() -> http.client.HTTPConnection:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection(target.hostname, target.port,
                                                           timeout=60)
            conn.connect()
            # headers and body go out in separate writes: without this, Nagle's algorithm
            # meets the server's delayed ACK and adds ~40 ms to each request
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _forward(self) -> None:
            body = self._body()
            time.sleep(delay)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body or self.command in ("PUT", "POST"):
                headers["Content-Length"] = str(len(body))
            for attempt in range(2):
                conn = connection()
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    local.conn = None
                    if attempt:
                        raise
            self.send_response(resp.status, resp.reason)
            for key, value in resp.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --- the contenders --------------------------------------------------------------------------


def raw_client(endpoint: str):
    return boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=16))


CREATED: list[tuple[str, str]] = []


def make_bucket(endpoint: str, stem: str) -> str:
    name = f"t4-bench-{stem}-{uuid.uuid4().hex[:8]}"
    raw_client(endpoint).create_bucket(Bucket=name)
    CREATED.append((endpoint, name))
    return name


def drop_buckets(endpoint: str) -> None:
    """Empty and delete the benchmark's buckets, so the shared moto server does not grow."""
    client = raw_client(endpoint)
    for _, name in CREATED:
        try:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
                objects = [{"Key": o["Key"]} for o in page.get("Contents", ())]
                if objects:
                    client.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})
            client.delete_bucket(Bucket=name)
        except Exception as exc:  # noqa: BLE001 - cleanup is best effort; say so
            print(f"note: could not remove bucket {name}: {exc}", file=sys.stderr)


def t4_bucket(endpoint: str, name: str) -> t4.Bucket:
    os.environ["AWS_ENDPOINT_URL"] = endpoint  # t4 follows boto3's own rules
    return t4.Bucket(f"s3://{name}", max_workers=16)


def pool_put(client, bucket: str, prefix: str, files: list[tuple[str, Path]]) -> None:
    def one(item: tuple[str, Path]) -> None:
        client.put_object(Bucket=bucket, Key=prefix + item[0], Body=item[1].read_bytes())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, files))


def seq_put(client, bucket: str, prefix: str, files: list[tuple[str, Path]]) -> None:
    for rel, path in files:
        client.put_object(Bucket=bucket, Key=prefix + rel, Body=path.read_bytes())


def _get_to(client, bucket: str, key: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(client.get_object(Bucket=bucket, Key=key)["Body"].read())


def pool_get(client, bucket: str, prefix: str, rels: list[str], out: Path) -> None:
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda r: _get_to(client, bucket, prefix + r, out / r), rels))


def seq_get(client, bucket: str, prefix: str, rels: list[str], out: Path) -> None:
    for rel in rels:
        _get_to(client, bucket, prefix + rel, out / rel)


# --- the runs --------------------------------------------------------------------------------


def folder_round(label: str, endpoint: str, src: Path, files: list[tuple[str, Path]],
                 seq_count: int, work: Path, rounds: int) -> dict[str, Spread | float]:
    """t4's put_dir/fetch against the raw pool on ``endpoint``: per-round ratios.

    Each round runs t4 and the pool back to back, the order rotating (the local
    server's speed drifts); the ratio of each round's pair is taken, and the median
    with its spread is reported. The sequential loop runs once (a lower bound).
    """
    name = make_bucket(endpoint, label)
    client = raw_client(endpoint)
    b = t4_bucket(endpoint, name)
    rels = [r for r, _ in files]
    seq_files = files[:seq_count]
    n = len(files)
    puts = interleave(rounds, {
        "t4": lambda r: n / seconds(lambda: b.put_dir(f"t4-{r}", src)),
        "pool": lambda r: n / seconds(lambda: pool_put(client, name, f"pool-{r}/", files)),
    })
    gets = interleave(rounds, {
        "t4": lambda r: n / seconds(lambda: b.fetch(f"t4-{r}/", work / f"{label}-t4-{r}")),
        "pool": lambda r: n / seconds(lambda: pool_get(client, name, f"pool-{r}/", rels,
                                                          work / f"{label}-pool-{r}")),
    })
    put_seq = len(seq_files) / seconds(lambda: seq_put(client, name, "seq/", seq_files))
    get_seq = len(seq_files) / seconds(lambda: seq_get(
        client, name, "seq/", [r for r, _ in seq_files], work / f"{label}-seq"))
    for rel in rels[:: max(1, n // 20)]:  # spot-check that t4 fetched the right bytes
        assert (work / f"{label}-t4-0" / rel).read_bytes() == (src / rel).read_bytes()
    return {
        "put t4": statistics.median(puts["t4"]), "put pool": statistics.median(puts["pool"]),
        "get t4": statistics.median(gets["t4"]), "get pool": statistics.median(gets["pool"]),
        "put seq": put_seq, "get seq": get_seq,
        "put ratio": paired(puts["t4"], puts["pool"]),
        "get ratio": paired(gets["t4"], gets["pool"]),
        # against one sequential run: each round's t4 rate over it
        "put vs seq": spread([rate / put_seq for rate in puts["t4"]]),
        "get vs seq": spread([rate / get_seq for rate in gets["t4"]]),
    }


def keys_round(endpoint: str, count: int, rounds: int) -> Spread:
    """``keys()`` against the paginator, interleaved: per-round speed ratios."""
    name = make_bucket(endpoint, "keys")
    client = raw_client(endpoint)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=name, Key=f"k/{i:06d}", Body=b""),
                      range(count)))
    b = t4_bucket(endpoint, name)

    def paginator() -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
        return [o["Key"] for page in pages for o in page.get("Contents", ())]

    assert b.keys() == paginator() and len(paginator()) == count
    times = interleave(rounds, {"t4": lambda r: seconds(b.keys),
                                "paginator": lambda r: seconds(paginator)})
    return paired(times["t4"], times["paginator"], higher_is_better=False)


def report(label: str, rates: dict[str, Any], seq_note: str) -> None:
    print(f"\n== {label} ==")
    for op in ("put", "get"):
        t, p, s = rates[f"{op} t4"], rates[f"{op} pool"], rates[f"{op} seq"]
        verb = "put_dir" if op == "put" else "fetch"
        print(f"  {verb:8s} t4 {t:7.0f} files/s | raw pool(16) {p:7.0f} | sequential {s:7.0f}"
              f"{seq_note} (medians)")
        print(f"  {'':8s} t4/pool {rates[f'{op} ratio']} | t4/seq {rates[f'{op} vs seq']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--delay-ms", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS,
                        help=f"interleaved rounds of t4 and its baseline (>= {MIN_ROUNDS})")
    parser.add_argument("--seq-sample", type=int, default=250,
                        help="files for the sequential loop through the delay proxy")
    parser.add_argument("--keys", type=int, default=10_000)
    args = parser.parse_args()

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        from infra.local.endpoints import Endpoints

        endpoint = Endpoints.resolve().aws_endpoint_url
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="t4-bench-"))
    try:
        src = work / "src"
        files = []
        for i in range(args.files):
            rel = f"d{i % 10}/file-{i:05d}.bin"
            path = src / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(args.size))
            files.append((rel, path))
        print(f"endpoint {endpoint}; {args.files} files of {args.size} B; "
              f"proxy delay {args.delay_ms:g} ms per request")

        plain = folder_round("plain", endpoint, src, files, len(files), work,
                             args.rounds)
        report("plain moto server", plain, "")
        proxy, proxy_url = start_delay_proxy(endpoint, args.delay_ms / 1000)
        try:
            seq = min(args.seq_sample, len(files))
            delayed = folder_round("delay", proxy_url, src, files, seq, work, args.rounds)
        finally:
            proxy.shutdown()
        report(f"with {args.delay_ms:g} ms per request", delayed, f" ({seq} files)")

        keys = keys_round(endpoint, args.keys, args.rounds)
        print(f"\n== keys() on {args.keys} objects ==")
        print(f"  speed t4 keys() / boto3 paginator {keys}")

        print("\n== targets (on the median of the per-round ratios) ==")
        checks = [
            ("put_dir >= 0.9 x raw pool (plain)", plain["put ratio"], 0.9),
            ("fetch >= 0.9 x raw pool (plain)", plain["get ratio"], 0.9),
            ("put_dir >= 0.9 x raw pool (delay)", delayed["put ratio"], 0.9),
            ("fetch >= 0.9 x raw pool (delay)", delayed["get ratio"], 0.9),
            ("put_dir >= 5 x sequential (delay)", delayed["put vs seq"], 5.0),
            ("fetch >= 5 x sequential (delay)", delayed["get vs seq"], 5.0),
            ("keys() no slower than paginator", keys, 0.95),
        ]
        for label, value, target in checks:
            print(f"  {'ok  ' if value.meets(target) else 'MISS'} {label}: {value}")
        print(f"\ntotal {time.perf_counter() - started:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        drop_buckets(endpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
