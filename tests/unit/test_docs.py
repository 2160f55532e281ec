"""The docs site builds with warnings as errors; the README stays short; the examples the
integration tests run are found (tests/support/docs.py); every integration test is marked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.docs import ROOT, bucket_names, doc_files, examples

QUIET = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config),
         "--site-dir", str(site)],
        capture_output=True, text=True, env=QUIET, timeout=240)


def test_the_docs_site_builds_with_warnings_as_errors(tmp_path: Path):
    done = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}"
    for page in ("index", "client", "search", "the-index", "pipeline", "extraction",
                 "search-api", "backfill", "deploying", "local-stack", "benchmarks",
                 "decisions"):
        built = tmp_path / "site" / ("index.html" if page == "index" else f"{page}/index.html")
        assert built.is_file(), f"{page} was not built"


@pytest.mark.parametrize("broken", [
    "[a section that does not exist](client.md#no-such-section)",
    "[a page that does not exist](no-such-page.md)",
], ids=["anchor", "page"])
def test_a_broken_link_fails_the_docs_build(tmp_path: Path, broken: str):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with (tmp_path / "docs" / "index.md").open("a", encoding="utf-8") as fh:
        fh.write(f"\nSee {broken}.\n")
    done = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert "no-such" in done.stdout + done.stderr


def test_a_page_left_out_of_the_navigation_fails_the_docs_build(tmp_path: Path):
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "docs" / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    done = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert "orphan.md" in done.stdout + done.stderr


def test_the_readme_is_short_and_keeps_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 10_000
    assert "./dev run     # set up, start the local stack, run the demo\n" in readme
    assert "./dev test    # set up, start the local stack, run the whole test suite\n" in readme


def test_the_readme_links_only_to_docs_pages_that_exist():
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert targets
    missing = [t for t in targets if not (ROOT / t).is_file()]
    assert missing == []


def test_the_main_examples_are_executed():
    """The README's first example and the client and search pages' examples run in the
    integration tests; every mark in every page is well placed."""
    found = {path.relative_to(ROOT).as_posix(): examples(path) for path in doc_files()}
    for page in ("README.md", "docs/client.md", "docs/search.md"):
        assert found[page], f"{page} has no executed (pycon) example"
        assert bucket_names(found[page]), f"{page}'s examples name no bucket"
    assert any(e.after_indexing for e in found["README.md"])
    assert any(e.after_indexing for e in found["docs/search.md"])


def test_a_mark_must_stand_right_before_a_pycon_block(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("<!-- docs-test -->\n```python\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="right before a pycon block"):
        examples(page)
    page.write_text("<!-- docs-test: later -->\n```pycon\n>>> 1\n1\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown docs-test option"):
        examples(page)


def test_examples_are_read_in_order_with_their_line_and_buckets(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n```pycon\n>>> b = Bucket('s3://one')\n```\n\n"
        "```python\nnot_run('s3://never')\n```\n\n"
        "<!-- docs-test: after-indexing -->\n```pycon\n>>> Bucket('s3://two.b')\n```\n",
        encoding="utf-8")
    found = examples(page)
    assert [(e.line, e.after_indexing) for e in found] == [(4, False), (13, True)]
    assert bucket_names(found) == ["one", "two.b"]


def test_every_test_under_tests_integration_is_marked_integration():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", "not integration", str(ROOT / "tests" / "integration")],
        capture_output=True, text=True, cwd=ROOT, timeout=240)
    # exit status 5: every test was deselected, none collected under "not integration"
    assert done.returncode == 5, done.stdout + done.stderr
    assert "deselected" in done.stdout
