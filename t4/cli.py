"""The ``t4`` command line: ls, get, put, rm, meta, search, config.

    t4 ls s3://bucket[/prefix] [-l]
    t4 get s3://bucket/key[?versionId=id] [dest]       (a key ending in / is a folder)
    t4 put local-file-or-folder s3://bucket/key-or-prefix [--meta JSON]
    t4 rm s3://bucket/key [-r]
    t4 meta s3://bucket/key[?versionId=id]
    t4 search s3://bucket ["full text"] [--meta JSON] [--ext md] [--prefix p/] [--limit N]
              (one option per filter of t4index.filters: --min-size, --modified-since...)
    t4 config [--search-api-url URL | --es-url URL --es-api-key KEY]

S3 URLs hold raw keys (as in the AWS CLI): ``s3://b/a b+c%.txt`` is the key
``a b+c%.txt``. Folder transfers show a progress bar on stderr when it is a
terminal (``--progress`` / ``--no-progress`` decide otherwise). Errors print
one line and exit with status 1; usage errors exit with 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from t4._bucket import Bucket, Progress
from t4._config import config
from t4._errors import InvalidLocationError, MetadataError, T4Error
from t4._paths import S3Location, is_folder_marker
from t4index.filters import FILTERS
from t4index.query import DEFAULT_PAGE_SIZE


class ProgressBar:
    """A plain one-line progress bar: files, bytes and rate, redrawn at most 10 times a second."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.start = time.monotonic()
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if p.files_done < p.files_total and now - self._last < 0.1:
            return
        self._last = now
        frac = p.files_done / p.files_total if p.files_total else 1.0
        filled = int(frac * self.width)
        rate = p.files_done / max(now - self.start, 1e-6)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{p.files_done}/{p.files_total} files, {_human(p.bytes_done)}/"
            f"{_human(p.bytes_total)}, {rate:.0f} files/s"
        )
        if p.files_done == p.files_total:
            self.stream.write("\n")
        self.stream.flush()


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="t4", description="Work with S3 buckets the T4 way.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ls = sub.add_parser("ls", help="list keys under a prefix")
    ls.add_argument("url", help="s3://bucket[/prefix]")
    ls.add_argument("-l", "--long", action="store_true", help="show size and last modified")

    get = sub.add_parser("get", help="download a file or a folder (key ending in /)")
    get.add_argument("url", help="s3://bucket/key[?versionId=id] or s3://bucket/folder/")
    get.add_argument("dest", nargs="?", default=".", help="local path (default: .)")
    _progress_flags(get)

    put = sub.add_parser("put", help="upload a local file or folder")
    put.add_argument("src", help="local file or folder")
    put.add_argument("url", help="s3://bucket/key (file) or s3://bucket/prefix (folder)")
    put.add_argument("--meta", default=None, help="user metadata as a JSON object")
    _progress_flags(put)

    rm = sub.add_parser("rm", help="delete a key, or a folder with -r")
    rm.add_argument("url", help="s3://bucket/key[?versionId=id]")
    rm.add_argument("-r", "--recursive", action="store_true", help="delete a whole folder")

    meta = sub.add_parser("meta", help="print an object's user metadata as JSON")
    meta.add_argument("url", help="s3://bucket/key[?versionId=id]")

    search = sub.add_parser("search", help="search a bucket's catalog (see `t4 config`)")
    search.add_argument("url", help="s3://bucket")
    search.add_argument("query", nargs="?", default=None,
                        help="full text (simple_query_string syntax: thor -loki, \"a phrase\")")
    search.add_argument("--meta", default=None,
                        help='metadata predicates, JSON: {"name": "thor", "n": {"gte": 3}}')
    for flt in FILTERS:  # one option per declared filter (t4index.filters)
        if flt.kind == "terms":
            search.add_argument(flt.option, dest=flt.keyword, action="append", default=None,
                                help=f"{flt.help} (repeatable)")
        else:
            search.add_argument(flt.option, dest=flt.keyword, default=None, help=flt.help,
                                type=int if flt.json_type == "integer" else str)
    search.add_argument("--limit", type=int, default=DEFAULT_PAGE_SIZE,
                        help=f"hits per page (default {DEFAULT_PAGE_SIZE})")
    search.add_argument("--cursor", default=None, help="the cursor printed by the last page")
    search.add_argument("--facets", action="store_true", help="counts by extension, total size")
    search.add_argument("--deleted", action="store_true", help="include deleted objects")
    search.add_argument("--versions", action="store_true", help="include older versions")
    search.add_argument("--json", action="store_true", help="print JSON lines, not a table")
    search.add_argument("--complete", action="store_true",
                        help="fail rather than print partial results when shards are missing")

    cfg = sub.add_parser("config", help="show or set where search requests go")
    cfg.add_argument("--search-api-url", default=None, help="the deployed search API")
    cfg.add_argument("--es-url", default=None, help="Elasticsearch directly")
    cfg.add_argument("--es-api-key", default=None)
    cfg.add_argument("--es-username", default=None)
    cfg.add_argument("--es-password", default=None)
    cfg.add_argument("--es-ca-certs", default=None)
    cfg.add_argument("--reset", action="store_true", help="forget every setting first")
    return parser


