"""Short texts in legacy encodings find their words; Office package paths are not text."""

from __future__ import annotations

import pytest

from indexer.extract import Extractor
from indexer.extract._documents import map_answer
from indexer.extract._model import ExtractLimits
from indexer.source import FileSource

# (encoding, text): short real-world samples, as a user's files hold them
SAMPLES = [
    ("latin-1", "café crème brûlée"),
    ("latin-1", "Grüße aus München, schöne Straße"),
    ("latin-1", "São Paulo e Åland"),
    ("latin-1", "Ærø og Ålborg"),
    ("cp1252", "l’été “chaud” coûte 5 €"),
    ("cp1252", "El niño comió jalapeños en Año Nuevo"),
    ("cp1250", "Příliš žluťoučký kůň úpěl ďábelské ódy"),
    ("utf-16", "Grüße aus München"),           # with its byte-order mark
    ("utf-16-le", "Grüße aus München"),        # without one
    ("utf-16-be", "Привет мир"),
    ("utf-16", "日本語のテキスト"),
    ("shift_jis", "日本語のテキストです。東京"),
    ("shift_jis", "東京"),
    ("koi8-r", "Привет мир"),
    ("koi8-r", "Съешь же ещё этих мягких булок"),
    ("cp1251", "Привет мир"),
    ("cp1251", "Съешь же ещё этих мягких булок"),
    ("cp1253", "Καλημέρα κόσμε"),
    ("gb18030", "中文文本测试，你好世界"),
    ("euc-kr", "안녕하세요 세계"),
]


@pytest.mark.parametrize(("encoding", "text"), SAMPLES,
                         ids=[f"{e}:{t[:12]}" for e, t in SAMPLES])
def test_short_legacy_text_decodes_to_its_words(encoding: str, text: str) -> None:
    got = Extractor(None).extract(FileSource.from_bytes(text.encode(encoding), "notes.txt"))
    assert got.status == "ok"
    assert got.text == text


def test_a_wrong_guess_never_turns_e_grave_into_c_caron() -> None:
    # charset-normalizer alone ranks Windows-1250 first here: "café crčme"
    got = Extractor(None).extract(FileSource.from_bytes("café crème".encode("latin-1"), "a.txt"))
    assert "crème" in got.text and "č" not in got.text


def test_invalid_utf8_stays_utf8_with_a_replacement() -> None:
    data = "naïve café ".encode() + b"\xff" + " déjà vu".encode()
    got = Extractor(None).extract(FileSource.from_bytes(data, "a.txt"))
    assert got.text == "naïve café \ufffd déjà vu"
    assert got.metadata["encoding"] == "utf-8"


def test_office_package_paths_are_not_text() -> None:
    answer = [
        {"Content-Type": "application/vnd.openxmlformats-officedocument.wordprocessingml"
                         ".document", "X-TIKA:content": "\n\nWord title\n\nHello zebra\n"},
        {"Content-Type": "image/jpeg", "resourceName": "/docProps/thumbnail.jpeg",
         "X-TIKA:content": "\n\n/docProps/thumbnail.jpeg\n\n"},
        {"Content-Type": "image/png", "X-TIKA:content": "/word/media/image1.png\n"},
    ]
    got = map_answer(answer, ExtractLimits())
    assert got.text == "Word title\n\nHello zebra"
    assert got.metadata["embedded"] == 2


def test_a_path_inside_a_sentence_is_kept() -> None:
    answer = [{"Content-Type": "text/plain",
               "X-TIKA:content": "see /docProps/app.xml for the page count"}]
    assert "/docProps/app.xml" in map_answer(answer, ExtractLimits()).text
