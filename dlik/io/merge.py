"""Join sharded results CSVs into one run's rows (dlik merge), and recompute the derived
columns (dlik/derived) from the joined rows.

Inputs that are not one run are refused: rows that differ in provenance (experiment, model,
checkpoint, solver settings, seed, dlik version) or two rows of one (sample, condition) with
different measures. Missing shard files, rows missing against an expected key set and error
rows are reported. allow_mismatch merges anyway, keeping per key the first ok row (else the
first row).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..derived import derive_columns
from ..engine.solve import SOLVER_COLUMNS
from .results import EXACT_FLOATS, read_results  # noqa: F401 (EXACT_FLOATS re-exported)

KEY = ["sample_id", "condition_id"]
# steps is a row's own record (own where a replay past tolerance re-integrated on its own steps)
MUST_MATCH = ("experiment", "model_id", "checkpoint_hash",
              *(c for c in SOLVER_COLUMNS if c != "steps"), "seed", "dlik_version")
COMPARED = ("logp_nats", "bpd", "prior_logp", "divergence_integral", "n_dims", "nfe", "status")
SHARD_FILE = re.compile(r"results\.shard(\d+)of(\d+)\.csv")


class MergeRefused(ValueError):
    """The inputs are not one run (provenance or duplicate rows disagree)."""


@dataclass
class MergeReport:
    """What a merge found: files, rows, refusals (kept as warnings when allowed), gaps."""

    files: list[Path]
    rows: int = 0
    dropped_duplicates: int = 0
    mismatches: list[str] = field(default_factory=list)
    missing_shards: list[str] = field(default_factory=list)
    expected: int | None = None
    expected_note: str = ""
    missing: list[tuple[str, str]] = field(default_factory=list)
    unexpected: list[tuple[str, str]] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Return the human-readable summary, one finding per line."""
        out = [f"warning: merged despite: {m}" for m in self.mismatches]
        out += [f"warning: {m}" for m in self.missing_shards]
        if self.expected is not None:
            miss = (f"{len(self.missing)} missing, e.g. {self.missing[:3]}" if self.missing
                    else "none missing")
            out.append(f"expected rows (jobs of config.yaml's study): {self.expected}, {miss}"
                       + (f"; {len(self.unexpected)} rows not among them"
                          if self.unexpected else ""))
        elif self.expected_note:
            out.append(f"expected rows unknown: {self.expected_note}")
        if self.dropped_duplicates:
            out.append(f"{self.dropped_duplicates} duplicate row(s) dropped")
        errs = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items()))
        out.append(f"rows with status != ok: {sum(self.errors.values())}"
                   + (f" ({errs}), e.g. {'; '.join(self.error_examples)}" if errs else ""))
        return out


