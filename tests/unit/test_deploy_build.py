"""The Lambda package's lock file and build rules (no network; the build itself is an
integration test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.aws.build_lambda import (
    EXCLUDED,
    LOCK_FILE,
    BuildError,
    check_wheels,
    read_lock,
    resolve_closure,
    root_requirements,
    runtime_accepts,
    wheel_tags,
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


@pytest.mark.parametrize(("tag", "loads"), [
    ("py3-none-any", True),
    ("py2.py3-none-any", True),
    ("cp313-cp313-manylinux_2_17_x86_64", True),
    ("cp313-cp313-manylinux2014_x86_64", True),
    ("cp313-cp313-manylinux_2_28_x86_64", True),
    ("cp38-abi3-manylinux_2_17_x86_64", True),
    ("cp311-cp311-manylinux_2_17_x86_64", False),  # built for another Python
    ("cp314-abi3-manylinux_2_17_x86_64", False),   # needs a newer Python than the runtime
    ("cp313-cp313-manylinux_2_17_aarch64", False),
    ("cp313-cp313-musllinux_1_2_x86_64", False),
    ("cp313-cp313-manylinux_2_39_x86_64", False),  # newer glibc than Amazon Linux 2023's
    ("cp313-cp313-macosx_11_0_x86_64", False),
])
def test_runtime_accepts_only_wheels_it_can_load(tag: str, loads: bool) -> None:
    assert runtime_accepts(tag) is loads


def test_a_wheel_for_another_runtime_is_refused(tmp_path: Path) -> None:
    for name, tags in (("fine-1.0", ["py3-none-any"]),
                       ("native-2.0", ["cp311-cp311-manylinux_2_17_x86_64",
                                       "cp311-cp311-manylinux2014_x86_64"])):
        info = tmp_path / f"{name}.dist-info"
        info.mkdir()
        (info / "WHEEL").write_text("Wheel-Version: 1.0\n" + "".join(f"Tag: {t}\n" for t in tags))
    assert wheel_tags(tmp_path)["native-2.0.dist-info"][0] == "cp311-cp311-manylinux_2_17_x86_64"
    with pytest.raises(BuildError, match="native-2.0") as info:
        check_wheels(tmp_path)
    assert "fine-1.0" not in str(info.value)


def test_the_lock_holds_only_what_the_code_imports() -> None:
    """`tika` and `beautifulsoup4` used to ride along in the zip, unimported. (`requests` is
    imported now: opensearch-py's helpers, the OpenSearch engine's bulk, import it.)"""
    assert not {"tika", "beautifulsoup4", "soupsieve", "testcontainers"} & (
        read_lock().keys())
