"""Content types by file name: what the client writes, in one table the indexer reads too.

The standard library's ``mimetypes`` tables know neither notebooks nor Parquet,
JSON Lines or NumPy files, and a compressed file (``a.csv.gz``) comes back as the
inner type with an encoding: stored as is, S3 would announce gzip bytes as CSV.
:func:`guess` answers with this project's table first (the types the indexer's
extractor chooser recognises), then ``mimetypes``; a compressed file is the
compression's type.
"""

from __future__ import annotations

import mimetypes

__all__ = ["DEFAULT", "KNOWN", "guess"]

DEFAULT = "application/octet-stream"
KNOWN: dict[str, str] = {
    ".ipynb": "application/x-ipynb+json",
    ".parquet": "application/vnd.apache.parquet",
    ".pq": "application/vnd.apache.parquet",
    ".jsonl": "application/jsonl",
    ".ndjson": "application/jsonl",
    ".npy": "application/x-npy",
    ".npz": "application/x-npz",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    ".geojson": "application/geo+json",
    ".feather": "application/vnd.apache.arrow.file",
    ".arrow": "application/vnd.apache.arrow.file",
    ".avro": "application/avro",
    ".h5": "application/x-hdf5",
    ".hdf5": "application/x-hdf5",
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz",
    ".zst": "application/zstd",
}
"""Extensions (lower case, with the dot) this project knows better than ``mimetypes``."""
_ENCODINGS = {"gzip": "application/gzip", "bzip2": "application/x-bzip2",
              "xz": "application/x-xz", "compress": "application/x-compress",
              "br": "application/x-brotli"}


def guess(name: str) -> str:
    """The content type of a file called ``name`` (a path or a key).

    Returns:
        The type from :data:`KNOWN`, else from ``mimetypes`` (the compression's type
        for compressed files), else :data:`DEFAULT`.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    dot = base.rfind(".")
    if dot > 0 and base[dot:] in KNOWN:
        return KNOWN[base[dot:]]
    guessed, encoding = mimetypes.guess_type(base, strict=False)
    if encoding:
        return _ENCODINGS.get(encoding, DEFAULT)
    return guessed or DEFAULT
