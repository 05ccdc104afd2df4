"""Word error rate: text normalisation, corpus WER and per-sentence error counts."""

from __future__ import annotations

import re

_PUNCT = re.compile(r"[^a-z0-9' ]+")


def normalize_text(s: str) -> str:
    """Return lowercase text without punctuation (apostrophes kept), single-spaced."""
    return " ".join(_PUNCT.sub(" ", s.lower()).split())


def sentence_errors(ref: str, hyp: str) -> tuple[int, int]:
    """Return (substitutions + deletions + insertions, number of reference words)."""
    r, h = ref.split(), hyp.split()
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1], len(r)


def wer(references: list[str], hypotheses: list[str]) -> float:
    """Return corpus-level WER (total errors / total reference words) as a fraction."""
    if len(references) != len(hypotheses):
        raise ValueError(f"got {len(references)} references but {len(hypotheses)} hypotheses")
    errs = [sentence_errors(r, h) for r, h in zip(references, hypotheses)]
    words = sum(n for _, n in errs)
    return sum(e for e, _ in errs) / words if words else 0.0