def _read(path: Path) -> pd.DataFrame:
    """Return a CSV as exact strings (empty cells as ''), with the file name in _file."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [k for k in KEY if k not in df.columns]
    if missing:
        raise MergeRefused(f"{path} lacks key column(s) {missing}: not a dlik results CSV")
    return df.assign(_file=path.name)


def provenance_mismatches(df: pd.DataFrame) -> list[str]:
    """Return one message per provenance column (MUST_MATCH) with more than one value."""
    out = []
    for col in [c for c in MUST_MATCH if c in df.columns]:
        vals = df.groupby(col, sort=True)["_file"].agg(lambda f: sorted(set(f)))
        if len(vals) > 1:
            where = "; ".join(f"{v!r} in {', '.join(files)}" for v, files in vals.items())
            out.append(f"column {col} differs between rows: {where}")
    return out


def duplicate_conflicts(df: pd.DataFrame) -> list[str]:
    """Return messages for keys whose rows differ in a measure column (COMPARED)."""
    dup = df[df.duplicated(KEY, keep=False)]
    cmp = [c for c in COMPARED if c in df.columns]
    if dup.empty or not cmp:
        return []
    n_distinct = dup.groupby(KEY, sort=False)[cmp].nunique()
    bad = n_distinct[(n_distinct > 1).any(axis=1)]
    if bad.empty:
        return []
    key = bad.index[0]
    rows = dup[(dup["sample_id"] == key[0]) & (dup["condition_id"] == key[1])]
    col = next(c for c in cmp if bad.loc[key, c] > 1)
    vals = " vs ".join(f"{r[col]!r} ({r['_file']})" for _, r in rows.iterrows())
    return [f"{len(bad)} (sample_id, condition_id) key(s) have rows with different measures, "
            f"e.g. {tuple(key)}: {col} {vals}"]


def shard_gaps(paths: list[Path]) -> list[str]:
    """Return messages for shard files absent from a results.shard{i}of{n}.csv set."""
    by_dir: dict[tuple[Path, int], set[int]] = {}
    for p in paths:
        m = SHARD_FILE.fullmatch(p.name)
        if m:
            by_dir.setdefault((p.parent, int(m[2])), set()).add(int(m[1]))
    out = []
    for (d, n), have in sorted(by_dir.items()):
        out += [f"shard {i} of {n} missing: no {d / f'results.shard{i}of{n}.csv'} (its rows "
                "are absent; rerun with shard=" + f"{i}/{n})" for i in range(n) if i not in have]
    if len({n for _, n in by_dir}) > 1:
        out.append(f"shard files of different counts n: {sorted({n for _, n in by_dir})}")
    return out


def merge_with_report(paths: list[Path], allow_mismatch: bool = False,
                      expected: set[tuple[str, str]] | None = None
                      ) -> tuple[pd.DataFrame, MergeReport]:
    """Return (merged rows with derived columns recomputed, report); raise MergeRefused when
    the inputs disagree and allow_mismatch is False."""
    if not paths:
        raise ValueError("no results CSVs to merge (expected results.shard{i}of{n}.csv files)")
    frames = [_read(Path(p)) for p in paths]
    cols = list(frames[0].columns)
    for p, f in zip(paths, frames):
        if list(f.columns) != cols:
            diff = sorted(set(f.columns) ^ set(cols)) or "the same names in another order"
            raise MergeRefused(f"{p} has other columns than {paths[0]} ({diff})")
    df = pd.concat(frames, ignore_index=True)
    report = MergeReport(files=list(paths), missing_shards=shard_gaps(list(paths)))
    problems = provenance_mismatches(df) + duplicate_conflicts(df)
    if problems and not allow_mismatch:
        raise MergeRefused("inputs are not one run: " + "; ".join(problems)
                           + ". Pass --allow-mismatch to merge anyway")
    report.mismatches = problems
    order = df.assign(_bad=df.get("status", "ok") != "ok").sort_values("_bad", kind="stable")
    keep = order.drop_duplicates(KEY, keep="first").sort_index().drop(columns="_bad")
    report.dropped_duplicates = len(df) - len(keep)
    report.rows = len(keep)
    if "status" in keep.columns:
        bad = keep[keep["status"] != "ok"]
        report.errors = bad["status"].value_counts().to_dict()
        report.error_examples = [f"{r.sample_id}/{r.condition_id}: {r.status} "
                                 f"{getattr(r, 'error', '')}".strip()
                                 for r in bad.head(3).itertuples()]
    if expected is not None:
        present = set(zip(keep["sample_id"], keep["condition_id"]))
        report.expected = len(expected)
        report.missing = sorted(expected - present)
        report.unexpected = sorted(present - expected)
    text = keep.drop(columns=["_file"]).to_csv(index=False)
    out = read_results(io.StringIO(text))
    return derive_columns(out), report


def merge_results(paths: list[Path], allow_mismatch: bool = False) -> pd.DataFrame:
    """Return the union of results CSVs, one row per (sample_id, condition_id)."""
    return merge_with_report(paths, allow_mismatch)[0]


def input_files(inputs: list[Path]) -> list[Path]:
    """Return the shard CSVs of each input dir (results.shard{i}of{n}.csv) and the CSV inputs."""
    paths: list[Path] = []
    for p in inputs:
        if not p.exists():
            raise ValueError(f"input {p} does not exist")
        if not p.is_dir():
            paths.append(p)
            continue
        found = sorted(q for q in p.iterdir() if SHARD_FILE.fullmatch(q.name))
        if not found:
            sub = sorted({q.parent for q in p.rglob("results.shard*of*.csv")
                          if SHARD_FILE.fullmatch(q.name)})
            if sub:  # where they are first: a refusal is cut to one line of 200 characters
                raise ValueError(f"shard files are in {[str(s) for s in sub[:5]]}, not in {p}")
            raise ValueError(f"no results.shard{{i}}of{{n}}.csv in {p}")
        paths += found
    return paths
