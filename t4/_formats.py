"""Serialization formats: one table from Python types, extensions and content types to bytes.

The format of an object written by ``Bucket.put`` is recorded in its ``helium``
metadata exactly as the original T4 client (``t4==0.1.4``) recorded it, so each
client reads the other's objects:

=========  ===========================  ===========  ==========================================
name       written for                  extensions   ``helium["format"]`` (``target`` = name)
=========  ===========================  ===========  ==========================================
json       dict, list, tuple, int,      .json        ``{"name": "json"}``
           float, bool, None
utf-8      str                          .txt .md     ``{"name": "utf-8"}``
                                        .rst
bytes      bytes, bytearray             .bin         ``{"name": "bytes"}``
numpy      numpy.ndarray (``.npy``)     .npy .npz    ``{"name": "numpy"}``
parquet    pandas.DataFrame (default)   .parquet     ``{"compression": "snappy_columns",
                                                     "name": "parquet"}``
csv        pandas.DataFrame             .csv         ``{"name": "csv"}``
tsv        pandas.DataFrame             .tsv         ``{"name": "tsv"}``
=========  ===========================  ===========  ==========================================

Each reads back as the type it was written from (tuples as lists, ``.npz``
files as a dict of arrays).

``put`` picks, among the formats that handle the object's type, the one that
claims the key's extension, else the type's default (the first in the table):
``put("t.csv", df)`` writes CSV, ``put("df", df)`` Parquet. ``csv`` and ``tsv``
are this project's additions; the original client does not know them.

``deserialize`` decides by, in order: the format recorded in ``helium``
(``format.name``, then ``target``; an unknown name is an error, as in the
original client), the content type, the key's extension, and otherwise returns
the raw bytes. Pickle is never loaded (``.pkl`` and a ``pickle`` format are
refused). pandas, pyarrow and numpy are imported only when a format needs them.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from t4._errors import FormatError
from t4index import helium as helium_codec
from t4index.s3 import last_extension

_DATA_EXTRA = "install the data extras: pip install 't4-search[data]'"


def _need(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise FormatError(f"this format needs {module.partition('.')[0]}; {_DATA_EXTRA}") from exc


def _is_instance(obj: object, module: str, name: str) -> bool:
    """isinstance against ``module.name`` without importing ``module``."""
    mod = sys.modules.get(module)
    cls = getattr(mod, name, None) if mod is not None else None
    return cls is not None and isinstance(obj, cls)


def _is_dataframe(obj: object) -> bool:
    return _is_instance(obj, "pandas", "DataFrame")


# --- serializers and deserializers ---------------------------------------------------------


def _json_dumps(obj: object) -> bytes:
    try:
        return json.dumps(obj).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise FormatError(f"object is not JSON serializable: {exc}") from exc


def _json_loads(data: bytes, charset: str = "utf-8") -> object:
    try:
        return json.loads(data.decode(charset))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError(f"not valid JSON: {exc}") from exc


def _text_loads(data: bytes, charset: str = "utf-8") -> str:
    try:
        return data.decode(charset)
    except (UnicodeDecodeError, LookupError) as exc:
        raise FormatError(f"not valid {charset} text: {exc}") from exc


def _npy_dumps(obj: Any) -> bytes:
    np = _need("numpy")
    buf = io.BytesIO()
    np.save(buf, obj, allow_pickle=False)
    return buf.getvalue()


def _npy_loads(data: bytes, charset: str = "utf-8") -> Any:
    np = _need("numpy")
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if hasattr(loaded, "files"):  # .npz archive: read every array now
            with loaded:
                return {name: loaded[name] for name in loaded.files}
        return loaded
    except ValueError as exc:  # includes "Object arrays cannot be loaded when allow_pickle=False"
        raise FormatError(f"cannot load numpy data without unpickling: {exc}") from exc


def _parquet_dumps(obj: Any) -> bytes:
    _need("pandas")
    pa = _need("pyarrow")
    pq = _need("pyarrow.parquet")
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(obj), buf, compression="snappy")
    return buf.getvalue()


def _parquet_loads(data: bytes, charset: str = "utf-8") -> Any:
    _need("pandas")
    pq = _need("pyarrow.parquet")
    try:
        return pq.read_table(io.BytesIO(data)).to_pandas()
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise FormatError(f"not a readable Parquet file: {exc}") from exc


def _delimited(sep: str) -> tuple[Callable[[Any], bytes], Callable[..., Any]]:
    def dumps(obj: Any) -> bytes:
        return obj.to_csv(index=False, sep=sep).encode("utf-8")

    def loads(data: bytes, charset: str = "utf-8") -> Any:
        pd = _need("pandas")
        try:
            return pd.read_csv(io.BytesIO(data), sep=sep, encoding=charset)
        except Exception as exc:  # pandas' parser errors
            kind = "TSV" if sep == "\t" else "CSV"
            raise FormatError(f"not readable as {kind}: {exc}") from exc

    return dumps, loads


_csv_dumps, _csv_loads = _delimited(",")
_tsv_dumps, _tsv_loads = _delimited("\t")


# --- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    """One serialization format: what it writes, how it is recorded, how it is read."""

    name: str
    handles: Callable[[object], bool]
    dumps: Callable[[Any], bytes]
    loads: Callable[..., Any]
    extensions: tuple[str, ...]
    content_type: str
    content_types: tuple[str, ...] = ()
    helium_format: tuple[tuple[str, str], ...] = ()

    def helium(self) -> dict[str, Any]:
        """The ``format`` entry of ``helium`` for this format (key order as the original)."""
        return dict(self.helium_format) if self.helium_format else {"name": self.name}


FORMATS: tuple[Format, ...] = (
    Format(
        "json",
        lambda o: isinstance(o, dict | list | tuple | int | float | bool) or o is None,
        _json_dumps,
        _json_loads,
        ("json",),
        "application/json",
        ("application/json",),
    ),
    Format(
        "utf-8",
        lambda o: isinstance(o, str),
        lambda o: o.encode("utf-8"),
        _text_loads,
        ("txt", "md", "rst", "text", "log"),
        "text/plain; charset=utf-8",
        ("text/plain", "text/markdown", "text/x-rst"),
    ),
    Format(
        "bytes",
        lambda o: isinstance(o, bytes | bytearray | memoryview),
        bytes,
        lambda data, charset="utf-8": data,
        ("bin",),
        "application/octet-stream",
    ),
    Format(
        "numpy",
        lambda o: _is_instance(o, "numpy", "ndarray"),
        _npy_dumps,
        _npy_loads,
        ("npy", "npz"),
        "application/octet-stream",
    ),
    Format(
        "parquet",
        _is_dataframe,
        _parquet_dumps,
        _parquet_loads,
        ("parquet",),
        "application/vnd.apache.parquet",
        ("application/vnd.apache.parquet", "application/x-parquet"),
        (("compression", "snappy_columns"), ("name", "parquet")),
    ),
    Format("csv", _is_dataframe, _csv_dumps, _csv_loads, ("csv",), "text/csv", ("text/csv",)),
    Format(
        "tsv",
        _is_dataframe,
        _tsv_dumps,
        _tsv_loads,
        ("tsv",),
        "text/tab-separated-values",
        ("text/tab-separated-values",),
    ),
)
BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}
# Names other versions of the T4 client wrote for the same bytes.
ALIASES: dict[str, str] = {"unicode": "utf-8"}
PICKLE_NAMES = frozenset({"pickle", "pkl"})
PICKLE_EXTENSIONS = frozenset({"pkl", "pickle", "joblib"})
PICKLE_CONTENT_TYPES = frozenset({"application/x-pickle", "application/python-pickle"})
GENERIC_CONTENT_TYPES = frozenset({"application/octet-stream", "binary/octet-stream", ""})


extension = last_extension
"""The lower-case extension of the key's last path segment, without the dot."""


