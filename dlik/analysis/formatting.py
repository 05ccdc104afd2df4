"""Render result tables as markdown, LaTeX or CSV."""

from __future__ import annotations

import pandas as pd

FORMATS = ("md", "latex", "csv")


def render(df: pd.DataFrame, fmt: str, floatfmt: str = "{:.2f}") -> str:
    """Return df rendered in fmt ('md' | 'latex' | 'csv')."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    if fmt == "csv":
        return df.to_csv(index=False).rstrip("\n")
    cells = [[floatfmt.format(v) if isinstance(v, float) else str(v) for v in row]
             for row in df.itertuples(index=False)]
    cols = [str(c) for c in df.columns]
    if fmt == "latex":
        body = "\n".join(" & ".join(r) + r" \\" for r in cells)
        head = " & ".join(c.replace("_", r"\_") for c in cols) + r" \\"
        spec = "l" + "r" * (len(cols) - 1)
        return (f"\\begin{{tabular}}{{{spec}}}\n\\toprule\n{head}\n\\midrule\n"
                f"{body.replace('_', chr(92) + '_')}\n\\bottomrule\n\\end{{tabular}}")
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(v.ljust(w) for v, w in zip(vals, widths)) + " |"  # noqa: E731
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cols), sep, *(line(r) for r in cells)])
