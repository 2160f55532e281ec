"""Every call of the seed page on a real moto server over HTTP, with S3's awkward cases."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import t4
from t4 import RetryPolicy

pytestmark = pytest.mark.integration

AWKWARD_KEYS = [
    "plain.txt",
    "with space/a b.txt",
    "plus+sign/c+d.txt",
    "percent%20/e%2Ff%.txt",
    "ünïcødé/日本語/ファイル.txt",
    "deep/" + "/".join(f"level{i}" for i in range(30)) + "/leaf.txt",
    "quote's & amp=eq?.txt",
]


@pytest.fixture
def b(bucket: str) -> t4.Bucket:
    return t4.Bucket(f"s3://{bucket}")


def _put_many(s3, bucket: str, keys: list[str]) -> None:
    """Create empty objects quickly (the fixture client pools 10 connections)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b""), keys))


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


# --- connecting and introspecting ------------------------------------------------------------


def test_connect_does_not_need_a_request_and_repr(bucket: str):
    b = t4.Bucket(f"s3://{bucket}")
    assert b.name == bucket
    assert repr(b) == f"Bucket('s3://{bucket}')"
    assert t4.Bucket(bucket).name == bucket


def test_keys_empty_bucket(b: t4.Bucket):
    assert b.keys() == []


def test_keys_lists_everything_over_many_pages(b: t4.Bucket, s3, bucket: str):
    keys = [f"k/{i:05d}" for i in range(2001)] + ["other/x", "dir/"]
    _put_many(s3, bucket, keys)
    listed = b.keys()
    assert isinstance(listed, list)
    assert listed == sorted(keys)
    assert b.keys("k/") == sorted(k for k in keys if k.startswith("k/"))
    assert b.keys("other") == ["other/x"]
    assert b.keys("nothing-here") == []


def test_iter_objects_gives_sizes(b: t4.Bucket):
    b.put("a.txt", "hello")
    (info,) = list(b.iter_objects())
    assert info.key == "a.txt" and info.size == 5 and info.etag


def test_keys_of_missing_bucket(unique_name):
    missing = t4.Bucket(f"s3://{unique_name('missing')}")
    with pytest.raises(t4.NotFoundError, match="s3://t4-missing") as info:
        missing.keys()
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.__cause__ is not None


# --- put / deserialize / get_meta ------------------------------------------------------------


def test_put_dict_as_the_seed_shows(b: t4.Bucket, s3, bucket: str):
    assert b.put("my-dict.json", {"a": "b"}, meta={"how": "lazily"}) is None
    assert b.deserialize("my-dict.json") == {"a": "b"}
    assert b("my-dict.json") == {"a": "b"}
    assert b.get_meta("my-dict.json") == {"how": "lazily"}
    head = s3.head_object(Bucket=bucket, Key="my-dict.json")
    assert json.loads(head["Metadata"]["helium"]) == {
        "user_meta": {"how": "lazily"}, "format": {"name": "json"}, "target": "json"}
    assert head["ContentType"] == "application/json"


def test_put_each_type_round_trips_with_the_original_metadata(b: t4.Bucket, s3, bucket: str):
    df = pd.DataFrame({"n": [1, 2, 3], "s": ["x", "y", "ü"], "f": [0.5, None, 2.0]})
    arr = np.arange(12, dtype="float32").reshape(3, 4)
    cases = {
        "df": (df, {"compression": "snappy_columns", "name": "parquet"}, "parquet"),
        "arr": (arr, {"name": "numpy"}, "numpy"),
        "text": ("héllo\nwörld", {"name": "utf-8"}, "utf-8"),
        "raw": (b"\x00\x01\xff", {"name": "bytes"}, "bytes"),
        "list.json": ([1, "two", None, {"3": [4]}], {"name": "json"}, "json"),
        "t.csv": (df, {"name": "csv"}, "csv"),
        "t.tsv": (df, {"name": "tsv"}, "tsv"),
    }
    for key, (obj, fmt, target) in cases.items():
        b.put(key, obj, meta={"key": key})
        helium = json.loads(s3.head_object(Bucket=bucket, Key=key)["Metadata"]["helium"])
        assert helium == {"user_meta": {"key": key}, "format": fmt, "target": target}
        back = b(key)
        if isinstance(obj, pd.DataFrame):
            pd.testing.assert_frame_equal(back, obj)
        elif isinstance(obj, np.ndarray):
            np.testing.assert_array_equal(back, obj)
            assert back.dtype == obj.dtype
        else:
            assert back == obj
        assert b.get_meta(key) == {"key": key}