def format_results(results: Any) -> str:
    """Search results as a readable table: key, size, score, metadata, first snippet."""
    rows = [("key", "size", "score", "metadata", "snippet")]
    for hit in results:
        snippet = next((s[0] for s in hit.highlights.values() if s), "")
        snippet = " ".join(snippet.replace("<em>", "[").replace("</em>", "]").split())
        rows.append((hit.key, "" if hit.size is None else str(hit.size),
                     f"{hit.score:.2f}" if hit.score else "-",
                     json.dumps(hit.meta, sort_keys=True)[:60], snippet[:70]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _progress_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--progress", dest="progress", action="store_true", default=None,
                       help="show a progress bar (default: when stderr is a terminal)")
    group.add_argument("--no-progress", dest="progress", action="store_false")


def _bar(args: argparse.Namespace, label: str) -> ProgressBar | None:
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    return ProgressBar(label) if show else None


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "config":
        shown = config(search_api_url=args.search_api_url, es_url=args.es_url,
                       es_api_key=args.es_api_key, es_username=args.es_username,
                       es_password=args.es_password, es_ca_certs=args.es_ca_certs,
                       reset=args.reset)
        out.write(json.dumps(shown, indent=2, sort_keys=True) + "\n")
        return 0
    loc = S3Location.from_url(args.url)
    if args.command == "search":
        return _search(Bucket(loc.bucket), loc, args, out)
    bucket = Bucket(loc.bucket)
    if args.command == "ls":
        for info in bucket.iter_objects(loc.key or None):
            if args.long:
                stamp = info.last_modified.strftime("%Y-%m-%d %H:%M:%S")
                out.write(f"{stamp} {info.size:>12} {info.key}\n")
            else:
                out.write(info.key + "\n")
    elif args.command == "get":
        written = bucket.fetch(loc.key, args.dest, version_id=loc.version_id,
                               progress=_bar(args, f"get s3://{loc.bucket}/{loc.key}"))
        out.write(f"{written}\n")
    elif args.command == "put":
        if loc.version_id is not None:
            raise InvalidLocationError(
                f"{args.url!r} names a version, and a version cannot be chosen on write "
                "(S3 assigns version ids); give the URL without '?versionId=...'")
        meta = _parse_meta(args.meta)
        src = Path(args.src)
        if src.is_dir():
            count = bucket.put_dir(loc.key, src, meta,
                                   progress=_bar(args, f"put {src}"))
            out.write(f"{count} file(s) to s3://{loc.bucket}/{loc.key}\n")
        else:
            key = loc.key
            if not key or is_folder_marker(key):
                key = key + src.name
            bucket.put_file(key, src, meta)
            out.write(f"s3://{loc.bucket}/{key}\n")
    elif args.command == "rm":
        if args.recursive:
            out.write(f"{bucket.delete_dir(loc.key)} key(s) deleted\n")
        else:
            bucket.delete(loc.key, version_id=loc.version_id)
    elif args.command == "meta":
        meta = bucket.get_meta(loc.key, version_id=loc.version_id)
        out.write(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    return 0


def _parse_meta(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise MetadataError(f"--meta is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MetadataError("--meta must be a JSON object, such as '{\"a\": 1}'")
    return value


def _search(bucket: Bucket, loc: S3Location, args: argparse.Namespace, out: TextIO) -> int:
    meta = _parse_meta(args.meta) if args.meta else None
    filters = {flt.keyword: getattr(args, flt.keyword) for flt in FILTERS}
    if filters["prefix"] is None:
        filters["prefix"] = loc.key or None
    results = bucket.search(args.query, meta=meta, limit=args.limit,
                            include_deleted=args.deleted, versions=args.versions,
                            facets=args.facets, cursor=args.cursor,
                            allow_partial=not args.complete, **filters)
    if args.json:
        for hit in results:
            record = dataclasses.asdict(hit)
            out.write(json.dumps(record, default=str, sort_keys=True) + "\n")
    else:
        out.write(f"{results.total} match(es) in s3://{loc.bucket}\n")
        if len(results):
            out.write(format_results(results) + "\n")
        if results.facets:
            out.write(f"facets: {json.dumps(results.facets, sort_keys=True)}\n")
    if results.partial:  # never a silent short answer, in JSON mode too
        partial = results.partial
        print(f"t4: warning: partial results: {partial['failed_shards']} of "
              f"{partial['total_shards']} shards did not answer; matches may be missing",
              file=sys.stderr)
    if results.cursor:
        print(f"more: t4 search ... --cursor {results.cursor}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the ``t4`` command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        return _run(args, out or sys.stdout)
    except (T4Error, OSError) as exc:
        print(f"t4: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("t4: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
