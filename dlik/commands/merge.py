"""dlik merge: join sharded results CSVs into one run's CSV, and recompute derived columns
(dlik/derived) from the joined rows.

Inputs that are not one run are refused: rows that differ in provenance (experiment, model,
checkpoint, solver settings, seed, dlik version) or two rows of one (sample, condition) with
different measures. Missing shard files, rows missing against the study's job list (from
the run's config.yaml) and error rows are reported. --allow-mismatch merges anyway, keeping
per key the first ok row (else the first row).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..io.lock import LockHeld, hold, lock_path
from ..io.merge import MergeRefused, input_files, merge_with_report
from .config import build_study
from ..validation.inputs import check_csv, check_out
from ..validation.parser import OneLineParser
from ..validation.refusal import Refused


def expected_keys(config: Path) -> set[tuple[str, str]]:
    """Return the keys of every job of the study in a run's config.yaml (builds its dataset,
    and its model only when the study lists jobs with it; scores nothing)."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = OmegaConf.load(config)
    if not cfg.get("study") or "_target_" not in cfg.study:
        raise ValueError(f"{config} names no study (study._target_)")
    study = build_study(cfg, lambda: instantiate(cfg.model, device="cpu"))
    return {j.key for j in study.jobs()}


def main(argv: list[str]) -> int:
    """CLI: dlik merge DIR_OR_CSV... [--out PATH] [--allow-mismatch]; returns the exit code."""
    ap = OneLineParser(prog="dlik merge", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", type=Path, help="run dirs (their shard CSVs) or CSVs")
    ap.add_argument("--out", type=Path, default=None, help="default: <first dir>/results.csv")
    ap.add_argument("--allow-mismatch", action="store_true",
                    help="merge inputs whose provenance or duplicate rows disagree")
    ap.add_argument("--no-list-jobs", action="store_true",
                    help="do not list the study's jobs from config.yaml to count missing rows")
    args = ap.parse_args(argv)
    try:
        paths = input_files(args.inputs)
    except ValueError as exc:
        raise Refused("dlik merge", str(exc)) from None
    for p in paths:  # each a CSV with a header: one-line refusals, exit 2
        check_csv(ap.prog, p)
    check_out(ap.prog, args.out)
    first = args.inputs[0] if args.inputs[0].is_dir() else args.inputs[0].parent
    expected, note = None, "no config.yaml beside the inputs"
    if args.no_list_jobs:
        note = "--no-list-jobs"
    elif (first / "config.yaml").exists():
        try:
            expected = expected_keys(first / "config.yaml")
        except Exception as exc:  # report-only: any failure to list jobs is stated, not fatal
            note = f"could not list jobs from {first / 'config.yaml'}: {exc}"
    try:
        df, report = merge_with_report(paths, args.allow_mismatch, expected)
    except MergeRefused as exc:
        raise Refused("dlik merge", str(exc)) from None
    report.expected_note = note
    out = args.out or (args.inputs[0] / "results.csv" if args.inputs[0].is_dir()
                       else Path("results.csv"))
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with hold(lock_path(out)):  # a run appending to `out` holds the same lock
            df.to_csv(tmp, index=False)
            os.replace(tmp, out)
    except LockHeld as exc:
        raise SystemExit(f"dlik merge: error: {out} is being written by a run: {exc}") from None
    print(f"[dlik] merged {len(paths)} files, {len(df)} rows -> {out}")
    for line in report.lines():
        print(f"[dlik] {line}")
    return 0