def test_put_without_meta_stores_empty_user_meta(b: t4.Bucket, s3, bucket: str):
    b.put("n.npy", np.zeros(2))
    helium = json.loads(s3.head_object(Bucket=bucket, Key="n.npy")["Metadata"]["helium"])
    assert helium == {"user_meta": {}, "format": {"name": "numpy"}, "target": "numpy"}
    assert b.get_meta("n.npy") == {}


def test_objects_written_by_the_original_client_read_back(b: t4.Bucket, s3, bucket: str):
    # exactly what t4==0.1.4 wrote (docs/client.md, "Metadata on S3")
    s3.put_object(Bucket=bucket, Key="orig", Body=b'{"x": [1, 2]}', Metadata={
        "helium": '{"user_meta": {"who": "t4 0.1.4"}, "format": {"name": "json"}, '
                  '"target": "json"}'})
    s3.put_object(Bucket=bucket, Key="orig-text", Body="ü".encode(), Metadata={
        "helium": '{"user_meta": {}, "format": {"name": "utf-8"}, "target": "utf-8"}'})
    s3.put_object(Bucket=bucket, Key="orig-file.bin", Body=b"\x01", Metadata={
        "helium": '{"user_meta": {"foo": "bar"}}'})
    assert b("orig") == {"x": [1, 2]}
    assert b.get_meta("orig") == {"who": "t4 0.1.4"}
    assert b("orig-text") == "ü"
    assert b("orig-file.bin") == b"\x01"
    assert b.get_meta("orig-file.bin") == {"foo": "bar"}


def test_objects_from_other_tools_deserialize_by_content_type_then_extension(
    b: t4.Bucket, s3, bucket: str
):
    df = pd.DataFrame({"a": [1, 2]})
    s3.put_object(Bucket=bucket, Key="x.json", Body=b'{"a": 1}')
    s3.put_object(Bucket=bucket, Key="x.csv", Body=df.to_csv(index=False).encode())
    s3.put_object(Bucket=bucket, Key="noext", Body=b"[1]", ContentType="application/json")
    s3.put_object(Bucket=bucket, Key="x.txt", Body="é".encode("latin-1"),
                  ContentType="text/plain; charset=latin-1")
    s3.put_object(Bucket=bucket, Key="x.unknown", Body=b"\x00")
    assert b("x.json") == {"a": 1}
    pd.testing.assert_frame_equal(b("x.csv"), df)
    assert b("noext") == [1]
    assert b("x.txt") == "é"
    assert b("x.unknown") == b"\x00"
    assert b.get_meta("x.json") == {}


def test_pickles_are_never_loaded(b: t4.Bucket, s3, bucket: str):
    import pickle

    s3.put_object(Bucket=bucket, Key="evil.pkl", Body=pickle.dumps({"a": 1}))
    s3.put_object(Bucket=bucket, Key="evil", Body=pickle.dumps({"a": 1}),
                  Metadata={"helium": '{"format": {"name": "pickle"}}'})
    for key in ("evil.pkl", "evil"):
        with pytest.raises(t4.FormatError, match="pickle"):
            b(key)


