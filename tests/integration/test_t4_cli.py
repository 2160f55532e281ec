"""The ``t4`` command line on moto server: ls, get, put, rm, meta, search."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import t4
from t4.cli import main

pytestmark = pytest.mark.integration


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_put_ls_meta_get_rm_file(bucket: str, tmp_path: Path):
    src = tmp_path / "a b+c%.txt"
    src.write_text("hello")
    assert run("put", str(src), f"s3://{bucket}/dir/a b+c%.txt", "--meta", '{"x": "ü"}') == (
        0, f"s3://{bucket}/dir/a b+c%.txt\n")
    assert run("put", str(src), f"s3://{bucket}/into/")[0] == 0
    assert run("ls", f"s3://{bucket}") == (0, "dir/a b+c%.txt\ninto/a b+c%.txt\n")
    code, out = run("ls", "-l", f"s3://{bucket}/dir/")
    assert code == 0 and out.rstrip().endswith("5 dir/a b+c%.txt")
    assert run("meta", f"s3://{bucket}/dir/a b+c%.txt") == (0, '{\n  "x": "ü"\n}\n')
    code, out = run("get", f"s3://{bucket}/dir/a b+c%.txt", str(tmp_path / "got.txt"))
    assert code == 0 and (tmp_path / "got.txt").read_text() == "hello"
    assert run("rm", f"s3://{bucket}/dir/a b+c%.txt") == (0, "")
    assert t4.Bucket(bucket).keys() == ["into/a b+c%.txt"]


def test_put_get_rm_folder_with_progress(bucket: str, tmp_path: Path, capsys):
    for i in range(25):
        (tmp_path / "src" / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "src" / f"d{i % 3}" / f"{i}.txt").write_text(str(i))
    assert main(["put", "--progress", str(tmp_path / "src"), f"s3://{bucket}/stuff"]) == 0
    err = capsys.readouterr().err
    assert "25/25 files" in err
    assert main(["get", "--progress", f"s3://{bucket}/stuff/", str(tmp_path / "out")]) == 0
    assert "25/25 files" in capsys.readouterr().err
    assert (tmp_path / "out" / "d1" / "4.txt").read_text() == "4"
    assert run("rm", "-r", f"s3://{bucket}/stuff") == (0, "25 key(s) deleted\n")


def test_versions_in_urls(versioned_bucket: str, tmp_path: Path):
    b = t4.Bucket(versioned_bucket)
    v1 = b.put("k.json", {"v": 1}, meta={"n": 1})
    b.put("k.json", {"v": 2}, meta={"n": 2})
    assert json.loads(run("meta", f"s3://{versioned_bucket}/k.json?versionId={v1}")[1]) == {"n": 1}
    run("get", f"s3://{versioned_bucket}/k.json?versionId={v1}", str(tmp_path / "v1"))
    assert (tmp_path / "v1").read_text() == '{"v": 1}'


def test_errors_exit_1_with_one_line(bucket: str, capsys, tmp_path: Path):
    assert main(["get", f"s3://{bucket}/missing", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("t4: error: ") and f"s3://{bucket}/missing" in err
    assert main(["ls", "not-a-url"]) == 1
    assert "not an S3 URL" in capsys.readouterr().err
    assert main(["put", str(tmp_path), f"s3://{bucket}/x", "--meta", "[1]"]) == 1
    assert "JSON object" in capsys.readouterr().err
    assert main(["search", f"s3://{bucket}", "thor"]) == 1
    assert "not configured" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_console_script_runs(bucket: str):
    exe = Path(sys.executable).with_name("t4")
    assert exe.exists(), "the t4 console script is declared in pyproject.toml"
    proc = subprocess.run([str(exe), "ls", f"s3://{bucket}"], capture_output=True, text=True,
                          env=dict(os.environ), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
