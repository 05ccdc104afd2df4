"""Text -> symbol ids as Grad-TTS does: cleaners, CMUdict ARPAbet, intersperse blank."""

from __future__ import annotations

import re

from .cleaners import english_cleaners
from .cmudict import CMUDict
from .symbols import BLANK_ID, SYMBOL_TO_ID

_CURLY = re.compile(r"(.*?)\{(.+?)\}(.*)")
SPACE_ID = SYMBOL_TO_ID[" "]


def _symbols(chars) -> list[int]:
    return [SYMBOL_TO_ID[c] for c in chars if c in SYMBOL_TO_ID and c not in ("_", "~")]


def _arpabet(text: str) -> list[int]:
    return _symbols(["@" + p for p in text.split()])


def text_to_sequence(text: str, dictionary: CMUDict | None = None) -> list[int]:
    """Return symbol ids (no blanks): words found in the dictionary become ARPAbet; a word
    with punctuation attached is spelled (as the official code does); {…} is raw ARPAbet."""
    seq: list[int] = []
    while text:
        m = _CURLY.match(text)
        if not m:
            clean = english_cleaners(text)
            if dictionary is None:
                seq += _symbols(clean)
                break
            for word in clean.split(" "):
                pron = dictionary.lookup(word)
                seq += _arpabet(pron[0]) if pron else _symbols(word)
                seq.append(SPACE_ID)
            break
        seq += _symbols(english_cleaners(m.group(1)))
        seq += _arpabet(m.group(2))
        text = m.group(3)
    if dictionary is not None and seq and seq[-1] == SPACE_ID:
        seq = seq[:-1]
    return seq


def intersperse(seq: list[int], item: int = BLANK_ID) -> list[int]:
    """Return [item, s0, item, s1, ..., item] (length 2n + 1)."""
    out = [item] * (2 * len(seq) + 1)
    out[1::2] = seq
    return out


def text_to_ids(text: str, dictionary: CMUDict | None = None, add_blank: bool = True) -> list[int]:
    """Return Grad-TTS input ids of text (the default dictionary when none is given)."""
    seq = text_to_sequence(text, CMUDict.default() if dictionary is None else dictionary)
    return intersperse(seq) if add_blank else seq


def n_phones(ids: list[int]) -> int:
    """Return the number of non-blank symbols in ids."""
    return sum(1 for i in ids if i != BLANK_ID)
