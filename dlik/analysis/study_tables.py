"""Study tables registered with dlik tables."""

from __future__ import annotations

from .cli import register
from .formatting import render


def _text_agnostic(df, args) -> str:
    from .text_agnostic import text_agnostic_table

    return render(text_agnostic_table(df, seed=args.seed), args.format, "{:.4f}")


register("text_agnostic", _text_agnostic, "text swaps: delta bpd vs own text, own-text win rate")
