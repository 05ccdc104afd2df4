"""Grad-TTS text frontend: cleaners, CMUdict lookup, the 148-symbol table, blanks."""

from .cmudict import CMUDict
from .frontend import intersperse, n_phones, text_to_ids, text_to_sequence
from .symbols import BLANK_ID, N_VOCAB, SYMBOLS

__all__ = ["BLANK_ID", "CMUDict", "N_VOCAB", "SYMBOLS", "intersperse", "n_phones",
           "text_to_ids", "text_to_sequence"]
