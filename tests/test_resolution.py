"""Tables say what they resolve: noise floors, small-n flags, close argmax calls, and the
paper's independent probes beside the paired estimate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dlik.derived import derive_columns
from dlik.analysis.protocols import protocol_table
from dlik.analysis.resolution import close_calls, noise_floor_note, resolved, solver_note
from dlik.analysis.text_agnostic import text_agnostic_table
from dlik.engine.solve import SolverSpec
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter
from dlik.scoring.runner import Runner, ScoreSettings


def _run(probes: str, n_samples: int, n_probes: int = 3) -> pd.DataFrame:
    ad = GaussianAdapter(dim=8, cond_scale=0.5)
    jobs = [Job(f"s{i}", c, {"text_variant": c}) for i in range(n_samples)
            for c in ("own", "c1", "c2")]
    spec = SolverSpec("rk4", step_size=0.05, estimator="gaussian", n_probes=n_probes,
                      probes=probes)
    got: list[dict] = []
    Runner(ad, ScoreSettings(solver=spec, batch_size=6), got.append, progress=False).run(jobs)
    df = pd.DataFrame(got).assign(model_id=ad.model_id, **{**spec.columns(), **{"steps": "shared"}})
    return derive_columns(df, ["delta_bpd", "delta_bpd_se"])


def test_resolved_flags_small_samples():
    assert resolved(0.1, 0.2, 8) == "yes" and resolved(-0.2, -0.1, 9) == "yes"
    assert resolved(-0.1, 0.2, 20) == "no"
    assert resolved(0.1, 0.2, 5) == "n<8"


def test_text_swap_table_reports_noise_and_resolution():
    df = _run("shared", n_samples=9)
    table = text_agnostic_table(df)
    assert list(table["n"]) == [9, 9]
    assert (table["mc_se"] < 1e-9).all()  # the divergence is common: shared noise cancels
    # the closed-form deltas of conditions drawn with tau = 0.5 are far from 0
    assert set(table["resolved"]) <= {"yes", "no"}
    assert "median" in noise_floor_note(df, "delta_bpd", "delta_bpd_se")
    small = text_agnostic_table(_run("shared", n_samples=3))
    assert set(small["resolved"]) == {"n<8"}
    one = _run("shared", n_samples=2, n_probes=1)
    assert "not measured" in noise_floor_note(one, "delta_bpd", "delta_bpd_se")


def test_close_calls_count_gaps_under_two_paired_se():
    df = _run("independent", n_samples=4)
    line = close_calls(df, ["sample_id"])
    assert line is not None and "groups have best and second-best within t(95 %, dof) " \
        "paired standard errors (median dof" in line  # Welch dof of two 1-dof errors
    n_close = int(line.split(":")[1].split(" of ")[0])
    # independent gaussian probes on 8 dims: the noise is ~1 nat, the condition gaps too
    assert 0 <= n_close <= 4
    assert close_calls(_run("shared", 2, n_probes=1), ["sample_id"]) is None


def test_protocol_table_shows_the_scatter_of_independent_probes():
    paired, paper = _run("shared", n_samples=6), _run("independent", n_samples=6)
    table = protocol_table(pd.concat([paired, paper], ignore_index=True))
    assert list(table["text_variant"]) == ["c1", "c2"] and list(table["n"]) == [6, 6]
    assert (table["scatter_sd"] > 0.01).all()  # paper's protocol: probe noise in contrasts
    exact = paired.set_index(["sample_id", "condition_id"])
    own = exact.xs("own", level=1)
    for _, r in table.iterrows():
        rows = exact.xs(r["text_variant"], level=1)
        truth = ((own["exact_logp_nats"] - rows["exact_logp_nats"])
                 / (8 * math.log(2))).mean()
        assert r["mean_paired"] == pytest.approx(truth, abs=5e-3)  # rk4, 20 steps
    with pytest.raises(ValueError, match="probes shared and independent"):
        protocol_table(paired)


def test_solver_note_matches_a_csv_rows_provenance():
    cols = SolverSpec("rk4", step_size=0.02).columns()
    assert solver_note(cols, "analytic_gaussian(dim=8)").startswith("solver rk4_50steps")
    assert "not a measured preset" in solver_note(SolverSpec("rk4", step_size=0.3).columns(),
                                                  "x")
    assert np.isfinite(cols["step_size"])


def test_report_puts_the_paper_protocol_beside_the_paired_one(tmp_path):
    from dlik.analysis.report import build_report

    for name, probes in (("paired", "shared"), ("paper", "independent")):
        (tmp_path / "runs" / name).mkdir(parents=True)
        _run(probes, n_samples=3).assign(experiment="tts_text_agnostic").to_csv(
            tmp_path / "runs" / name / "results.csv", index=False)
    md = build_report([tmp_path / "runs"], tmp_path / "out").read_text()
    section = md.split("## The paper's protocol beside the paired one: text_agnostic")[1]
    rows = [ln for ln in section.split("\n## ")[0].splitlines() if ln.startswith("| c")]
    assert [r.split("|")[1].strip() for r in rows] == ["c1", "c2"] and "scatter_sd" in section
    # one protocol alone: no such section
    md = build_report([tmp_path / "runs" / "paired"], tmp_path / "out2").read_text()
    assert "The paper's protocol beside" not in md
