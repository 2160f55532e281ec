"""The Lambda package's lock file and build rules (no network; the build itself is an
integration test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.aws.build_lambda import (
    EXCLUDED,
    LOCK_FILE,
    BuildError,
    read_lock,
    resolve_closure,
    root_requirements,
)


def test_lock_file_pins_exactly_the_tested_closure() -> None:
    """The package holds what the tests ran with; a new or upgraded dependency needs --lock."""
    expected = resolve_closure(root_requirements())
    assert read_lock() == expected, (
        f"{LOCK_FILE.name} is out of date: run `python -m infra.aws.build_lambda --lock`")


def test_heavy_optional_dependencies_stay_out() -> None:
    assert not EXCLUDED & read_lock().keys()
    assert not any(r.split(">")[0].split("=")[0] in EXCLUDED for r in root_requirements())
    with pytest.raises(BuildError, match="pandas"):
        resolve_closure(["pandas>=2"])


def test_markers_are_evaluated_for_the_lambda_runtime() -> None:
    assert resolve_closure(['elasticsearch>=8; sys_platform == "win32"']) == {}
    assert "elasticsearch" in resolve_closure(['elasticsearch>=8; python_version >= "3.11"'])


def test_unsatisfied_or_missing_requirements_are_refused() -> None:
    with pytest.raises(BuildError, match="does not satisfy"):
        resolve_closure(["elasticsearch<1"])
    with pytest.raises(BuildError, match="not installed"):
        resolve_closure(["t4-no-such-distribution-x"])


@pytest.mark.parametrize("line", ["requests>=2", "requests", "-e .", "requests==2.0 extra"])
def test_lock_lines_must_be_exact_pins(tmp_path: Path, line: str) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text(f"# comment\nboto3==1.0\n{line}\n")
    with pytest.raises(BuildError, match=r"lock.txt:3"):
        read_lock(lock)
