"""One markdown + HTML report of every results CSV under the given run dirs (dlik report):
each run's provenance, its study table (the paper's numbers beside ours) and PNG plots.

Reads CSVs only (a dir holding only shard CSVs is merged in memory); never runs a model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import pandas as pd

from .legacy import upgrade_columns
from .paper_numbers import beside, load


@dataclass
class Run:
    """One results table found under the inputs."""

    dir: Path
    source: str
    df: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def experiment(self) -> str:
        """Return the experiment name(s) of the rows ('?' when the column is missing)."""
        if "experiment" not in self.df.columns:
            return "?"
        return ", ".join(sorted(self.df["experiment"].dropna().astype(str).unique())) or "?"


def _read(path: Path) -> pd.DataFrame:
    from ..io.results import read_results

    return upgrade_columns(read_results(path))


def find_runs(inputs: list[Path]) -> list[Run]:
    """Return every run under inputs: each results.csv (or CSV given by path), and each dir
    holding only results.shard{i}of{n}.csv files (merged in memory, mismatches noted)."""
    from ..io.merge import SHARD_FILE, merge_with_report

    by_dir: dict[Path, list[Path]] = {}
    for p in inputs:
        if not p.exists():
            raise ValueError(f"input {p} does not exist")
        files = [p] if p.is_file() else [
            q for q in p.rglob("*.csv")
            if q.name == "results.csv" or SHARD_FILE.fullmatch(q.name)]
        for q in files:
            by_dir.setdefault(q.parent, []).append(q)
    runs = []
    for d, files in sorted(by_dir.items()):
        whole = sorted(f for f in files if not SHARD_FILE.fullmatch(f.name))
        runs += [Run(d, str(f), _read(f)) for f in whole]
        if not whole:
            df, rep = merge_with_report(sorted(files), allow_mismatch=True)
            runs.append(Run(d, f"{d} (merged in memory from {len(files)} shard files)",
                            upgrade_columns(df), rep.lines()))
    if not runs:
        raise ValueError("no results.csv or results.shard{i}of{n}.csv under "
                         f"{[str(p) for p in inputs]}")
    return runs


def table_for(run: Run) -> str | None:
    """Return the registered table of the run's study: the `table` of the study class in the
    run's config.yaml first; without one (a CSV alone), the table named like the experiment
    (`tts_` / `tti_` prefix and `_rescoring` suffix aside), else the longest table name inside
    the experiment name."""
    from .tables import TABLES

    cfg = run.dir / "config.yaml"
    if cfg.exists():
        import yaml

        target = ((yaml.safe_load(cfg.read_text()) or {}).get("study") or {}).get("_target_")
        if target:
            mod, _, cls = target.rpartition(".")
            name = getattr(getattr(import_module(mod), cls, None), "table", None)
            return name if name in TABLES else None
    names = [e.strip() for e in run.experiment.split(",")]
    for e in names:
        for cand in (e, re.sub(r"^tt[si]_", "", e), re.sub(r"^tt[si]_|_rescoring$", "", e)):
            if cand in TABLES:
                return cand
    hits = [t for t in TABLES if t in run.experiment]
    return max(hits, key=len) if hits else None


def provenance(df: pd.DataFrame) -> pd.DataFrame:
    """Return (field, value) rows: row and status counts, then each provenance column's
    distinct values ('not recorded' when the CSV lacks it)."""
    from ..io.writer import PROVENANCE_COLUMNS

    status = df["status"].value_counts().to_dict() if "status" in df.columns else {}
    rows = [("rows", f"{len(df)} (" + ", ".join(f"{k}: {v}" for k, v in status.items()) + ")")]
    for c in PROVENANCE_COLUMNS:
        if c not in df.columns:
            rows.append((c, "not recorded"))
            continue
        vals = list(dict.fromkeys("" if pd.isna(v) else str(v) for v in df[c]))
        shown = ", ".join(f"`{v}`" if v else "(empty)" for v in vals[:6])
        rows.append((c, shown + (f" … ({len(vals)} values)" if len(vals) > 6 else "")))
    return pd.DataFrame(rows, columns=["field", "value"])


def _slug(run: Run, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", run.dir.name) or "run"
    slug, i = base, 1
    while slug in taken:
        i += 1
        slug = f"{base}_{i}"
    taken.add(slug)
    return slug


def _run_section(k: int, run: Run, out: Path, slug: str) -> list[str]:
    from .tables import render_study_table
    from .formatting import render
    from .plots import plots_for

    table = table_for(run)
    md = [f"## {k}. {run.experiment}", "", f"Source: `{run.source}`", "", "### Provenance", "",
          render(provenance(run.df), "md"), ""]
    md += [f"- {n}" for n in run.notes] + ([""] if run.notes else [])
    if table is None:
        md += ["No registered table matches this experiment.", ""]
    else:
        md += [f"### Table `{table}`", ""]
        try:
            with beside(table):
                md += [render_study_table(table, run.df), ""]
        except (ValueError, KeyError) as exc:
            md += [f"Table `{table}` could not be built from this CSV: {exc}", ""]
    fns = plots_for(table, run.df)
    if fns:
        md += ["### Plots", ""]
        (out / slug).mkdir(parents=True, exist_ok=True)
    for fn in fns:
        try:
            for png, caption in fn(run.df, out / slug):
                md += [f"![{caption}]({png.relative_to(out).as_posix()})", "", caption, ""]
        except (ValueError, KeyError) as exc:
            md += [f"Plot `{fn.__name__}` could not be drawn: {exc}", ""]
    return md


def protocol_sections(runs: list[Run]) -> list[str]:
    """Return a section per study (text swaps, prompt confounds) whose runs hold both shared-
    and independent-probe rows of the same inputs: the paper's protocol beside the paired one
    (dlik tables protocols)."""
    from .formatting import render
    from .protocols import STUDIES, protocol_notes, protocol_table

    md: list[str] = []
    for study in STUDIES:
        frames = [r.df for r in runs if table_for(r) == study and "probes" in r.df.columns]
        if not frames:
            continue
        df = pd.concat(frames, ignore_index=True)
        if not {"shared", "independent"} <= set(df["probes"].dropna().astype(str)):
            continue
        try:
            table = render(protocol_table(df), "md", "{:.3g}")
        except ValueError as exc:
            table = f"The protocol comparison could not be built: {exc}"
        md += [f"## The paper's protocol beside the paired one: {study}", "", table, "",
               *protocol_notes(df), ""]
    return md


def build_report(inputs: list[Path], out: Path) -> Path:
    """Write out/report.md, out/report.html and the PNGs; return the markdown path."""
    from .. import __version__
    from .formatting import render
    from .report_html import md_to_html

    runs = find_runs(inputs)
    out.mkdir(parents=True, exist_ok=True)
    paper = load()
    taken: set[str] = set()
    slugs = [_slug(r, taken) for r in runs]
    overview = pd.DataFrame([{
        "run": s, "experiment": r.experiment, "table": table_for(r) or "-", "rows": len(r.df),
        "ok": int((r.df["status"] == "ok").sum()) if "status" in r.df.columns else "-",
        "model_id": ", ".join(r.df["model_id"].astype(str).unique())
        if "model_id" in r.df.columns else "-"} for r, s in zip(runs, slugs)])
    md = ["# dlik report", "",
          f"{len(runs)} run(s) under {', '.join(f'`{p}`' for p in inputs)}, rebuilt by "
          f"`dlik report` (dlik {__version__}) from the results CSVs alone: no model was run.",
          "", f"Paper values (`paper_*` columns, where the paper's setting has a matching row): "
          f"{paper['paper']}; transcribed in `dlik/analysis/paper_numbers.json` from "
          f"{paper['transcribed_from']}.", "", render(overview, "md"), ""]
    md += protocol_sections(runs)
    for k, (run, slug) in enumerate(zip(runs, slugs), 1):
        md += _run_section(k, run, out, slug)
    text = "\n".join(md).rstrip() + "\n"
    (out / "report.md").write_text(text)
    (out / "report.html").write_text(md_to_html(text))
    return out / "report.md"
