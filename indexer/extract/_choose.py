"""Which extractor reads an object: one pure function over what is known before reading it.

Order (docs/extraction.md, "Which extractor"): the format T4 recorded in ``helium``, then the
content type, then the magic bytes of the object's first bytes, then the key's
extension. Generic content types (``application/octet-stream``, ``text/plain``
...) say little, so they are consulted only after magic bytes and extension.
The last resort tells text from binary by the first bytes.
"""

from __future__ import annotations

import posixpath

from t4index.s3 import last_extension

TIKA = "tika"
TEXT = "text"
NONE = "none"

# T4 format names (t4/_formats.py); "bytes" says nothing about the content.
_HELIUM = {"json": "json", "parquet": "parquet", "numpy": "numpy", "utf-8": TEXT,
           "csv": "csv", "tsv": "tsv"}

_GENERIC_TYPES = frozenset({"application/octet-stream", "binary/octet-stream",
                            "application/x-binary", "application/unknown", "text/plain", ""})

_TYPES = {
    "text/csv": "csv", "application/csv": "csv", "text/tab-separated-values": "tsv",
    "application/json": "json", "text/json": "json",
    "application/x-ndjson": "jsonl", "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl", "application/jsonlines": "jsonl",
    "application/x-ipynb+json": "notebook",
    "application/vnd.apache.parquet": "parquet", "application/x-parquet": "parquet",
    "application/gzip": "gzip", "application/x-gzip": "gzip",
    "application/x-npy": "numpy",
    "text/html": TIKA, "application/xhtml+xml": TIKA, "text/rtf": TIKA, "application/rtf": TIKA,
    "application/pdf": TIKA, "application/msword": TIKA, "message/rfc822": TIKA,
    "application/epub+zip": TIKA, "application/vnd.ms-outlook": TIKA,
    "text/markdown": TEXT, "text/x-markdown": TEXT, "application/xml": TEXT,
    "application/javascript": TEXT, "application/x-yaml": TEXT, "application/yaml": TEXT,
    "application/toml": TEXT, "application/x-sh": TEXT, "application/sql": TEXT,
}
_TIKA_TYPE_PREFIXES = ("application/vnd.ms-", "application/vnd.openxmlformats-",
                       "application/vnd.oasis.opendocument.", "image/")

_TEXT_EXTENSIONS = frozenset((
    "txt", "text", "md", "markdown", "rst", "adoc", "org", "log", "tex", "bib", "cfg", "conf",
    "ini", "toml", "yaml", "yml", "xml", "svg", "properties", "env", "py", "pyi", "pyx", "r",
    "rmd", "jl", "m", "scala", "kt", "kts", "java", "groovy", "gradle", "c", "h", "cc", "cpp",
    "cxx", "hpp", "hh", "cs", "go", "rs", "swift", "js", "mjs", "cjs", "ts", "tsx", "jsx",
    "vue", "css", "scss", "less", "sass", "sh", "bash", "zsh", "fish", "ps1", "bat", "cmd",
    "sql", "graphql", "proto", "rb", "pl", "pm", "php", "lua", "dart", "erl", "ex", "exs", "hs",
    "ml", "fs", "clj", "lisp", "el", "vim", "tf", "hcl", "dockerfile", "makefile", "cmake",
    "mk", "gitignore", "editorconfig", "lock", "diff", "patch", "srt", "vtt", "fasta", "fa",
    "fastq", "gff", "gtf", "vcf", "bed", "sam", "pdb",
))
_EXTENSIONS = {
    "csv": "csv", "tsv": "tsv", "tab": "tsv", "json": "json", "geojson": "json",
    "jsonl": "jsonl", "ndjson": "jsonl", "ipynb": "notebook", "parquet": "parquet",
    "pq": "parquet", "npy": "numpy", "npz": "numpy", "gz": "gzip", "gzip": "gzip",
}
_TIKA_EXTENSIONS = (
    "pdf", "doc", "docx", "docm", "dot", "dotx", "xls", "xlsx", "xlsm", "xlt", "xltx", "ppt",
    "pptx", "pptm", "pps", "ppsx", "odt", "ods", "odp", "odg", "ott", "rtf", "html", "htm",
    "xhtml", "eml", "msg", "mbox", "epub", "png", "jpg", "jpeg", "gif", "tif", "tiff", "bmp",
    "webp", "heic",
)
_EXTENSIONS.update({ext: TIKA for ext in _TIKA_EXTENSIONS})

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00",
                b"MM\x00*")
_ZIP_TIKA_MEMBERS = (b"[Content_Types].xml", b"mimetype", b"_rels/", b"docProps/", b"word/",
                     b"xl/", b"ppt/", b"META-INF/")


def extension(key: str) -> str:
    """The key's last extension, lower case, without the dot ("" when none).

    Returns:
        The extension (``Makefile`` and ``Dockerfile`` give their own name).
    """
    base = posixpath.basename(key).lower()
    return base if base in {"makefile", "dockerfile"} else last_extension(key)


def _from_type(content_type: str | None) -> str | None:
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype in _GENERIC_TYPES:
        return None
    if ctype in _TYPES:
        return _TYPES[ctype]
    if ctype.startswith(_TIKA_TYPE_PREFIXES):
        return TIKA
    if ctype.startswith("text/") or ctype.endswith(("+xml", "+json")):
        return "json" if ctype.endswith("+json") else TEXT
    return None


def _from_magic(head: bytes) -> str | None:
    if head.startswith(b"%PDF-") or head.startswith(_OLE) or head.startswith(b"{\\rtf"):
        return TIKA
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"\x93NUMPY"):
        return "numpy"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return TIKA
    if head.startswith(b"PK\x03\x04"):
        # the first member's name starts at offset 30: OOXML, ODF, EPUB put theirs first
        name = head[30:80]
        if name.endswith(b".npy") or b".npy" in name:
            return "numpy"
        if name.startswith(_ZIP_TIKA_MEMBERS):
            return TIKA
        return None
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return TIKA
    return None


def looks_like_text(head: bytes) -> bool:
    """Whether the first bytes of an object look like text rather than binary data.

    Returns:
        True when there is no NUL byte (UTF-16/32 with a BOM count as text) and
        few control characters.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return True
    sample = head[:8192]
    if b"\x00" in sample:
        return False
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls <= len(sample) // 100


def choose_extractor(key: str, content_type: str | None, helium_format: str | None,
                     head: bytes) -> str:
    """The name of the extractor for an object.

    Args:
        key: the S3 key (its extension is the last clue).
        content_type: the object's Content-Type, or None.
        helium_format: ``format.name`` from T4's ``helium`` metadata, or None.
        head: the object's first bytes (a few KB are plenty; may be empty).

    Returns:
        One of ``text``, ``csv``, ``tsv``, ``json``, ``jsonl``, ``notebook``,
        ``parquet``, ``numpy``, ``gzip``, ``tika``, ``none`` (no extractor).
    """
    if helium_format and helium_format.lower() in _HELIUM:
        return _HELIUM[helium_format.lower()]
    ext = extension(key)
    chosen = _from_type(content_type) or _from_magic(head) or _EXTENSIONS.get(ext)
    if chosen == "json" and ext == "ipynb":
        return "notebook"
    if chosen:
        return chosen
    if ext in _TEXT_EXTENSIONS:
        return TEXT
    return TEXT if looks_like_text(head) else NONE
