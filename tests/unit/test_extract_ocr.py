"""When OCR runs, within which budgets, and what its answers become (pure pieces of
``indexer.extract._ocr`` and ``_documents.with_ocr``; the real Tika + tesseract runs in
tests/integration/test_ocr.py)."""

from __future__ import annotations

import pytest

from indexer.errors import ConfigurationError
from indexer.extract import ExtractLimits, Extractor, OcrSwitch, Status
from indexer.extract._documents import EXTRACTOR, OCR_EXTRACTOR, map_answer, with_ocr
from indexer.extract._ocr import (
    IMAGE_TYPES,
    image_types_of,
    parse_mode,
    plan,
    textless_pages,
    timed_out,
)
from indexer.settings import Settings
from t4index import outcomes

PNG = frozenset({"image/png", "image/jpeg"})
MB = 2**20


def _pdf(*chars_per_page: int) -> dict:
    return {"Content-Type": "application/pdf", "pdf:charsPerPage": [str(c) for c in chars_per_page],
            "xmpTPg:NPages": str(len(chars_per_page))}


def _plan(container: dict, size: int = 1000, types: frozenset[str] = PNG, pages: int = 10,
          max_bytes: int = 20 * MB):
    return plan(container, size, image_types=types, max_pages=pages, max_bytes=max_bytes)


def test_an_image_tika_can_ocr_is_one_page_to_ocr():
    got = _plan({"Content-Type": "image/png"})
    assert (got.run, got.pages, got.budget) == (True, 1, None)


