"""The README's run command ends with three searches that print the right files."""

from __future__ import annotations

from infra.local import demo
from infra.local.settings import StackSettings


def test_demo_indexes_the_samples_and_prints_three_searches(capsys, unique_name,
                                                            drop_indices, monkeypatch):
    bucket = unique_name("demo")
    drop_indices(bucket)
    settings = StackSettings.from_env()
    # the demo points this process at the search API; monkeypatch undoes it after the test
    monkeypatch.setenv("T4_SEARCH_API_URL", settings.search_api_url)
    assert demo.run(settings, bucket=bucket) == 0
    out = capsys.readouterr().out
    sections = out.split("\nfull text:")[1].split("\nmetadata:")
    full_text, rest = sections[0], sections[1]
    metadata, combined = rest.split("\ncombined:")
    assert "samples/storm-report.pdf" in full_text and "samples/thor-notes.md" in full_text
    assert "(2 matches)" in full_text
    assert "samples/storm-report.pdf" in metadata and "samples/thor-notes.md" in metadata
    assert "loki" not in metadata
    assert "samples/thor-notes.md" in combined and "samples/measurements.csv" in combined
    assert "storm-report" not in combined  # year 2023 is filtered out
