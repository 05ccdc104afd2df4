"""Render result tables as markdown, LaTeX or CSV (with the paper's numbers beside ours inside
paper_numbers.beside(table))."""

from __future__ import annotations

import math

import pandas as pd

from . import paper_numbers

FORMATS = ("md", "latex", "csv")


def render(df: pd.DataFrame, fmt: str, floatfmt: str = "{:.2f}") -> str:
    """Return df rendered in fmt ('md' | 'latex' | 'csv'); inside paper_numbers.beside(name)
    with the paper's columns added and its citation under the table (md, latex)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    name = paper_numbers.current()
    if name is None:
        return _render(df, fmt, floatfmt)
    df, notes = paper_numbers.with_paper(df, name)
    text = _render(df, fmt, floatfmt)
    if fmt == "csv" or not notes:
        return text
    prefix = "% " if fmt == "latex" else ""
    return text + "\n\n" + "\n".join(prefix + n for n in notes)


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
        "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}"}


def _tex(s: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in s)


def _cell(v, floatfmt: str) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else floatfmt.format(v)
    return str(v)


def _render(df: pd.DataFrame, fmt: str, floatfmt: str) -> str:
    if fmt == "csv":
        return df.to_csv(index=False).rstrip("\n")
    cells = [[_cell(v, floatfmt) for v in row] for row in df.itertuples(index=False)]
    cols = [str(c) for c in df.columns]
    if fmt == "latex":
        body = "\n".join(" & ".join(_tex(c) for c in r) + r" \\" for r in cells)
        head = " & ".join(_tex(c) for c in cols) + r" \\"
        spec = "l" + "r" * (len(cols) - 1)
        return (f"\\begin{{tabular}}{{{spec}}}\n\\toprule\n{head}\n\\midrule\n"
                f"{body}\n\\bottomrule\n\\end{{tabular}}")
    cells = [[v.replace("|", r"\|") for v in r] for r in cells]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cols), sep, *(line(r) for r in cells)])