def for_object(obj: object, key: str) -> Format:
    """The format ``put(key, obj)`` writes: the one claiming the key's extension, else the default.

    Raises:
        FormatError: no format handles the object's type.
    """
    candidates = [f for f in FORMATS if f.handles(obj)]
    if not candidates:
        names = ", ".join(f.name for f in FORMATS)
        raise FormatError(
            f"cannot serialize {type(obj).__module__}.{type(obj).__qualname__} for {key!r}; "
            f"formats: {names} (DataFrame and ndarray need {_DATA_EXTRA.split(': ')[1]})"
        )
    ext = extension(key)
    for fmt in candidates:
        if ext in fmt.extensions:
            return fmt
    return candidates[0]


def _split_content_type(content_type: str | None) -> tuple[str, str | None]:
    if not content_type:
        return "", None
    main, *params = (p.strip() for p in content_type.split(";"))
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value:
            charset = value.strip().strip('"')
    return main.lower(), charset


def for_reading(
    key: str, helium: dict[str, Any] | None, content_type: str | None
) -> tuple[Format, str]:
    """The format to read an object with, and the charset to decode text with.

    Raises:
        FormatError: the recorded format is unknown, or the object is a pickle.
    """
    main_type, charset = _split_content_type(content_type)
    charset = charset or "utf-8"
    name = helium_codec.format_name(helium)
    if name is not None:
        name = ALIASES.get(name, name)
        if name in PICKLE_NAMES:
            raise FormatError(f"{key!r} is recorded as a pickle, which is never loaded; use fetch")
        if name not in BY_NAME:
            raise FormatError(
                f"{key!r} is recorded in format {name!r}, which this client does not know; "
                "use fetch to download its bytes"
            )
        return BY_NAME[name], charset
    ext = extension(key)
    if ext in PICKLE_EXTENSIONS or main_type in PICKLE_CONTENT_TYPES:
        raise FormatError(f"{key!r} looks like a pickle, which is never loaded; use fetch")
    if main_type not in GENERIC_CONTENT_TYPES:
        for fmt in FORMATS:
            if main_type in fmt.content_types:
                return fmt, charset
    for fmt in FORMATS:
        if ext in fmt.extensions:
            return fmt, charset
    if main_type.startswith("text/"):
        return BY_NAME["utf-8"], charset
    return BY_NAME["bytes"], charset


def loads(fmt: Format, data: bytes, charset: str, key: str) -> Any:
    """Deserialize ``data`` with ``fmt``; errors name the key.

    Raises:
        FormatError: the bytes are not valid for the format.
    """
    try:
        return fmt.loads(data, charset)
    except FormatError as exc:
        raise FormatError(f"cannot read {key!r} as {fmt.name}: {exc}") from exc
