"""Unit tests of the t4 client's pure parts: locations, metadata, formats, retries, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

import t4
from t4 import _formats, _meta
from t4._errors import translate
from t4._local import plan_folder
from t4._paths import S3Location, parse_bucket_url, split_version
from t4index.retry import RetryPolicy, is_retryable

# --- the facade ------------------------------------------------------------------------------


def test_public_names_are_exactly_the_intended_ones():
    assert sorted(t4.__all__) == sorted(
        [
            "AccessDeniedError", "Bucket", "DeleteError", "DeleteFailure", "FormatError",
            "InvalidLocationError", "LocalPathConflictError", "MetadataError",
            "MetadataTooLargeError", "NotFoundError", "ObjectInfo", "Progress",
            "ProgressCallback", "RetryPolicy", "S3Location", "S3Error",
            "SearchNotConfiguredError", "T4Error", "TransferError", "UnsafeKeyError",
            "ConfigError", "config", "SearchAccessDeniedError", "SearchError", "SearchHit",
            "SearchQueryError", "SearchResults", "SearchUnavailableError", "SearchPartialError",
        ]
    )
    for name in t4.__all__:
        assert getattr(t4, name) is not None


def test_error_tree():
    assert issubclass(t4.NotFoundError, FileNotFoundError)
    assert issubclass(t4.AccessDeniedError, PermissionError)
    assert issubclass(t4.MetadataTooLargeError, t4.MetadataError)
    for name in t4.__all__:
        obj = getattr(t4, name)
        if isinstance(obj, type) and name.endswith("Error"):
            assert issubclass(obj, t4.T4Error), name


# --- locations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("s3://b-1/k", S3Location("b-1", "k")),
        ("s3://bkt", S3Location("bkt", "")),
        ("s3://bkt/", S3Location("bkt", "")),
        ("s3://bkt/a b+c%20/ü.txt", S3Location("bkt", "a b+c%20/ü.txt")),
        ("s3://bkt/a/b?versionId=v1", S3Location("bkt", "a/b", "v1")),
        ("s3://my.dotted.bucket/x/", S3Location("my.dotted.bucket", "x/")),
    ],
)
def test_s3location_from_url(url, expected):
    assert S3Location.from_url(url) == expected


def test_s3location_str_round_trips():
    loc = S3Location("bkt", "a b/c", "v9")
    assert str(loc) == "s3://bkt/a b/c?versionId=v9"
    assert S3Location.from_url(str(loc)) == loc


@pytest.mark.parametrize("url", ["http://bkt/k", "bkt/k", "s3://", "s3://ab", "s3://-bad/k",
                                 "s3://a..b/k", "s3://bkt?versionId=v"])
def test_s3location_rejects(url):
    with pytest.raises(t4.InvalidLocationError):
        S3Location.from_url(url)


def test_bucket_url_accepts_name_and_trailing_slash():
    assert parse_bucket_url("s3://my-bucket") == "my-bucket"
    assert parse_bucket_url("s3://my-bucket/") == "my-bucket"
    assert parse_bucket_url("my-bucket") == "my-bucket"


def test_bucket_url_with_path_says_so():
    with pytest.raises(t4.InvalidLocationError, match="has a path"):
        t4.Bucket("s3://name/path")


def test_bucket_url_with_query_says_so():
    with pytest.raises(t4.InvalidLocationError, match="has a query"):
        t4.Bucket("s3://name?versionId=x")
    with pytest.raises(t4.InvalidLocationError, match="has a query"):
        t4.Bucket("s3://name/?x=1")


def test_bucket_url_other_scheme():
    with pytest.raises(t4.InvalidLocationError, match="not an S3 URL"):
        t4.Bucket("gs://name")


def test_split_version():
    assert split_version("a/b?versionId=xyz") == ("a/b", "xyz")
    assert split_version("a/b") == ("a/b", None)
    assert split_version("a?b") == ("a?b", None)
    # an explicit version id takes the key literally
    assert split_version("a?versionId=1", "2") == ("a?versionId=1", "2")
    with pytest.raises(t4.InvalidLocationError):
        split_version("a?versionId=")


# --- metadata --------------------------------------------------------------------------------


def test_helium_shapes_match_the_original_client():
    fmt = _formats.BY_NAME["json"]
    assert _meta.build_helium({"a": 1}, fmt.helium(), fmt.name) == {
        "user_meta": {"a": 1}, "format": {"name": "json"}, "target": "json"}
    pq = _formats.BY_NAME["parquet"]
    helium = _meta.build_helium(None, pq.helium(), pq.name)
    assert json.dumps(helium) == (
        '{"user_meta": {}, "format": {"compression": "snappy_columns", "name": "parquet"}, '
        '"target": "parquet"}')
    assert _meta.build_helium({"foo": "bar"}) == {"user_meta": {"foo": "bar"}}
    assert _formats.BY_NAME["numpy"].helium() == {"name": "numpy"}
    assert _formats.BY_NAME["utf-8"].helium() == {"name": "utf-8"}


def _meta_of_size(total: int) -> dict:
    """A user meta dict whose encoded helium entry takes exactly ``total`` bytes."""
    base = _meta.user_metadata_size({"helium": json.dumps({"user_meta": {"k": ""}})})
    return {"k": "x" * (total - base)}


def test_metadata_limit_boundary_2048_ok_2049_refused():
    ok = _meta.encode(_meta.build_helium(_meta_of_size(2048)), "s3://b/k")
    assert _meta.user_metadata_size(ok) == 2048
    with pytest.raises(t4.MetadataTooLargeError) as info:
        _meta.encode(_meta.build_helium(_meta_of_size(2049)), "s3://b/k")
    assert "2049 bytes" in str(info.value)
    assert "2048 bytes" in str(info.value)
    assert "s3://b/k" in str(info.value)


def test_metadata_size_counts_utf8_bytes_after_json_escaping():
    # "ü" is JSON-escaped to \u00fc: six ASCII bytes, not two UTF-8 bytes
    encoded = _meta.encode(_meta.build_helium({"k": "ü"}), "x")
    assert "\\u00fc" in encoded["helium"]
    assert _meta.user_metadata_size(encoded) == len("helium") + len(encoded["helium"])
    # and an escaped value is what pushes it over: 2048 plain bytes fit, escaped they do not
    fits = _meta_of_size(2048)["k"]
    with pytest.raises(t4.MetadataTooLargeError):
        _meta.encode(_meta.build_helium({"k": fits[:-1] + "ü"}), "x")


def test_metadata_size_counts_non_ascii_keys_and_values_as_utf8():
    assert _meta.user_metadata_size({"ü": "€"}) == 2 + 3


def test_meta_must_be_a_json_object():
    with pytest.raises(t4.MetadataError):
        _meta.build_helium(["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(t4.MetadataError):
        _meta.encode(_meta.build_helium({"x": {1, 2}}), "x")
    with pytest.raises(t4.MetadataError):
        _meta.encode(_meta.build_helium({"x": float("nan")}), "x")


def test_decode_helium():
    assert _meta.decode({}, "x") is None
    assert _meta.decode({"helium": '{"user_meta": {"a": 1}}'}, "x") == {"user_meta": {"a": 1}}
    with pytest.raises(t4.MetadataError, match="not JSON"):
        _meta.decode({"helium": "{nope"}, "x")
    with pytest.raises(t4.MetadataError, match="not a JSON object"):
        _meta.decode({"helium": "[1]"}, "x")
    assert _meta.user_meta(None) == {}
    assert _meta.user_meta({"format": {"name": "json"}}) == {}


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj, key, name",
    [
        ({"a": 1}, "x", "json"),
        ([1, 2], "x.txt", "json"),
        (3.5, "x", "json"),
        (None, "x", "json"),
        ("text", "x.json", "utf-8"),
        ("text", "x", "utf-8"),
        (b"\x00", "x.json", "bytes"),
        (bytearray(b"a"), "x", "bytes"),
    ],
)
def test_format_for_object(obj, key, name):
    assert _formats.for_object(obj, key).name == name


def test_format_for_dataframe_by_extension():
    pd = __import__("pandas")  # the data extras are part of the dev install
    df = pd.DataFrame({"a": [1]})
    assert _formats.for_object(df, "df").name == "parquet"
    assert _formats.for_object(df, "x/t.CSV").name == "csv"
    assert _formats.for_object(df, "t.tsv").name == "tsv"
    assert _formats.for_object(df, "t.json").name == "parquet"


def test_format_for_unknown_type():
    with pytest.raises(t4.FormatError, match="cannot serialize"):
        _formats.for_object(object(), "k")
    with pytest.raises(t4.FormatError, match="not JSON serializable"):
        _formats.for_object({"a": {1}}, "k").dumps({"a": {1}})


@pytest.mark.parametrize(
    "key, helium, ctype, name",
    [
        ("x", {"format": {"name": "json"}, "target": "json"}, "binary/octet-stream", "json"),
        ("x.csv", {"format": {"name": "utf-8"}}, "text/csv", "utf-8"),  # stored format first
        ("x", {"target": "numpy"}, None, "numpy"),  # then target
        ("x", {"format": {"name": "unicode"}}, None, "utf-8"),  # older client's name
        ("x.bin", {"user_meta": {}}, "application/json", "json"),  # then content type
        ("x.json", None, "text/plain; charset=latin-1", "utf-8"),
        ("x.json", None, "binary/octet-stream", "json"),  # then extension
        ("d/x.Parquet", None, "application/octet-stream", "parquet"),
        ("x.tsv", None, None, "tsv"),
        ("x.npz", None, None, "numpy"),
        ("x.html", None, "text/html", "utf-8"),  # any text
        ("x.weird", None, None, "bytes"),  # otherwise bytes
        (".hidden", None, None, "bytes"),
    ],
)
def test_format_for_reading(key, helium, ctype, name):
    assert _formats.for_reading(key, helium, ctype)[0].name == name


def test_charset_from_content_type():
    fmt, charset = _formats.for_reading("x", None, 'text/plain; charset="latin-1"')
    assert charset == "latin-1"
    assert _formats.loads(fmt, "é".encode("latin-1"), charset, "x") == "é"


def test_unknown_stored_format_is_an_error():
    with pytest.raises(t4.FormatError, match="'hdf5'"):
        _formats.for_reading("x", {"format": {"name": "hdf5"}}, None)


@pytest.mark.parametrize(
    "key, helium, ctype",
    [("x.pkl", None, None), ("x", {"format": {"name": "pickle"}}, None),
     ("x", None, "application/x-pickle"), ("x.joblib", None, None)],
)
def test_pickle_is_never_loaded(key, helium, ctype):
    with pytest.raises(t4.FormatError, match="pickle"):
        _formats.for_reading(key, helium, ctype)


def test_numpy_object_arrays_are_refused():
    np = __import__("numpy")
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(t4.FormatError, match="unpickling"):
        _formats.loads(_formats.BY_NAME["numpy"], buf.getvalue(), "utf-8", "x")


def test_round_trips_in_memory():
    pd = __import__("pandas")
    np = __import__("numpy")
    cases = [({"a": [1, None, "ü"]}, "x"), ("tëxt", "x"), (b"\x00\xff", "x"),
             (np.arange(6).reshape(2, 3), "x"), (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "x"),
             (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "x.csv"),
             (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "x.tsv")]
    for obj, key in cases:
        fmt = _formats.for_object(obj, key)
        back = _formats.loads(fmt, fmt.dumps(obj), "utf-8", key)
        if isinstance(obj, pd.DataFrame):
            pd.testing.assert_frame_equal(back, obj)
        elif isinstance(obj, np.ndarray):
            np.testing.assert_array_equal(back, obj)
        else:
            assert back == obj


def test_bad_bytes_name_the_key():
    with pytest.raises(t4.FormatError, match="s3://b/k.json"):
        _formats.loads(_formats.BY_NAME["json"], b"{nope", "utf-8", "s3://b/k.json")
    with pytest.raises(t4.FormatError):
        _formats.loads(_formats.BY_NAME["utf-8"], b"\xff\xfe\xfa", "utf-8", "k")


# --- retries ---------------------------------------------------------------------------------


def _client_error(code: str, status: int, op: str = "GetObject") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, op)


@pytest.mark.parametrize("code, status", [("SlowDown", 503), ("Throttling", 400),
                                          ("InternalError", 500), ("Whatever", 502),
                                          ("RequestTimeout", 400)])
def test_retryable(code, status):
    assert is_retryable(_client_error(code, status))


@pytest.mark.parametrize("code, status", [("NoSuchKey", 404), ("AccessDenied", 403),
                                          ("InvalidArgument", 400)])
def test_not_retryable(code, status):
    assert not is_retryable(_client_error(code, status))


def test_connection_errors_are_retryable():
    assert is_retryable(EndpointConnectionError(endpoint_url="http://x"))
    assert not is_retryable(OSError("local disk"))


def test_retry_policy_retries_then_succeeds_with_capped_jittered_waits():
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=5, base=1.0, cap=3.0, sleep=waits.append, rand=lambda: 1.0)
    calls = iter([_client_error("SlowDown", 503)] * 3 + ["ok"])

    def fn():
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert policy.call(fn) == "ok"
    assert waits == [1.0, 2.0, 3.0]  # 1, 2, then capped at 3


def test_retry_policy_gives_up_after_max_attempts():
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=3, sleep=waits.append, rand=lambda: 0.5)
    count = 0

    def fn():
        nonlocal count
        count += 1
        raise _client_error("InternalError", 500)

    with pytest.raises(ClientError):
        policy.call(fn)
    assert count == 3 and len(waits) == 2
    assert all(0 <= w <= policy.cap for w in waits)


def test_retry_policy_does_not_retry_client_errors():
    policy = RetryPolicy(sleep=lambda s: pytest.fail("should not wait"))
    with pytest.raises(ClientError):
        policy.call(lambda: (_ for _ in ()).throw(_client_error("NoSuchKey", 404)))


def test_jitter_draws_within_cap():
    policy = RetryPolicy(base=0.1, cap=5.0)
    for attempt in range(12):
        assert 0.0 <= policy.delay(attempt) <= min(5.0, 0.1 * 2**attempt)


# --- error translation -----------------------------------------------------------------------


def test_translate_table():
    cases = [
        (_client_error("NoSuchKey", 404), t4.NotFoundError),
        (_client_error("404", 404, "HeadObject"), t4.NotFoundError),
        (_client_error("NoSuchVersion", 404), t4.NotFoundError),
        (_client_error("AccessDenied", 403), t4.AccessDeniedError),
        (_client_error("403", 403, "HeadObject"), t4.AccessDeniedError),
        (_client_error("InvalidArgument", 400), t4.S3Error),
    ]
    for exc, cls in cases:
        err = translate(exc, "bkt", "a/b c", "v1")
        assert type(err) is cls
        assert "s3://bkt/a/b c?versionId=v1" in str(err)
    err = translate(_client_error("InvalidArgument", 400), "bkt", "k")
    assert err.code == "InvalidArgument" and err.status == 400
    assert isinstance(translate(_client_error("AccessDenied", 403), "b", "k"), PermissionError)
    conn = translate(EndpointConnectionError(endpoint_url="http://x"), "bkt", "k")
    assert isinstance(conn, t4.S3Error) and "s3://bkt/k" in str(conn)


# --- local paths -----------------------------------------------------------------------------


def test_plan_folder_maps_relative_paths(tmp_path: Path):
    plan = plan_folder(tmp_path, "p/", ["p/a.txt", "p/x/y z.csv"])
    assert plan == [("p/a.txt", tmp_path.resolve() / "a.txt"),
                    ("p/x/y z.csv", tmp_path.resolve() / "x" / "y z.csv")]


@pytest.mark.parametrize("bad", ["p/../../x", "p//abs", "p/./a", "p/a/..", "p/a\\..\\b", "p/"])
def test_plan_folder_refuses_unsafe_keys(tmp_path: Path, bad: str):
    with pytest.raises(t4.UnsafeKeyError) as info:
        plan_folder(tmp_path / "dest", "p/", ["p/ok", bad])
    assert info.value.keys == [bad]
    assert not (tmp_path / "dest").exists()


def test_plan_folder_refuses_symlink_escape(tmp_path: Path):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "link").symlink_to(tmp_path)
    with pytest.raises(t4.UnsafeKeyError):
        plan_folder(dest, "", ["link/x"])


def test_plan_folder_file_and_folder_conflict(tmp_path: Path):
    with pytest.raises(t4.LocalPathConflictError) as info:
        plan_folder(tmp_path, "", ["a", "a/b", "c"])
    assert info.value.keys == ["a"]


def test_config_takes_several_nodes_and_refuses_a_bad_node_list(monkeypatch, tmp_path):
    import t4

    monkeypatch.setenv("T4_CONFIG_DIR", str(tmp_path))
    nodes = "http://es-1:9200,http://es-2:9200"
    assert t4.config(es_url=nodes)["es_url"] == nodes
    with pytest.raises(t4.ConfigError, match="es_url: every node URL must start with http"):
        t4.config(es_url="http://es-1:9200,es-2:9200")
    assert t4.config()["es_url"] == nodes  # nothing written by the refused call
