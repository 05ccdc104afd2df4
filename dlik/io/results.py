"""The one reader of results CSVs: `dlik tables`, `dlik report`, `dlik merge` and `dlik run`
(resume, derived columns) all read a results.csv through read_results, so a table and a report
made from the same CSV see the same rows.

Ids and texts are read as written: `sample_id` "001" stays "001" (not the integer 1) and a text
or prompt "NA" / "null" / "None" stays that string; only an empty cell, "nan" or "NaN" is
missing. Floats are parsed exactly (the writer writes repr(float)).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pandas as pd

# Exact float parsing: pandas 3's default parser round-trips; pandas 2 needs the option.
EXACT_FLOATS = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
# Columns that hold ids or free text (read as str whatever they look like).
TEXT_COLUMNS = ("experiment", "sample_id", "condition_id", "condition", "text", "text_variant",
                "prompt", "reference", "hypothesis", "true_label",
                "candidate_label", "image_set", "attribute", "perturbation", "level_unit",
                "error", "model_id", "checkpoint_hash", "config_hash")
MISSING = ("", "nan", "NaN")


def read_results(source: str | Path | IO[str]) -> pd.DataFrame:
    """Return a results CSV (path or text buffer) with ids and texts as written and exact
    floats; empty cells, "nan" and "NaN" are missing, nothing else."""
    return pd.read_csv(source, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False,
                       na_values=list(MISSING), **EXACT_FLOATS)


def read_many(paths: list[Path]) -> pd.DataFrame:
    """Return the rows of several results CSVs, one after the other."""
    return pd.concat([read_results(p) for p in paths], ignore_index=True)
