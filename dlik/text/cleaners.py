"""English text cleaners: ASCII, lowercase, numbers, abbreviations, whitespace."""

from __future__ import annotations

import re

from unidecode import unidecode

from .numbers import normalize_numbers

_WHITESPACE = re.compile(r"\s+")
_ABBREVIATIONS = [(re.compile(rf"\b{a}\.", re.IGNORECASE), full) for a, full in [
    ("mrs", "misess"), ("mr", "mister"), ("dr", "doctor"), ("st", "saint"), ("co", "company"),
    ("jr", "junior"), ("maj", "major"), ("gen", "general"), ("drs", "doctors"),
    ("rev", "reverend"), ("lt", "lieutenant"), ("hon", "honorable"), ("sgt", "sergeant"),
    ("capt", "captain"), ("esq", "esquire"), ("ltd", "limited"), ("col", "colonel"),
    ("ft", "fort"),
]]


def expand_abbreviations(text: str) -> str:
    """Return text with the official abbreviation list expanded."""
    for pattern, full in _ABBREVIATIONS:
        text = pattern.sub(full, text)
    return text


def english_cleaners(text: str) -> str:
    """Return text as the official english_cleaners make it."""
    text = unidecode(text).lower()
    text = normalize_numbers(text)
    text = expand_abbreviations(text)
    return _WHITESPACE.sub(" ", text)
