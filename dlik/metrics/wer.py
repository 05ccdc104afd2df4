"""Word error rate: text normalisation, corpus WER (jiwer) and per-sentence error counts."""

from __future__ import annotations

import re

_NON_WORD = re.compile(r"[^\w\s']|_")  # punctuation and symbols (unicode letters/digits stay)
_LOOSE_APOS = re.compile(r"(?<!\w)'|'(?!\w)")  # quotes, not the apostrophe inside "it's"


def normalize_text(s: str) -> str:
    """Return s lowercased, punctuation replaced by spaces (word-internal apostrophes kept),
    single-spaced; numbers are not expanded."""
    s = _NON_WORD.sub(" ", s.lower().replace("\u2019", "'"))
    return " ".join(_LOOSE_APOS.sub(" ", s).split())


def sentence_errors(ref: str, hyp: str, normalize: bool = True) -> tuple[int, int]:
    """Return (substitutions + deletions + insertions, number of reference words), the
    Levenshtein word distance used for matched-pairs tests."""
    if normalize:
        ref, hyp = normalize_text(ref), normalize_text(hyp)
    r, h = ref.split(), hyp.split()
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1], len(r)


def wer(references: list[str], hypotheses: list[str], normalize: bool = True) -> float:
    """Return corpus-level WER (total errors / total reference words, jiwer) as a fraction."""
    import jiwer

    if isinstance(references, str) or isinstance(hypotheses, str):
        raise TypeError("references and hypotheses must be lists of strings, not str")
    if len(references) != len(hypotheses):
        raise ValueError(f"got {len(references)} references but {len(hypotheses)} hypotheses")
    if normalize:
        references = [normalize_text(r) for r in references]
        hypotheses = [normalize_text(h) for h in hypotheses]
    if not any(r.split() for r in references):
        raise ValueError("references contain no words; WER is undefined")
    out = jiwer.process_words(list(references), list(hypotheses))
    n_ref = out.hits + out.substitutions + out.deletions
    return (out.substitutions + out.deletions + out.insertions) / n_ref
