"""English number normalisation (money, commas, decimals, ordinals, years) with inflect."""

from __future__ import annotations

import re
from functools import cache


@cache
def _words():
    """inflect's engine, made on first use: importing inflect costs ~3 s (typeguard), which
    every dlik process that never meets a digit would pay."""
    import inflect

    return inflect.engine()


_COMMA = re.compile(r"([0-9][0-9\,]+[0-9])")
_DECIMAL = re.compile(r"([0-9]+\.[0-9]+)")
_POUNDS = re.compile(r"£([0-9\,]*[0-9]+)")
_DOLLARS = re.compile(r"\$([0-9\.\,]*[0-9]+)")
_ORDINAL = re.compile(r"[0-9]+(st|nd|rd|th)")
_NUMBER = re.compile(r"[0-9]+")


def _unit(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def _dollars(m: re.Match) -> str:
    parts = m.group(1).split(".")
    if len(parts) > 2:
        return m.group(1) + " dollars"
    d = int(parts[0]) if parts[0] else 0
    c = int(parts[1]) if len(parts) > 1 and parts[1] else 0
    if d and c:
        return f"{d} {_unit(d, 'dollar', 'dollars')}, {c} {_unit(c, 'cent', 'cents')}"
    if d:
        return f"{d} {_unit(d, 'dollar', 'dollars')}"
    if c:
        return f"{c} {_unit(c, 'cent', 'cents')}"
    return "zero dollars"


def _cardinal(m: re.Match) -> str:
    n = int(m.group(0))
    if 1000 < n < 3000:  # read as a year
        if n == 2000:
            return "two thousand"
        if 2000 < n < 2010:
            return "two thousand " + _words().number_to_words(n % 100)
        if n % 100 == 0:
            return _words().number_to_words(n // 100) + " hundred"
        return _words().number_to_words(n, andword="", zero="oh", group=2).replace(", ", " ")
    return _words().number_to_words(n, andword="")


def normalize_numbers(text: str) -> str:
    """Return text with digits spelled out as the official English cleaners do."""
    text = _COMMA.sub(lambda m: m.group(1).replace(",", ""), text)
    text = _POUNDS.sub(r"\1 pounds", text)
    text = _DOLLARS.sub(_dollars, text)
    text = _DECIMAL.sub(lambda m: m.group(1).replace(".", " point "), text)
    text = _ORDINAL.sub(lambda m: _words().number_to_words(m.group(0)), text)
    return _NUMBER.sub(_cardinal, text)
