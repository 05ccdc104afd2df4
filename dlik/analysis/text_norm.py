"""Text normalisations applied to references and hypotheses before WER is counted.

- ``none``: the texts as given (jiwer's default splitting on spaces). The paper's Table 2:
  its N-best files hold texts the authors had already passed through Whisper's English
  normaliser, and its WERs are jiwer's on those texts unchanged.
- ``basic``: lowercase, punctuation to spaces, word-internal apostrophes kept, numbers not
  expanded (``dlik.metrics.wer.normalize_text``, what dlik's ASR measures use).
- ``whisper``: Whisper's English normaliser (spelling, numbers, contractions, fillers), from
  the ``whisper-normalizer`` package: what the authors applied when they built their lists.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

NORMALIZATIONS: dict[str, str] = {
    "none": "texts as given (the paper's Table 2)",
    "basic": "lowercase, punctuation removed (dlik.metrics.wer.normalize_text)",
    "whisper": "Whisper's English normaliser (whisper-normalizer)",
}


def _identity(s: str) -> str:
    return s


@cache
def _whisper() -> Callable[[str], str]:
    try:
        from whisper_normalizer.english import EnglishTextNormalizer
    except ImportError:
        raise ValueError("normalize 'whisper' needs the whisper-normalizer package "
                         "(pip install whisper-normalizer); or use one of ['none', 'basic']"
                         ) from None
    return EnglishTextNormalizer()


def normalizer(name: str) -> Callable[[str], str]:
    """Return the function str -> str of normalisation `name` (one of NORMALIZATIONS)."""
    if name not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {list(NORMALIZATIONS)}, got {name!r}")
    if name == "basic":
        from ..metrics.wer import normalize_text

        return normalize_text
    return _whisper() if name == "whisper" else _identity
