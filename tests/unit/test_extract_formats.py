"""The fast-path extractors (no Tika) on real files of each format, and the bad inputs.

Objects are local bytes behind :class:`indexer.source.FileSource`; the same
extractors run on S3 in ``tests/integration/test_extract_s3.py``.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import gzip
import io
import json
import random
import struct
import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from indexer.extract import ExtractLimits, Extractor
from indexer.source import FileSource

MB = 2**20


def run(data: bytes, key: str, limits: ExtractLimits | None = None, **kwargs):
    return Extractor(None, limits).extract(FileSource.from_bytes(data, key, **kwargs))


# --- text --------------------------------------------------------------------------------


def test_plain_text_markdown_and_source() -> None:
    got = run("Grüße aus Zürich\nzweite Zeile\n".encode(), "notes.txt")
    assert (got.status, got.extractor, got.truncated, got.error) == ("ok", "text", False, None)
    assert got.text == "Grüße aus Zürich\nzweite Zeile\n"
    assert got.metadata["encoding"] == "utf-8"
    assert "# Heading" in run(b"# Heading\n\nSome *markdown*.", "README.md").text
    code = run(b"def main():\n    return 42\n", "src/app.py")
    assert code.extractor == "text" and "return 42" in code.text


def test_invalid_utf8_never_fails() -> None:
    data = b"valid start \xff\xfe\xc3 broken \x80\x81 and the end " + "é".encode() * 5000
    got = run(data, "broken.txt")
    assert got.status == "ok" and got.extractor == "text"
    assert "valid start" in got.text and "the end" in got.text
    assert "é" * 100 in got.text  # a few bad bytes do not turn the rest into mojibake
    latin = run("Ceci est un café très animé, naïve élève. ".encode("cp1252") * 50, "fr.txt")
    assert latin.status == "ok" and "caf" in latin.text and "\ufffd" not in latin.text
    utf16 = run("wide text ünïcode".encode("utf-16"), "w.txt")
    assert utf16.text == "wide text ünïcode"
    controls = run(b"bell\x07 nul\x00 tab\tend", "c.txt")
    assert controls.text == "bell nul tab\tend"


def test_text_prefix_bound_and_a_cut_multibyte_character() -> None:
    limits = ExtractLimits(text_prefix_bytes=1001)
    got = run("é".encode() * 2000, "long.txt", limits)  # byte 1001 splits a character
    assert (got.status, got.truncated) == ("truncated", True)
    assert got.text == "é" * 500
    assert "text_prefix_bytes=1001" in got.error


def test_max_chars_bound() -> None:
    got = run(b"word " * 1000, "w.txt", ExtractLimits(max_chars=100))
    assert (got.status, got.truncated, len(got.text)) == ("truncated", True, 100)
    assert "max_chars=100" in got.error


def test_empty_and_binary_objects() -> None:
    empty = run(b"", "empty.txt")
    assert (empty.status, empty.text) == ("ok", "")
    binary = run(bytes(range(256)) * 100, "blob.bin")
    assert (binary.status, binary.extractor, binary.text) == ("unsupported", "none", "")


# --- tables ------------------------------------------------------------------------------


def _csv(rows: list[list[object]], delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows(rows)
    return buf.getvalue().encode()


def test_csv_header_and_rows() -> None:
    data = _csv([["name", "city"], ["Ann", "Oslo, Norway"], ["Bob", "Lima"]])
    got = run(data, "people.csv")
    assert (got.status, got.extractor) == ("ok", "csv")
    assert got.metadata["columns"] == ["name", "city"]
    assert got.metadata["rows_indexed"] == 2
    assert "Oslo, Norway" in got.text.splitlines()[1]


def test_tsv_and_sniffed_semicolons() -> None:
    tsv = run(_csv([["a b", "c"], ["1", "2"]], "\t"), "t.tsv")
    assert (tsv.extractor, tsv.metadata["columns"]) == ("tsv", ["a b", "c"])
    semi = run(b"x;y;z\n1;2;3\n4;5;6\n", "eu.csv")
    assert semi.metadata["delimiter"] == ";" and semi.metadata["columns"] == ["x", "y", "z"]


def test_csv_row_and_prefix_bounds() -> None:
    data = _csv([["id", "value"]] + [[i, f"v{i}"] for i in range(5000)])
    rows = run(data, "big.csv", ExtractLimits(table_rows=10))
    assert (rows.status, rows.metadata["rows_indexed"]) == ("truncated", 10)
    assert rows.text.splitlines()[-1] == "9\tv9"
    prefix = run(data, "big.csv", ExtractLimits(text_prefix_bytes=100))
    assert prefix.status == "truncated" and prefix.text.splitlines()[0] == "id\tvalue"
    assert all(len(line.split("\t")) == 2 for line in prefix.text.splitlines())  # no half row


# --- JSON, JSON Lines, notebooks ---------------------------------------------------------


def test_json_keys_and_values() -> None:
    doc = {"title": "Survey", "tags": ["ocean", "salinity"], "site": {"depth": 12.5}}
    got = run(json.dumps(doc).encode(), "meta.json")
    assert (got.status, got.extractor) == ("ok", "json")
    assert got.text.splitlines() == ["title: Survey", "tags: ocean", "tags: salinity",
                                     "depth: 12.5"]
    assert got.metadata == {"json_type": "object", "keys": ["title", "tags", "site"]}


def test_invalid_json_is_indexed_as_text() -> None:
    got = run(b'{"a": 1, oops}', "bad.json")
    assert got.status == "ok" and got.extractor == "text"
    assert "not valid JSON" in got.error and "oops" in got.text


def test_json_larger_than_parse_bound_is_a_text_prefix() -> None:
    data = json.dumps({"k": ["v"] * 10000}).encode()
    got = run(data, "big.json", ExtractLimits(max_parse_bytes=1000, text_prefix_bytes=500))
    assert (got.status, got.extractor) == ("truncated", "text")
    assert "max_parse_bytes=1000" in got.error


def test_jsonl_lines_with_a_bad_one() -> None:
    got = run(b'{"a": "alpha"}\n{"b": [1, 2]}\nnot json\n\n', "rows.jsonl")
    assert (got.status, got.extractor) == ("ok", "jsonl")
    assert got.text.splitlines() == ["a: alpha", "b: 1", "b: 2", "not json"]
    assert got.metadata == {"lines_indexed": 3, "invalid_lines": 1}


NOTEBOOK = {
    "nbformat": 4, "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3"}, "language_info": {"name": "python"}},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Salinity study\n", "Intro."]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "print(41 + 1)",
         "outputs": [
             {"output_type": "stream", "name": "stdout", "text": ["42\n"]},
             {"output_type": "execute_result", "execution_count": 1, "metadata": {},
              "data": {"text/plain": ["'walrus'"], "image/png": "iVBORw0KGgo" * 100}},
             {"output_type": "error", "ename": "KeyError", "evalue": "'narwhal'",
              "traceback": []}]},
    ],
}


def test_notebook_sources_and_text_outputs() -> None:
    got = run(json.dumps(NOTEBOOK).encode(), "study.ipynb")
    assert (got.status, got.extractor) == ("ok", "notebook")
    for part in ("# Salinity study", "print(41 + 1)", "42", "'walrus'", "KeyError: 'narwhal'"):
        assert part in got.text
    assert "iVBOR" not in got.text  # images are not text
    assert got.metadata == {"cells": 2, "code_cells": 1, "nbformat": 4, "kernel": "python3",
                            "kernel_language": "python"}
    # the same bytes as plain JSON content are still recognized as a notebook
    assert run(json.dumps(NOTEBOOK).encode(), "nb", content_type="application/json"
               ).extractor == "notebook"


# --- Parquet and numpy -------------------------------------------------------------------


def _parquet(rows: int = 1000) -> bytes:
    table = pa.table({"sample_id": list(range(rows)), "species": ["krill"] * rows,
                      "depth_m": [1.5] * rows})
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=rows // 2 or 1)
    return buf.getvalue()


def test_parquet_schema_from_footer() -> None:
    got = run(_parquet(), "df", helium_format="parquet")
    assert (got.status, got.extractor) == ("ok", "parquet")
    assert got.text.splitlines() == ["sample_id: int64", "species: string", "depth_m: double"]
    assert got.metadata["columns"] == ["sample_id", "species", "depth_m"]
    assert (got.metadata["num_rows"], got.metadata["num_row_groups"]) == (1000, 2)


def test_parquet_types_are_named_as_pyarrow_names_them() -> None:
    table = pa.table({
        "when": pa.array([datetime.datetime(2024, 1, 1)], pa.timestamp("ms", tz="UTC")),
        "day": pa.array([datetime.date(2024, 1, 1)]),
        "price": pa.array([decimal.Decimal("1.25")], pa.decimal128(7, 2)),
        "tags": pa.array([["a", "b"]]),
        "point": pa.array([{"x": 1.0, "label": "p"}]),
        "small": pa.array([1], pa.uint16()),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    got = run(buf.getvalue(), "typed.parquet")
    assert got.text.splitlines() == [
        "when: timestamp[ms, tz=UTC]", "day: date32", "price: decimal128(7, 2)",
        "tags: list<string>", "point: struct<x: double, label: string>", "small: uint16"]


def test_parquet_footer_larger_than_the_first_read() -> None:
    wide = pa.table({f"column_{i}": [i] for i in range(3000)})  # a footer of several 64 KB
    buf = io.BytesIO()
    pq.write_table(wide, buf)
    got = run(buf.getvalue(), "wide.parquet")
    assert got.status == "ok" and got.metadata["num_columns"] == 3000
    assert got.metadata["columns"][-1] == "column_999"  # metadata keeps the first 1,000
    assert got.text.splitlines()[-1] == "column_2999: int64"


def test_corrupt_and_encrypted_parquet() -> None:
    got = run(_parquet()[:-50], "broken.parquet")
    assert (got.status, got.extractor) == ("corrupt", "parquet")
    assert "Parquet" in got.error
    encrypted = run(_parquet()[:-4] + b"PARE", "secret.parquet")
    assert encrypted.status == "encrypted"


def test_damaged_parquet_footers_never_raise() -> None:
    data = bytearray(_parquet(10))
    (length,) = struct.unpack("<I", data[-8:-4])
    rng = random.Random(7)
    statuses = set()
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            damaged[len(data) - 8 - rng.randrange(length)] = rng.randrange(256)
        statuses.add(run(bytes(damaged), "d.parquet").status)
    assert statuses <= {"ok", "corrupt"} and "corrupt" in statuses


def test_npy_and_npz_headers() -> None:
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 4), dtype="float32"))
    got = run(buf.getvalue(), "arr", helium_format="numpy")
    assert (got.status, got.extractor, got.text) == ("ok", "numpy", "array 3x4 <f4")
    assert got.metadata == {"shape": [3, 4], "dtype": "<f4", "fortran_order": False}
    buf = io.BytesIO()
    np.savez_compressed(buf, temps=np.arange(10), grid=np.ones((2, 5), dtype="int8"))
    npz = run(buf.getvalue(), "a.npz")
    assert npz.status == "ok"
    assert npz.text.splitlines() == ["temps: array 10 <i8", "grid: array 2x5 |i1"]
    bad = run(b"\x93NUMPY\x01\x00\x40\x00{'descr': '<f8'", "bad.npy")
    assert bad.status == "corrupt"


# --- gzip --------------------------------------------------------------------------------


def test_gzip_of_a_csv() -> None:
    got = run(gzip.compress(_csv([["a", "b"], [1, 2]])), "t.csv.gz")
    assert (got.status, got.extractor) == ("ok", "gzip+csv")
    assert got.metadata["columns"] == ["a", "b"] and got.metadata["compression"] == "gzip"


def test_concatenated_gzip_members() -> None:
    got = run(gzip.compress(b"first part\n") + gzip.compress(b"second part\n"), "log.gz")
    assert (got.status, got.text) == ("ok", "first part\nsecond part\n")


BOMBS = {  # each under 2 MB on the wire
    "one member, 64 MB": lambda: gzip.compress(b"A" * (64 * MB), compresslevel=9),
    "1,024 members, 1 GB": lambda: gzip.compress(b"A" * MB, compresslevel=9) * 1024,
}


@pytest.mark.parametrize("which", list(BOMBS))
def test_gzip_bomb_is_bounded_in_memory(which: str) -> None:
    bomb = BOMBS[which]()
    assert len(bomb) < 2 * MB
    limits = ExtractLimits(text_prefix_bytes=1 * MB)
    tracemalloc.start()
    try:
        got = run(bomb, "bomb.txt.gz", limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (got.status, got.truncated, got.extractor) == ("truncated", True, "gzip+text")
    assert got.metadata["decompressed_bytes"] == 1 * MB
    assert len(got.text) == 500_000  # max_chars
    assert peak < 16 * MB, f"peak {peak / MB:.1f} MB"


def test_gzip_bomb_of_a_tika_format_is_too_large() -> None:
    bomb = gzip.compress(b"%PDF-1.4\n" + b"\0" * (64 * MB))
    got = run(bomb, "scan.pdf.gz", ExtractLimits(max_decompressed=4 * MB))
    assert (got.status, got.extractor) == ("too_large", "gzip+tika")
    assert "max_decompressed=4194304" in got.error


def test_corrupt_and_truncated_gzip() -> None:
    whole = gzip.compress(b"some words to keep " * 2000)
    cut = run(whole[: len(whole) // 2], "cut.txt.gz")
    assert cut.status == "corrupt" and "ends early" in cut.error
    assert cut.text.startswith("some words to keep")  # what was decompressed is kept
    garbage = run(b"\x1f\x8b\x08\x00" + b"not deflate at all" * 10, "bad.gz")
    assert garbage.status == "corrupt" and "not valid gzip" in garbage.error


def test_tika_formats_without_tika_are_unsupported() -> None:
    got = run(b"%PDF-1.4 ...", "a.pdf")
    assert (got.status, got.extractor) == ("unsupported", "tika")
    assert "no Tika server" in got.error


@pytest.mark.parametrize("limits", [ExtractLimits(), ExtractLimits(max_chars=10)])
def test_every_result_respects_max_chars(limits: ExtractLimits) -> None:
    for data, key in [(b"x" * 100, "a.txt"), (json.dumps(NOTEBOOK).encode(), "n.ipynb"),
                      (_csv([["a"]] + [["b"]] * 50), "c.csv"), (_parquet(), "p.parquet")]:
        assert len(run(data, key, limits).text) <= limits.max_chars
