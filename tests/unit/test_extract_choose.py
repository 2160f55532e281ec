"""Which extractor reads an object: helium format, then content type, magic bytes, extension."""

from __future__ import annotations

import pytest

import indexer.extract as extract
from indexer.extract import ExtractLimits, choose_extractor
from indexer.extract._choose import extension, looks_like_text
from tests.support import documents


def test_public_names_are_exactly_the_facade() -> None:
    assert sorted(extract.__all__) == sorted([
        "DEFAULT_TIKA_URL", "EXTRACTOR_VERSION", "ExtractLimits", "Extraction", "Extractor",
        "OcrSwitch", "Status", "TikaClient", "TikaUnavailable", "TransientExtractionError",
        "choose_extractor", "detect_language", "parse_ocr_mode", "warm_up_language"])
    assert isinstance(extract.EXTRACTOR_VERSION, str) and extract.EXTRACTOR_VERSION
    assert issubclass(extract.TikaUnavailable, extract.TransientExtractionError)


@pytest.mark.parametrize(("key", "ctype", "helium", "head", "expected"), [
    # helium's format wins over everything (the seed's ``put("df", df)`` has no extension)
    ("df", None, "parquet", b"PAR1", "parquet"),
    ("df", "application/octet-stream", "parquet", b"", "parquet"),
    ("x.txt", "text/plain", "json", b"{}", "json"),
    ("arr", None, "numpy", b"\x93NUMPY", "numpy"),
    ("s", None, "utf-8", b"hello", "text"),
    ("t", None, "csv", b"a,b", "csv"),
    ("t", None, "tsv", b"a\tb", "tsv"),
    # an unknown or uninformative helium format falls through
    ("blob.pdf", None, "bytes", b"%PDF-1.4", "tika"),
    # then a specific content type
    ("report", "application/pdf", None, b"", "tika"),
    ("data", "text/csv; charset=utf-8", None, b"", "csv"),
    ("data", "application/json", None, b"{", "json"),
    ("nb.ipynb", "application/json", None, b"{", "notebook"),
    ("deck", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
     None, b"PK", "tika"),
    ("pic", "image/jpeg", None, b"", "tika"),
    ("notes", "text/markdown", None, b"#", "text"),
    ("page", "text/html", None, b"", "tika"),
    # generic content types do not decide: magic bytes and extension do
    ("x.csv", "text/plain", None, b"a,b\n", "csv"),
    ("x.csv", "binary/octet-stream", None, b"a,b\n", "csv"),
    ("scan", "application/octet-stream", None, b"%PDF-1.7\n", "tika"),
    ("t", None, None, b"PAR1\x15\x04", "parquet"),
    ("a", None, None, b"\x93NUMPY\x01\x00", "numpy"),
    ("z", None, None, b"\x1f\x8b\x08\x00", "gzip"),
    ("p", None, None, b"\x89PNG\r\n\x1a\n", "tika"),
    ("o", None, None, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "tika"),
    ("r", None, None, b"{\\rtf1\\ansi", "tika"),
    ("h", None, None, b"\n  <!DOCTYPE html><html>", "tika"),
    ("d", None, None, documents.docx()[:200], "tika"),
    ("e", None, None, documents.epub()[:200], "tika"),
    # extensions
    ("a/b/report.final.CSV", None, None, b"a,b", "csv"),
    ("x.tsv", None, None, b"", "tsv"),
    ("x.jsonl", None, None, b"{}", "jsonl"),
    ("x.ipynb", None, None, b"{", "notebook"),
    ("x.docx", None, None, b"PK\x03\x04", "tika"),
    ("x.csv.gz", None, None, b"\x1f\x8b", "gzip"),
    ("src/main.py", None, None, b"import os", "text"),
    ("Makefile", None, None, b"all:", "text"),
    # last resort: text or binary by the first bytes
    ("README", None, None, b"plain words", "text"),
    ("blob", None, None, bytes(range(256)), "none"),
    ("archive.zip", None, None, b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20 + b"x.bin",
     "none"),
    ("utf16", None, None, "hé".encode("utf-16"), "text"),
])
def test_choose_extractor(key: str, ctype: str | None, helium: str | None, head: bytes,
                          expected: str) -> None:
    assert choose_extractor(key, ctype, helium, head) == expected


def test_extension_and_text_sniffing() -> None:
    assert extension("a/b.tar.GZ") == "gz"
    assert extension(".bashrc") == ""
    assert extension("dir.v2/file") == ""
    assert looks_like_text(b"")
    assert not looks_like_text(b"abc\x00def")
    assert not looks_like_text(bytes(range(1, 32)) * 10)


def test_limits_are_validated() -> None:
    assert ExtractLimits().max_chars < 1_000_000  # Elasticsearch's highlight limit
    with pytest.raises(ValueError, match="max_bytes"):
        ExtractLimits(max_bytes=0)
    with pytest.raises(ValueError, match="tika_timeout"):
        ExtractLimits(tika_timeout=0)