@pytest.mark.parametrize("container", [
    _pdf(31, 31, 31),          # a text PDF never pays for OCR
    _pdf(400, 0, 500, 300),    # one blank or figure page among text pages
    _pdf(40, 0, 0, 50, 60),    # a minority of pages without text
    {"Content-Type": "image/svg+xml"},   # not a type tesseract reads
    {"Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"Content-Type": "application/pdf"},  # Tika said nothing about the pages
])
def test_no_ocr_for_text_pdfs_other_formats_and_unknown_pages(container):
    assert _plan(container).run is False and _plan(container).budget is None


@pytest.mark.parametrize(("container", "pages"), [
    (_pdf(0, 0, 0), 3), (_pdf(5), 1), (_pdf(61, 0), 1), (_pdf(0, 3, 80, 9), 3),
    ({"Content-Type": "application/pdf", "pdf:ocrPageCount": "2", "xmpTPg:NPages": "2"}, 2),
])
def test_pdfs_mostly_without_a_text_layer_are_ocrd_page_by_page(container, pages):
    got = _plan(container)
    assert (got.run, got.pages, got.budget) == (True, pages, None)


def test_ocr_off_means_no_ocr_and_no_budget_either():
    for container in ({"Content-Type": "image/png"}, _pdf(0, 0)):
        got = _plan(container, types=frozenset())
        assert (got.run, got.budget) == (False, None)


@pytest.mark.parametrize(("container", "kwargs", "needle"), [
    (_pdf(0, 0, 0), {"pages": 2}, "3 pages to OCR is over ocr_max_pages=2"),
    ({"Content-Type": "image/jpeg"}, {"pages": 0}, "an image to OCR is over ocr_max_pages=0"),
    (_pdf(0), {"size": 30 * MB}, f"{30 * MB} bytes is over ocr_max_bytes={20 * MB}"),
    ({"Content-Type": "image/png"}, {"size": 11, "max_bytes": 10}, "over ocr_max_bytes=10"),
])
def test_a_budget_forbids_ocr_and_says_which(container, kwargs, needle):
    got = _plan(container, **kwargs)
    assert got.run is False and needle in got.budget


def test_textless_pages_reads_chars_per_page_then_tikas_own_count():
    assert textless_pages(_pdf(0, 12, 9)) == (2, 3)
    assert textless_pages({"pdf:ocrPageCount": "1", "xmpTPg:NPages": "4"}) == (1, 4)
    assert textless_pages({"Content-Type": "application/pdf"}) is None


def test_image_types_come_from_tikas_tesseract_parser_aliases_included():
    details = {"name": "org.apache.tika.parser.DefaultParser", "children": [
        {"name": "org.apache.tika.parser.image.ImageParser", "supportedTypes": ["image/png"]},
        {"name": "org.apache.tika.parser.ocr.TesseractOCRParser",
         "supportedTypes": ["image/ocr-png", "image/ocr-jpeg", "image/jp2"]}]}
    assert image_types_of(details) == {"image/png", "image/jpeg", "image/jp2"}
    no_tesseract = {"name": "x", "children": [
        {"name": "org.apache.tika.parser.ocr.TesseractOCRParser", "supportedTypes": []}]}
    assert image_types_of(no_tesseract) == frozenset()


def test_tesseract_timeouts_are_found_in_any_exception_field():
    cause = ("java.io.IOException: Unable to end a page\n\tat x\nCaused by: "
             "org.apache.tika.exception.TikaException: TesseractOCRParser timeout")
    assert timed_out([{"X-TIKA:EXCEPTION:container_exception": cause}])
    assert timed_out([{}, {"X-TIKA:EXCEPTION:embedded_exception": [cause]}])
    assert not timed_out([{"X-TIKA:EXCEPTION:container_exception": "Unable to end a page"}])


def test_modes():
    assert [parse_mode(m) for m in (None, "", " ON ", "off")] == ["auto", "auto", "on", "off"]
    with pytest.raises(ValueError, match="auto, on, off"):
        parse_mode("sometimes")


def test_the_switch_asks_tika_once_it_answers_and_never_when_off():
    calls = []

    def probe():
        calls.append(1)
        return PNG

    assert OcrSwitch("off", probe).image_types() == frozenset() and calls == []
    auto = OcrSwitch("auto", probe)
    assert auto.image_types() == PNG and auto.image_types() == PNG and len(calls) == 1
    assert auto.describe().startswith("OCR on (T4_OCR=auto")


def test_auto_is_off_without_tesseract_and_on_trusts_the_server_or_its_defaults():
    none = OcrSwitch("auto", lambda: frozenset())
    assert none.image_types() == frozenset()
    assert "no tesseract on its PATH" in none.describe()
    unreachable = OcrSwitch("auto", lambda: None)
    assert unreachable.image_types() == frozenset()
    assert "did not answer" in unreachable.describe()
    assert OcrSwitch("on", lambda: None).image_types() == IMAGE_TYPES
    assert "lists no tesseract parser" in OcrSwitch("on", lambda: frozenset()).describe()


FIRST = map_answer([{"Content-Type": "application/pdf", "X-TIKA:content": "scan",
                     "xmpTPg:NPages": "2", "X-TIKA:Parsed-By": ["PDFParser"]}], ExtractLimits())


def test_a_successful_ocr_parse_gives_its_text_and_says_ocr_ran():
    got = with_ocr(FIRST, [{"Content-Type": "application/pdf", "xmpTPg:NPages": "2",
                            "X-TIKA:content": "scan\n\nQuokka harbour"}], ExtractLimits(), 60)
    assert (got.status, got.extractor, got.text) == ("ok", OCR_EXTRACTOR, "scan\n\nQuokka harbour")
    assert got.metadata["pages"] == 2


# Tika 3's answers to the OCR parse, recorded: tesseract named in the full set of parsers
# (inside the PDF parser), and the same parse where tesseract does not run
# (``X-Tika-OCRskipOcr: true``, as a server without tesseract answers).
RAN = {"X-TIKA:Parsed-By": ["org.apache.tika.parser.DefaultParser",
                            "org.apache.tika.parser.pdf.PDFParser"],
       "X-TIKA:Parsed-By-Full-Set": ["org.apache.tika.parser.DefaultParser",
                                     "org.apache.tika.parser.pdf.PDFParser",
                                     "org.apache.tika.parser.ocr.TesseractOCRParser"]}
DID_NOT_RUN = {"X-TIKA:Parsed-By": ["org.apache.tika.parser.DefaultParser",
                                    "org.apache.tika.parser.image.ImageParser"],
               "X-TIKA:Parsed-By-Full-Set": ["org.apache.tika.parser.DefaultParser",
                                             "org.apache.tika.parser.image.ImageParser"]}


def test_an_ocr_parse_names_tesseract_when_it_ran_inside_the_pdf_parser():
    got = with_ocr(FIRST, [{"Content-Type": "application/pdf", "X-TIKA:content": "Wombat",
                            **RAN}], ExtractLimits(), 60)
    assert (got.extractor, got.text, got.error) == (OCR_EXTRACTOR, "Wombat", None)


def test_t4_ocr_on_without_tesseract_does_not_claim_ocr():
    """``T4_OCR=on`` sends images to a second parse even when the server lists no
    tesseract; such a parse ran no OCR, and the document must not say ``tika+ocr``."""
    got = with_ocr(FIRST, [{"Content-Type": "image/png", "X-TIKA:content": "", **DID_NOT_RUN}],
                   ExtractLimits(), 60)
    assert (got.status, got.extractor, got.text) == ("ok", EXTRACTOR, "scan")
    assert got.error.startswith("OCR did not run: the Tika server has no tesseract parser")


def test_tesseract_out_of_time_keeps_the_longer_text_with_the_budget_outcome():
    cause = "IOException: Unable to end a page\nCaused by: x: TesseractOCRParser timeout"
    partial = [{"Content-Type": "application/pdf", "X-TIKA:content": "scan Quokka",
                "X-TIKA:EXCEPTION:container_exception": cause}]
    got = with_ocr(FIRST, partial, ExtractLimits(), 5)
    assert (got.status, got.text, got.extractor) == ("ocr_budget", "scan Quokka", OCR_EXTRACTOR)
    assert "ocr_timeout=5 s" in got.error
    nothing = [{"Content-Type": "image/png", "X-TIKA:EXCEPTION:container_exception": cause}]
    got = with_ocr(FIRST, nothing, ExtractLimits(), 5)
    assert (got.status, got.text, got.extractor) == ("ocr_budget", "scan", EXTRACTOR)


def test_an_ocr_parse_that_fails_otherwise_keeps_the_first_parse():
    broken = [{"Content-Type": "application/pdf",
               "X-TIKA:EXCEPTION:container_exception": "java.io.IOException: bad image"}]
    got = with_ocr(FIRST, broken, ExtractLimits(), 60)
    assert (got.status, got.text, got.extractor) == ("ok", "scan", EXTRACTOR)
    assert got.error.startswith("OCR failed: java.io.IOException: bad image")


def test_the_budget_outcome_is_final_and_declared_once():
    assert Status.OCR_BUDGET == outcomes.OCR_BUDGET == "ocr_budget"
    assert outcomes.is_final(outcomes.OCR_BUDGET) and outcomes.OCR_BUDGET in outcomes.ALL


def test_ocr_limits_are_validated_and_default_to_the_tika_timeout():
    assert ExtractLimits(tika_timeout=7).ocr_seconds == 7
    assert ExtractLimits(tika_timeout=7, ocr_timeout=3).ocr_seconds == 3
    assert ExtractLimits(ocr_max_pages=0).ocr_max_pages == 0
    for bad in ({"ocr_max_pages": -1}, {"ocr_timeout": 0}):
        with pytest.raises(ValueError, match="ocr_"):
            ExtractLimits(**bad)


def test_an_extractor_without_tika_has_no_ocr_to_run():
    assert Extractor(None).ocr is None


BASE = {"T4_ES_URL": "http://es:9200"}


def test_ocr_settings_defaults_and_overrides():
    s = Settings.from_env(BASE)
    assert (s.ocr, s.ocr_max_pages, s.ocr_max_bytes, s.ocr_timeout, s.ocr_languages) == (
        "auto", 10, 20 * MB, None, "eng")
    s = Settings.from_env({**BASE, "T4_OCR": "off", "T4_OCR_MAX_PAGES": "0",
                           "T4_OCR_MAX_BYTES": "1000", "T4_OCR_TIMEOUT": "30",
                           "T4_OCR_LANGUAGES": "eng+fra"})
    assert (s.ocr, s.ocr_max_pages, s.ocr_max_bytes, s.ocr_timeout, s.ocr_languages) == (
        "off", 0, 1000, 30.0, "eng+fra")


@pytest.mark.parametrize(("env", "needle"), [
    ({"T4_OCR": "maybe"}, "T4_OCR: must be one of auto, on, off"),
    ({"T4_OCR_TIMEOUT": "90"}, "T4_OCR_TIMEOUT=90 must not exceed T4_TIKA_TIMEOUT=60"),
    ({"T4_OCR_MAX_PAGES": "-1"}, "T4_OCR_MAX_PAGES='-1' must be at least 0"),
    ({"T4_OCR_LANGUAGES": "eng; rm -rf"}, "T4_OCR_LANGUAGES"),
])
def test_bad_ocr_settings_name_the_variable(env, needle):
    with pytest.raises(ConfigurationError, match=needle):
        Settings.from_env({**BASE, **env})
