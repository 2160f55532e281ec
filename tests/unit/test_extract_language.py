"""Language detection of extracted text: bounded, declared languages kept, noise left out."""

from __future__ import annotations

import pytest

from indexer.extract import Extractor
from indexer.extract._extractor import with_language
from indexer.extract._language import MIN_LETTERS, SAMPLE_CHARS, detect_language
from indexer.extract._model import Extraction
from indexer.source import FileSource

SAMPLES = {
    "en": "The survey measured water temperature at every station along the river, "
          "and this report describes what the field team found over the summer.",
    "fr": "Le relevé a mesuré la température de l'eau à chaque station le long de la "
          "rivière, et ce rapport décrit ce que l'équipe a trouvé pendant l'été.",
    "de": "Die Untersuchung hat die Wassertemperatur an jeder Station entlang des Flusses "
          "gemessen, und dieser Bericht beschreibt, was das Team im Sommer fand.",
    "es": "El estudio midió la temperatura del agua en cada estación a lo largo del río, "
          "y este informe describe lo que el equipo encontró durante el verano.",
    "ru": "Исследование измерило температуру воды на каждой станции вдоль реки, и этот "
          "отчёт описывает, что команда обнаружила летом.",
    "ja": "調査では川沿いのすべての観測所で水温を測定しました。この報告書は夏の間に"
          "調査チームが見つけたことを説明しています。",
}


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_prose_gets_its_language(language):
    assert detect_language(SAMPLES[language]) == language


@pytest.mark.parametrize("text", [
    "site,temp\nridge,-4\nvalley,2\nsummit,-11\nmeadow,5\nforest,3\nlake,4\n" * 3,
    "def f(x):\n    return x + 1\n\nclass A:\n    pass\n" * 3,
    "Hello zebra",  # too short to tell
    "0123456789 " * 100,
])
def test_tables_code_and_short_texts_get_none(text):
    assert detect_language(text) is None


def test_only_a_bounded_prefix_is_read():
    french_after = "x" * SAMPLE_CHARS + SAMPLES["fr"] * 20
    assert detect_language(french_after) is None
    assert detect_language(SAMPLES["fr"] * 20 + "x" * 100_000) == "fr"
    assert MIN_LETTERS > 10


def test_declared_languages_are_kept_and_schemas_are_not_prose():
    declared = Extraction(text=SAMPLES["de"], status="ok", extractor="tika",
                          metadata={"language": "fr"})
    assert with_language(declared).metadata["language"] == "fr"
    schema = Extraction(text=SAMPLES["en"], status="ok", extractor="gzip+parquet")
    assert "language" not in with_language(schema).metadata
    got = Extractor(None, languages=True).extract(
        FileSource.from_bytes(SAMPLES["es"].encode(), "a/notes.txt"))
    assert got.metadata["language"] == "es"


def test_detection_is_on_by_default_and_can_be_turned_off():
    source = FileSource.from_bytes(SAMPLES["es"].encode(), "a/notes.txt")
    assert Extractor(None).extract(source).metadata["language"] == "es"
    source = FileSource.from_bytes(SAMPLES["es"].encode(), "a/notes.txt")
    assert "language" not in Extractor(None, languages=False).extract(source).metadata


def test_all_capitals_prose_is_read_as_its_language():
    """fastText alone reads a text in capitals as Japanese."""
    assert detect_language(SAMPLES["en"].upper()) == "en"
    assert detect_language(SAMPLES["de"].upper()) == "de"
