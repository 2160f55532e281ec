"""Every failure of ``t4-backfill`` named in the index-truth issue: one line, an exit code,
nothing written to the index, never a traceback."""

from __future__ import annotations

import json

import boto3

from indexer.backfill.cli import main
from t4index.lifecycle import bucket_indices


def _run(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "Traceback" not in captured.err + captured.out
    return code, err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("t4-backfill: ")
    return lines[0]


def test_a_missing_bucket_is_one_line_and_creates_no_index(es, stack_env, unique_name, capsys):
    name = unique_name("nobucket")
    for command in ("backfill", "repair", "verify"):
        code, err = _run([command, f"s3://{name}"], capsys)
        assert code != 0
        assert "no such bucket" in _one_line(err) and name in err
    assert bucket_indices(es, name) == {}


def test_an_invalid_bucket_name(stack_env, capsys):
    code, err = _run(["backfill", "s3://Not_A_Bucket!"], capsys)
    assert code != 0 and "bucket" in _one_line(err).lower()


def test_no_aws_credentials(stack_env, monkeypatch, tmp_path, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # no credentials cached by other tests
    code, err = _run(["backfill", "s3://some-bucket"], capsys)
    assert code != 0 and "no AWS credentials" in _one_line(err)


def test_the_s3_endpoint_down(stack_env, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard port: nothing there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, err = _run(["backfill", "s3://some-bucket"], capsys)
    assert code != 0 and "cannot reach" in _one_line(err)


def test_a_missing_enqueue_queue(stack_env, bucket, unique_name, capsys):
    code, err = _run(["backfill", f"s3://{bucket}", "--enqueue", unique_name("noqueue"),
                      "--restart"], capsys)
    assert code != 0 and "--enqueue queue" in _one_line(err)


def test_a_missing_inventory_manifest(stack_env, bucket, capsys):
    code, err = _run(["backfill", f"s3://{bucket}", "--inventory",
                      f"s3://{bucket}/inv/manifest.json"], capsys)
    assert code != 0 and "inventory manifest" in _one_line(err) and "no such" in err


def test_an_unwritable_checkpoint(stack_env, bucket, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code, err = _run(["backfill", f"s3://{bucket}", "--checkpoint",
                      str(blocker / "cp.json")], capsys)
    assert code != 0 and "cannot write the checkpoint" in _one_line(err)


def test_a_corrupt_checkpoint_says_how_to_start_over(stack_env, bucket, tmp_path, capsys):
    checkpoint = tmp_path / "cp.json"
    for text in ("{not json", json.dumps([1, 2])):
        checkpoint.write_text(text)
        code, err = _run(["backfill", f"s3://{bucket}", "--checkpoint", str(checkpoint)],
                         capsys)
        line = _one_line(err)
        assert code != 0 and ("corrupt" in line or "not a checkpoint" in line)
        assert "--restart" in line
    code, _ = _run(["backfill", f"s3://{bucket}", "--checkpoint", str(checkpoint),
                    "--restart"], capsys)
    assert code == 0


def test_reindex_of_a_bucket_without_index_changes_nothing(es, stack_env, unique_name, capsys):
    name = unique_name("noindex")
    code, err = _run(["reindex", name, "--to-version", "9"], capsys)
    assert code != 0 and "has no index yet" in _one_line(err)
    assert bucket_indices(es, name) == {}


def test_the_engine_down(stack_env, bucket, monkeypatch, capsys):
    monkeypatch.setenv("T4_ES_URL", "http://127.0.0.1:9")
    code, err = _run(["backfill", f"s3://{bucket}", "--restart"], capsys)
    assert code != 0 and "Connection refused" in _one_line(err)