def test_unknown_recorded_format_and_bad_bytes(b: t4.Bucket, s3, bucket: str):
    s3.put_object(Bucket=bucket, Key="h5", Body=b"x",
                  Metadata={"helium": '{"format": {"name": "hdf5"}, "target": "hdf5"}'})
    with pytest.raises(t4.FormatError, match="hdf5"):
        b("h5")
    s3.put_object(Bucket=bucket, Key="bad.json", Body=b"{nope")
    with pytest.raises(t4.FormatError, match=f"s3://{bucket}/bad.json"):
        b("bad.json")
    s3.put_object(Bucket=bucket, Key="badmeta", Body=b"x", Metadata={"helium": "{nope"})
    with pytest.raises(t4.MetadataError, match="not JSON"):
        b.get_meta("badmeta")


def test_put_unserializable_uploads_nothing(b: t4.Bucket):
    with pytest.raises(t4.FormatError):
        b.put("x", object())
    with pytest.raises(t4.FormatError):
        b.put("x", {"a": {1, 2}})
    assert b.keys() == []


def test_meta_over_2kb_is_refused_before_any_upload(b: t4.Bucket, tmp_path: Path):
    big = {"k": "x" * 2100}
    with pytest.raises(t4.MetadataTooLargeError, match="over the limit of 2048 bytes"):
        b.put("big.json", {"a": 1}, meta=big)
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(t4.MetadataTooLargeError):
        b.put_file("big.txt", tmp_path / "f.txt", meta=big)
    with pytest.raises(t4.MetadataTooLargeError):
        b.put_dir("d", tmp_path, meta=big)
    assert b.keys() == []


def test_meta_at_the_limit_is_stored(b: t4.Bucket, s3, bucket: str):
    wrapper = len("helium") + len(json.dumps({"user_meta": {"k": ""}, "format": {"name": "json"},
                                                "target": "json"}))
    meta = {"k": "x" * (2048 - wrapper)}
    b.put("edge.json", 1, meta=meta)
    assert b.get_meta("edge.json") == meta
    stored = s3.head_object(Bucket=bucket, Key="edge.json")["Metadata"]
    assert sum(len(k) + len(v) for k, v in stored.items()) == 2048
    with pytest.raises(t4.MetadataTooLargeError, match="2049 bytes"):
        b.put("edge2.json", 1, meta={"k": meta["k"] + "x"})


@pytest.mark.parametrize("key", AWKWARD_KEYS)
def test_awkward_keys_round_trip(b: t4.Bucket, s3, bucket: str, key: str):
    b.put(key, {"key": key}, meta={"k": key})
    assert b.keys() == [key]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == json.dumps({"key": key}).encode()
    assert b(key) == {"key": key}
    assert b.get_meta(key) == {"k": key}
    b.delete(key)
    assert b.keys() == []


def test_put_file_as_the_seed_shows(b: t4.Bucket, s3, bucket: str, tmp_path: Path):
    src = tmp_path / "foo.csv"
    src.write_text("a,b\n1,2\n")
    b.put_file("foo.csv", src, meta={"foo": "bar"})
    head = s3.head_object(Bucket=bucket, Key="foo.csv")
    assert json.loads(head["Metadata"]["helium"]) == {"user_meta": {"foo": "bar"}}
    assert head["ContentType"] == "text/csv"
    assert b.get_meta("foo.csv") == {"foo": "bar"}
    pd.testing.assert_frame_equal(b("foo.csv"), pd.DataFrame({"a": [1], "b": [2]}))
    # the content type comes from the local file's name, and is what deserialize reads next
    b.put_file("plain", str(src))  # str paths too, no meta
    assert b.get_meta("plain") == {}
    assert isinstance(b("plain"), pd.DataFrame)
    (tmp_path / "noext").write_bytes(b"a,b\n")
    b.put_file("plain.csv", tmp_path / "noext")
    assert s3.head_object(Bucket=bucket, Key="plain.csv")["ContentType"] == (
        "application/octet-stream")
    assert isinstance(b("plain.csv"), pd.DataFrame)  # by the key's extension


