"""What a table resolves: the Monte-Carlo noise floor of its contrast, the solver's measured
error, argmax choices closer than their noise, and bootstrap CIs over too few samples.

Every study table prints these lines under it (dlik tables, dlik run, dlik report), so a
difference is read against the noise of the estimate that produced it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..derived.paired import difference_error, probe_values
from ..engine.errors import t_quantile

SOLVER_ERRORS = Path(__file__).resolve().parents[1] / "assets" / "solver_errors.json"
MIN_BOOTSTRAP_N = 8
"""Bootstrap CIs over fewer samples than this are flagged: a percentile bootstrap over 3-6
values is too narrow to mean what a 95% interval says."""


def resolved(lo: float, hi: float, n: int) -> str:
    """Return 'yes' when the CI over samples excludes 0 (n >= MIN_BOOTSTRAP_N), 'no' when it
    does not, and 'n<8' when there are too few samples for the CI to say."""
    if n < MIN_BOOTSTRAP_N:
        return f"n<{MIN_BOOTSTRAP_N}"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "no"
    return "yes" if lo > 0 or hi < 0 else "no"


def _probe_setup(df: pd.DataFrame) -> str:
    k = df["logp_probes"].map(lambda c: probe_values(c).size) if "logp_probes" in df else None
    ks = sorted(set(k[k > 0])) if k is not None else []
    probes = sorted(set(df["probes"].dropna().astype(str))) if "probes" in df else []
    refresh = sorted(set(df["refresh"].dropna().astype(str))) if "refresh" in df else []
    return (f"K = {'/'.join(map(str, ks)) or '?'} probes per row, "
            f"probes = {'/'.join(probes) or 'independent (old CSV)'}, "
            f"refresh = {'/'.join(refresh) or 'none'}")


def noise_floor_note(df: pd.DataFrame, contrast: str, se_column: str) -> str:
    """Return the line giving the Monte-Carlo standard error of `contrast` (from se_column)
    over the table's rows, or saying it was not measured and how to measure it."""
    ok = df[df["status"] == "ok"] if "status" in df else df
    se = pd.to_numeric(ok.get(se_column, pd.Series(dtype=float)), errors="coerce").dropna()
    if se.empty:
        return (f"Monte-Carlo noise of {contrast}: not measured (one probe per row); rerun "
                "with solver.n_probes=2 or more to get it")
    dof = pd.to_numeric(ok.get(f"{se_column}_dof", ok.get("se_dof", pd.Series(dtype=float))),
                        errors="coerce").dropna()
    dof_part = f"; median {dof.median():.3g} degrees of freedom" if not dof.empty else ""
    return (f"Monte-Carlo noise of {contrast} (one standard error per row; "
            f"{_probe_setup(ok)}{dof_part}): median {se.median():.2g}, max {se.max():.2g} "
            f"over {len(se)} rows")


def _matches(have: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
    for k, v in want.items():
        got = have.get(k)
        if isinstance(v, float) and got is not None and not isinstance(got, str):
            try:
                if not math.isclose(v, float(got), rel_tol=1e-9):
                    return False
            except (TypeError, ValueError):
                return False
        elif (got is None or (isinstance(got, float) and math.isnan(got))) and v is None:
            continue
        elif got != v:
            return False
    return True


def solver_note(columns: Mapping[str, Any], model_id: str) -> str:
    """Return the line saying how far this solver setting is from a tight reference on this
    model, as measured (assets/solver_errors.json, from README Performance); columns are
    SolverSpec.columns() names (a spec's, or a CSV row's provenance)."""
    table = json.loads(SOLVER_ERRORS.read_text())
    for name, entry in table["presets"].items():
        if not _matches(columns, entry["match"]):
            continue
        for prefix, measured in entry["errors"].items():
            if str(model_id).startswith(prefix):
                return f"solver {name}: {measured} (README, Performance)"
        return (f"solver {name}: its error is not measured for {model_id}; check it against "
                "a tight reference with `dlik bench` (README, Performance)")
    return (f"solver {columns.get('solver')} atol={columns.get('atol')} rtol="
            f"{columns.get('rtol')} step_size={columns.get('step_size')}: not a measured "
            "preset; check its error with `dlik bench`")


def solver_note_of(df: pd.DataFrame) -> str | None:
    """Return solver_note for the CSV's first row's provenance (None without it)."""
    if "model_id" not in df.columns or df.empty:
        return None
    row = df.iloc[0].to_dict()
    row["step_size"] = None if pd.isna(row.get("step_size")) else row.get("step_size")
    return solver_note(row, str(row["model_id"]))


def close_calls(df: pd.DataFrame, groups: list[str], score: str = "logp_nats") -> str | None:
    """Return the line counting argmax choices that the noise does not resolve: groups whose
    best and second-best rows differ by less than the two-sided 95 % t quantile at the paired
    error's degrees of freedom times that error (None when rows carry one probe)."""
    ok = df[df["status"] == "ok"]
    if "logp_probes" not in ok or ok["logp_probes"].map(lambda c: probe_values(c).size).max(
            ) < 2:
        return None
    n = close = 0
    dofs = []
    for _, g in ok.groupby(groups, sort=False, dropna=False):
        if len(g) < 2:
            continue
        top = g.sort_values(score, ascending=False).iloc[:2]
        a, b = top.iloc[0], top.iloc[1]
        se, dof = difference_error(a, b, float(a["n_dims"]))
        gap = (float(a["logp_nats"]) - float(b["logp_nats"])) / (math.log(2) * a["n_dims"])
        n += 1
        dofs.append(dof)
        close += bool(np.isfinite(se) and gap < t_quantile(dof) * se)
    if not n:
        return None
    return (f"argmax choices not resolved by the probes: {close} of {n} groups have best and "
            f"second-best within t(95 %, dof) paired standard errors (median dof "
            f"{float(np.median(dofs)):.3g})")


def resolution_notes(df: pd.DataFrame, contrast: str, se_column: str,
                     table: pd.DataFrame | None = None, n_column: str = "n") -> list[str]:
    """Return the note lines of a table: noise floor, solver error, small-n flag."""
    notes = [noise_floor_note(df, contrast, se_column)]
    solver = solver_note_of(df)
    if solver:
        notes.append(solver)
    if table is not None and n_column in table and (table[n_column] < MIN_BOOTSTRAP_N).any():
        notes.append(f"CIs of rows with {n_column} < {MIN_BOOTSTRAP_N} (marked n<"
                     f"{MIN_BOOTSTRAP_N} where the table has a resolved column) are bootstrapped "
                     f"over fewer than {MIN_BOOTSTRAP_N} samples: too few for a 95% interval to "
                     "mean much; run more samples (data.n_utterances / data.n_items)")
    return notes
