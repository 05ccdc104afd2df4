"""Text frontend vs the official Grad-TTS text code: identical ids."""

from __future__ import annotations

import pytest

from dlik.text import BLANK_ID, SYMBOLS, CMUDict, intersperse, n_phones, text_to_ids
from dlik.text.frontend import text_to_sequence

from .official_ref import official_text

SENTENCES = [
    "The old lighthouse keeper counted 142 ships in the harbour last winter.",
    "Dr. Hale said the bridge would open on March 3rd, 1894, weather permitting.",
    "A loaf of bread cost $3.50 at the corner shop on Elm St. that spring.",
    "Mr. and Mrs. Smith paid $1,000 for 2nd-hand chairs in 2005; £20 was the rest.",
    "He measured 3.14 inches, then 1,234,567 grains, in 1900 and 2000 and 1066.",
    "Zyxquor plinked the glorptastic widget, didn't he? Yes!",
    "Capt. Ellis and Sgt. Jolly met Lt. Moore at 6:45 on the 21st of May.",
    "Café naïve résumé — and {HH AH0 L OW1} in curly braces.",
    "",
    "$0.05, $1, $1.01, 0 and 13th.",
]


@pytest.fixture(scope="module")
def ref():
    return official_text()


@pytest.fixture(scope="module")
def official_dict(ref):
    return CMUDict.from_file(ref.dict_path), ref.cmudict.CMUDict(str(ref.dict_path))


def test_symbol_table_is_official(ref):
    assert SYMBOLS == ref.symbols.symbols and len(SYMBOLS) == 148 and BLANK_ID == 148


@pytest.mark.parametrize("text", [s for s in SENTENCES if s])
def test_ids_identical_with_official_dictionary(ref, official_dict, text):
    mine, theirs = official_dict
    assert text_to_sequence(text, mine) == ref.text_to_sequence(text, dictionary=theirs)


@pytest.mark.parametrize("text", SENTENCES)
def test_cleaners_identical(ref, text):
    from dlik.text.cleaners import english_cleaners

    assert english_cleaners(text) == ref.cleaners.english_cleaners(text)


def test_default_dictionary_agrees_where_pronunciations_agree(official_dict):
    mine, _ = official_dict
    default = CMUDict.default()
    words = "the ships harbour winter bridge weather corner spring".split()
    agree = [w for w in words
             if default.lookup(w) and mine.lookup(w) and default.lookup(w)[0] == mine.lookup(w)[0]]
    assert len(agree) >= 6, agree  # the comparison below is not vacuous
    assert [text_to_ids(w, default) for w in agree] == [text_to_ids(w, mine) for w in agree]
    assert all(len(text_to_ids(w, default)) > 3 for w in agree)  # phones, not a blank
    ids = text_to_ids(SENTENCES[0])
    assert all(0 <= i <= BLANK_ID for i in ids)


def test_intersperse_and_counts():
    assert intersperse([5, 6]) == [148, 5, 148, 6, 148]
    ids = text_to_ids("hello world")
    assert ids[0] == BLANK_ID and len(ids) == 2 * n_phones(ids) + 1
    assert text_to_ids("") == [BLANK_ID]


def test_missing_dictionary_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        CMUDict.from_file(tmp_path / "nope")