def test_put_file_errors(b: t4.Bucket, tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        b.put_file("x", tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        b.put_file("x", tmp_path)
    (tmp_path / "f").write_text("x")
    with pytest.raises(t4.InvalidLocationError, match="names a folder"):
        b.put_file("folder/", tmp_path / "f")
    with pytest.raises(t4.InvalidLocationError):
        b.put("", {"a": 1})
    with pytest.raises(t4.InvalidLocationError, match="over S3's limit of 1024"):
        b.put("k" * 1025, 1)
    assert b.keys() == []


def test_missing_key_errors_name_bucket_and_key(b: t4.Bucket, bucket: str, tmp_path: Path):
    for call in (lambda: b("no/such key"), lambda: b.get_meta("no/such key"),
                 lambda: b.fetch("no/such key", tmp_path / "x")):
        with pytest.raises(FileNotFoundError) as info:
            call()
        assert isinstance(info.value, t4.NotFoundError)
        assert f"s3://{bucket}/no/such key" in str(info.value)
        assert info.value.__cause__ is not None
    assert not (tmp_path / "x").exists()


def test_missing_bucket_errors(unique_name, tmp_path: Path):
    missing = t4.Bucket(f"s3://{unique_name('nob')}")
    with pytest.raises(t4.NotFoundError, match="NoSuchBucket"):
        missing.put("k", 1)
    with pytest.raises(t4.NotFoundError):
        missing("k")


# --- fetch -----------------------------------------------------------------------------------


def test_fetch_file_to_path_and_into_folder(b: t4.Bucket, tmp_path: Path):
    b.put("path/to/file.txt", "contents")
    out = b.fetch("path/to/file.txt", tmp_path / "local" / "renamed.txt")
    assert out == tmp_path / "local" / "renamed.txt"
    assert out.read_text() == "contents"
    folder = tmp_path / "existing"
    folder.mkdir()
    assert b.fetch("path/to/file.txt", folder) == folder / "file.txt"
    assert (folder / "file.txt").read_text() == "contents"
    assert b.fetch("path/to/file.txt", f"{tmp_path}/new/") == tmp_path / "new" / "file.txt"
    # replaces an existing file, leaving no temporary files behind
    b.put("path/to/file.txt", "new contents")
    b.fetch("path/to/file.txt", folder)
    assert (folder / "file.txt").read_text() == "new contents"
    assert sorted(p.name for p in folder.iterdir()) == ["file.txt"]


def test_fetch_folder_of_many_files_with_progress(b: t4.Bucket, tmp_path: Path):
    files = {f"sub{i % 7}/file {i}+ü.bin": os.urandom(i % 50) for i in range(300)}
    _tree(tmp_path / "src", files)
    events: list[t4.Progress] = []
    assert b.put_dir("stuff", tmp_path / "src", meta={"origin": "unknown"},
                     progress=events.append) == 300
    assert [e.files_done for e in events] == list(range(1, 301))
    assert events[-1].bytes_done == events[-1].bytes_total == sum(map(len, files.values()))
    assert sorted(b.keys()) == sorted(f"stuff/{k}" for k in files)
    assert b.get_meta("stuff/sub0/file 0+ü.bin") == {"origin": "unknown"}

    fetched: list[t4.Progress] = []
    assert b.fetch("stuff/", tmp_path / "out", progress=fetched.append) == tmp_path / "out"
    assert len(fetched) == 300 and fetched[-1].files_total == 300
    for rel, data in files.items():
        assert (tmp_path / "out" / rel).read_bytes() == data
    # without the trailing slash, a key that is not an object is fetched as a folder
    b.fetch("stuff", tmp_path / "out2")
    assert sorted(p.relative_to(tmp_path / "out2").as_posix()
                  for p in (tmp_path / "out2").rglob("*") if p.is_file()) == sorted(files)


def test_put_dir_prefix_forms_and_empty_folder(b: t4.Bucket, tmp_path: Path):
    _tree(tmp_path / "src", {"a.txt": b"a", "d/b.txt": b"b"})
    b.put_dir("p1/", tmp_path / "src")
    b.put_dir("", tmp_path / "src")
    assert b.keys() == ["a.txt", "d/b.txt", "p1/a.txt", "p1/d/b.txt"]
    (tmp_path / "empty").mkdir()
    assert b.put_dir("e", tmp_path / "empty") == 0
    with pytest.raises(FileNotFoundError):
        b.put_dir("x", tmp_path / "nope")
    with pytest.raises(NotADirectoryError):
        b.put_dir("x", tmp_path / "src" / "a.txt")


def test_put_dir_keeps_content_types(b: t4.Bucket, s3, bucket: str, tmp_path: Path):
    _tree(tmp_path, {"x.json": b"{}", "y.weird": b"?"})
    b.put_dir("ct", tmp_path)
    assert s3.head_object(Bucket=bucket, Key="ct/x.json")["ContentType"] == "application/json"
    assert s3.head_object(Bucket=bucket, Key="ct/y.weird")["ContentType"] == (
        "application/octet-stream")


def test_fetch_skips_folder_markers(b: t4.Bucket, s3, bucket: str, tmp_path: Path):
    for key in ("f/", "f/sub/", "f/sub/x.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"" if key.endswith("/") else b"x")
    b.fetch("f/", tmp_path / "out")
    assert [p.relative_to(tmp_path / "out").as_posix()
            for p in sorted((tmp_path / "out").rglob("*"))] == ["sub", "sub/x.txt"]
    with pytest.raises(t4.InvalidLocationError, match="names a folder"):
        b("f/")


def test_fetch_folder_with_only_markers_creates_the_destination(b: t4.Bucket, s3, bucket: str,
                                                                tmp_path: Path):
    s3.put_object(Bucket=bucket, Key="only/", Body=b"")
    assert b.fetch("only/", tmp_path / "o") == tmp_path / "o"
    assert list((tmp_path / "o").iterdir()) == []


def test_fetch_empty_prefix_is_not_found(b: t4.Bucket, tmp_path: Path):
    with pytest.raises(t4.NotFoundError, match="no objects under it"):
        b.fetch("nothing/", tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_fetch_whole_bucket(b: t4.Bucket, tmp_path: Path):
    b.put("a.txt", "1")
    b.put("b/c.txt", "2")
    b.fetch("", tmp_path)
    assert (tmp_path / "a.txt").read_text() == "1"
    assert (tmp_path / "b" / "c.txt").read_text() == "2"


def test_fetch_where_a_and_a_slash_b_both_exist(b: t4.Bucket, tmp_path: Path):
    b.put("a", "file a")
    b.put("a/b", "file a/b")
    # the object wins over the folder of the same name ...
    assert b.fetch("a", tmp_path / "one").read_text() == "file a"
    # ... and the trailing slash asks for the folder
    b.fetch("a/", tmp_path / "two")
    assert (tmp_path / "two" / "b").read_text() == "file a/b"
    # a folder fetch holding both refuses before writing anything
    with pytest.raises(t4.LocalPathConflictError) as info:
        b.fetch("", tmp_path / "three")
    assert info.value.keys == ["a"]
    assert not (tmp_path / "three").exists()


@pytest.mark.parametrize("evil", ["d/../../escape.txt", "d//abs.txt", "d/./dot.txt"])
def test_fetch_never_writes_outside_the_destination(b: t4.Bucket, tmp_path: Path, evil: str):
    b.put("d/fine.txt", "ok")
    b.put(evil, "evil")
    dest = tmp_path / "inner" / "dest"
    with pytest.raises(t4.UnsafeKeyError) as info:
        b.fetch("d/", dest)
    assert info.value.keys == [evil]
    assert evil in str(info.value)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    # fetching the key alone to a path of one's choice works
    assert b.fetch(evil, tmp_path / "chosen.txt").read_text() == "evil"


def test_fetch_absolute_key_and_dotdot_name_into_folder(b: t4.Bucket, tmp_path: Path):
    b.put("/abs/x.txt", "abs")
    with pytest.raises(t4.UnsafeKeyError):
        b.fetch("", tmp_path / "all")
    assert b.fetch("/abs/x.txt", tmp_path) == tmp_path / "x.txt"
    b.put("up/..", "dots")
    with pytest.raises(t4.UnsafeKeyError, match="cannot be used as a file name"):
        b.fetch("up/..", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_fetch_folder_reports_every_failed_file(b: t4.Bucket, bucket: str, s3, tmp_path: Path):
    for i in range(5):
        b.put(f"f/{i}.txt", str(i))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "3.txt").mkdir()  # a folder where a file must go: a local failure
    with pytest.raises(t4.TransferError) as info:
        b.fetch("f/", tmp_path / "out")
    assert list(info.value.errors) == ["f/3.txt"]
    assert (tmp_path / "out" / "4.txt").read_text() == "4"


# --- delete ----------------------------------------------------------------------------------


def test_delete_file(b: t4.Bucket):
    b.put("x.json", 1)
    b.put("y.json", 2)
    b.delete("x.json")
    assert b.keys() == ["y.json"]
    b.delete("x.json")  # as in S3, deleting a missing key succeeds
    with pytest.raises(t4.InvalidLocationError, match="use delete_dir"):
        b.delete("folder/")


def test_delete_dir_batches_over_1000(b: t4.Bucket, s3, bucket: str):
    keys = [f"big/{i:05d}" for i in range(2001)] + ["big/", "bigger/keep", "big-keep"]
    _put_many(s3, bucket, keys)
    assert b.delete_dir("big") == 2002
    assert b.keys() == ["big-keep", "bigger/keep"]
    assert b.delete_dir("big/") == 0


def test_delete_dir_refuses_the_whole_bucket(b: t4.Bucket):
    b.put("x", 1)
    for prefix in ("", "/", "//"):
        with pytest.raises(t4.InvalidLocationError, match="whole bucket"):
            b.delete_dir(prefix)
    assert b.keys() == ["x"]


class _RefusingDeletes:
    """A client that passes everything to moto but makes DeleteObjects refuse some keys."""

    def __init__(self, real, refuse: set[str]):
        self._real = real
        self._refuse = refuse
        self.delete_requests: list[int] = []

    def __getattr__(self, name):
        return getattr(self._real, name)

    def delete_objects(self, Bucket, Delete):  # noqa: N803 - boto3's argument names
        objects = Delete["Objects"]
        self.delete_requests.append(len(objects))
        keep = [o for o in objects if o["Key"] not in self._refuse]
        resp = self._real.delete_objects(Bucket=Bucket, Delete={**Delete, "Objects": keep})
        resp["Errors"] = resp.get("Errors", []) + [
            {"Key": o["Key"], "Code": "AccessDenied", "Message": "Access Denied"}
            for o in objects if o["Key"] in self._refuse]
        return resp


def test_delete_dir_raises_per_key_errors(s3, bucket: str):
    keys = [f"d/{i:04d}" for i in range(1003)]
    _put_many(s3, bucket, keys)
    client = _RefusingDeletes(s3, {"d/0007", "d/1002"})
    b = t4.Bucket(bucket, client=client)
    with pytest.raises(t4.DeleteError) as info:
        b.delete_dir("d")
    assert client.delete_requests == [1000, 3]
    assert [(f.key, f.code) for f in info.value.errors] == [("d/0007", "AccessDenied"),
                                                            ("d/1002", "AccessDenied")]
    assert "d/0007" in str(info.value) and "2 key(s)" in str(info.value)
    assert sorted(b.keys()) == ["d/0007", "d/1002"]


# --- versions --------------------------------------------------------------------------------


def test_versions(versioned_bucket: str, tmp_path: Path):
    b = t4.Bucket(f"s3://{versioned_bucket}")
    v1 = b.put("doc.json", {"v": 1}, meta={"n": 1})
    v2 = b.put("doc.json", {"v": 2}, meta={"n": 2})
    assert v1 and v2 and v1 != v2
    assert b("doc.json") == {"v": 2}
    assert b(f"doc.json?versionId={v1}") == {"v": 1}
    assert b.deserialize("doc.json", version_id=v1) == {"v": 1}
    assert b.get_meta(f"doc.json?versionId={v1}") == {"n": 1}
    assert b.get_meta("doc.json", version_id=v2) == {"n": 2}
    assert b.fetch(f"doc.json?versionId={v1}", tmp_path / "v1.json").read_text() == '{"v": 1}'
    assert b.fetch("doc.json", tmp_path / "v2.json", version_id=v2).read_text() == '{"v": 2}'

    # deleting the current version reveals the previous one
    b.delete(f"doc.json?versionId={v2}")
    assert b("doc.json") == {"v": 1}
    # a plain delete adds a delete marker; old versions stay readable
    b.delete("doc.json")
    with pytest.raises(t4.NotFoundError):
        b("doc.json")
    assert b("doc.json", version_id=v1) == {"v": 1}
    with pytest.raises(t4.InvalidLocationError, match="not a folder"):
        b.fetch(f"dir/?versionId={v1}", tmp_path / "x")


def test_missing_version(versioned_bucket: str):
    b = t4.Bucket(versioned_bucket)
    b.put("k", 1)
    with pytest.raises((t4.NotFoundError, t4.S3Error)) as info:
        b("k?versionId=doesnotexist")
    assert f"s3://{versioned_bucket}/k?versionId=doesnotexist" in str(info.value)


def test_put_file_returns_version_and_delete_dir_versioned(versioned_bucket: str, tmp_path: Path):
    b = t4.Bucket(versioned_bucket)
    (tmp_path / "f.txt").write_text("x")
    assert b.put_file("d/f.txt", tmp_path / "f.txt")
    assert b.delete_dir("d") == 1
    assert b.keys() == []


# --- retries through the real client ---------------------------------------------------------


class _Flaky:
    """Passes calls to moto after failing the first ``failures`` of each named operation."""

    def __init__(self, real, failures: int, code: str = "SlowDown", status: int = 503):
        self._real = real
        self._left: dict[str, int] = {}
        self._failures, self._code, self._status = failures, code, status
        self.calls: dict[str, int] = {}

    def __getattr__(self, name):
        target = getattr(self._real, name)

        def call(*args, **kwargs):
            from botocore.exceptions import ClientError

            self.calls[name] = self.calls.get(name, 0) + 1
            left = self._left.setdefault(name, self._failures)
            if left:
                self._left[name] = left - 1
                raise ClientError({"Error": {"Code": self._code, "Message": "injected"},
                                   "ResponseMetadata": {"HTTPStatusCode": self._status}}, name)
            return target(*args, **kwargs)

        return call


def test_throttling_and_5xx_are_retried(s3, bucket: str):
    flaky = _Flaky(s3, failures=2)
    b = t4.Bucket(bucket, client=flaky, retry=RetryPolicy(base=0.001, cap=0.01))
    b.put("k.json", {"a": 1})
    assert b("k.json") == {"a": 1}
    assert flaky.calls == {"put_object": 3, "get_object": 3}


def test_retries_are_capped(s3, bucket: str):
    flaky = _Flaky(s3, failures=10, code="InternalError", status=500)
    b = t4.Bucket(bucket, client=flaky, retry=RetryPolicy(max_attempts=4, base=0.001))
    with pytest.raises(t4.S3Error) as info:
        b.put("k", 1)
    assert info.value.code == "InternalError" and info.value.status == 500
    assert flaky.calls == {"put_object": 4}


def test_unreachable_endpoint_is_a_project_error(bucket: str):
    import boto3

    client = boto3.client("s3", endpoint_url="http://127.0.0.1:9")  # discard port: refused
    b = t4.Bucket(bucket, client=client, retry=RetryPolicy(max_attempts=2, base=0.001))
    with pytest.raises(t4.S3Error, match=f"s3://{bucket}"):
        b.keys()


# --- search is not wired here ----------------------------------------------------------------


def test_search_says_it_is_not_configured(b: t4.Bucket):
    with pytest.raises(t4.SearchNotConfiguredError, match="not configured"):
        b.search("thor")


# --- keys that must not write elsewhere, keys S3 refuses -------------------------------------


def test_a_version_cannot_be_chosen_on_write(b: t4.Bucket, tmp_path: Path):
    b.put("report.txt", "the real report")
    local = tmp_path / "f.txt"
    local.write_text("other")
    folder = _tree(tmp_path / "dir", {"a?versionId=abc": b"x"})
    for write in (lambda: b.put("report.txt?versionId=abc", "overwrite?"),
                  lambda: b.put_file("report.txt?versionId=abc", local),
                  lambda: b.put_dir("", folder)):
        with pytest.raises(t4.InvalidLocationError, match="cannot be chosen on write"):
            write()
    assert b("report.txt") == "the real report"
    assert b.keys() == ["report.txt"]


def test_t4_put_refuses_a_version_in_the_key(b: t4.Bucket, bucket: str, tmp_path: Path, capsys):
    from t4.cli import main

    b.put("report.txt", "the real report")
    local = tmp_path / "f.txt"
    local.write_text("other")
    assert main(["put", str(local), f"s3://{bucket}/report.txt?versionId=abc"]) != 0
    err = capsys.readouterr().err
    assert "cannot be chosen on write" in err and "Traceback" not in err
    assert b("report.txt") == "the real report"


def test_delete_dir_with_a_key_deleteobjects_cannot_carry(b: t4.Bucket, s3, bucket: str):
    # A control character cannot travel in DeleteObjects' XML body, so the whole batch
    # request fails; the batch is then deleted key by key, which reaches that key too.
    keys = ["c/ok-1", "c/bad\x01key", "c/ok-2", "keep"]
    _put_many(s3, bucket, keys)
    assert b.delete_dir("c") == 3
    assert b.keys() == ["keep"]


@pytest.mark.parametrize(("name", "expected"), [
    ("study.ipynb", "application/x-ipynb+json"),
    ("table.parquet", "application/vnd.apache.parquet"),
    ("rows.jsonl", "application/jsonl"),
    ("array.npy", "application/x-npy"),
    ("arrays.npz", "application/x-npz"),
    ("table.csv.gz", "application/gzip"),
    ("notes.md", "text/markdown"),
    ("photo.JPG", "image/jpeg"),
])
def test_put_file_and_put_dir_type_what_the_project_reads(
        b: t4.Bucket, s3, bucket: str, tmp_path: Path, name: str, expected: str):
    """These went up as application/octet-stream (and a.csv.gz as text/csv)."""
    _tree(tmp_path / "src", {name: b"x"})
    b.put_file(f"one/{name}", tmp_path / "src" / name)
    b.put_dir("many", tmp_path / "src")
    for key in (f"one/{name}", f"many/{name}"):
        assert s3.head_object(Bucket=bucket, Key=key)["ContentType"] == expected, key


def test_a_given_content_type_wins(b: t4.Bucket, s3, bucket: str, tmp_path: Path):
    _tree(tmp_path / "src", {"x.csv": b"a,b\n"})
    b.put_file("one/x.csv", tmp_path / "src" / "x.csv", content_type="text/plain; charset=utf-8")
    b.put_dir("many", tmp_path / "src", content_type="application/x-custom")
    assert s3.head_object(Bucket=bucket, Key="one/x.csv")["ContentType"] == (
        "text/plain; charset=utf-8")
    assert s3.head_object(Bucket=bucket, Key="many/x.csv")["ContentType"] == (
        "application/x-custom")
