"""Paired likelihoods: shared probes and shared steps across the conditions of a sample, and the
Monte-Carlo error of every row, checked on the analytic conditional Gaussian (closed form)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from dlik.derived import derive_columns
from dlik.engine import log_likelihood
from dlik.engine.solve import SolverSpec
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter
from dlik.scoring.runner import Runner, ScoreSettings

CONDS = ("own", "c1", "c2", "c3")


def _rows(spec: SolverSpec, n_samples: int = 4, seed: int = 0, batch: int = 8,
          extra: list[Job] | None = None, dim: int = 12) -> pd.DataFrame:
    ad = GaussianAdapter(dim=dim, cond_scale=0.5)
    jobs = [Job(f"s{i}", c, {"text_variant": c}) for i in range(n_samples) for c in CONDS]
    got: list[dict] = []
    Runner(ad, ScoreSettings(solver=spec, seed=seed, batch_size=batch), got.append,
           progress=False).run(jobs + (extra or []))
    df = pd.DataFrame(got).assign(probes=spec.probes)
    assert (df["status"] == "ok").all(), df[["status", "error"]]
    return df


def _delta_errors(df: pd.DataFrame) -> np.ndarray:
    """Return estimated minus closed-form differences against the own condition (bpd)."""
    own = df[df["condition_id"] == "own"].set_index("sample_id")
    d = df[df["condition_id"] != "own"]
    est = d["logp_nats"].to_numpy() - own.loc[d["sample_id"], "logp_nats"].to_numpy()
    exact = d["exact_logp_nats"].to_numpy() - own.loc[d["sample_id"], "exact_logp_nats"].to_numpy()
    return (est - exact) / (df["n_dims"].iloc[0] * math.log(2))


GAUSS = dict(method="dopri5", atol=1e-5, rtol=1e-5, estimator="gaussian")


def test_shared_probes_and_steps_cancel_the_noise_of_differences():
    """The conditions differ in their mean only, so the divergence (a function of t alone on
    this linear model) is common to them: with shared probes the differences are the closed
    form's to the solver's precision, with independent probes they carry the probe noise."""
    paired = _delta_errors(_rows(SolverSpec(**GAUSS)))
    unpaired = _delta_errors(_rows(SolverSpec(**GAUSS, probes="independent", steps="own")))
    assert np.abs(paired).max() < 1e-3  # this solver's own error on a row is ~1e-4 bpd
    assert np.abs(unpaired).std() > 0.01  # gaussian-probe noise of a 12-dim trace, ~ nats
    assert np.abs(unpaired).mean() > 100 * np.abs(paired).mean()


def test_differences_are_stable_across_probe_seeds():
    deltas = [_delta_errors(_rows(SolverSpec(**GAUSS), seed=s)) for s in (0, 1, 2)]
    assert np.abs(np.array(deltas)).max() < 1e-3
    assert np.ptp(np.array(deltas), axis=0).max() < 1e-3


def test_identical_rows_give_identical_values_bitwise():
    """The same input under the same condition twice (another condition_id): the same probes
    and the same replayed steps, so the same value to the last bit."""
    extra = [Job(f"s{i}", "c2-again", {"text_variant": "c2"}, {"condition": "c2"})
             for i in range(4)]
    df = _rows(SolverSpec(**GAUSS), extra=extra, batch=3).set_index(["sample_id", "condition_id"])
    for i in range(4):
        assert df.loc[(f"s{i}", "c2"), "logp_nats"] == df.loc[(f"s{i}", "c2-again"), "logp_nats"]
        assert df.loc[(f"s{i}", "c2"), "nfe"] == df.loc[(f"s{i}", "c2-again"), "nfe"]


def test_shared_steps_replay_the_pilots_steps_whatever_the_batch():
    """Every condition of a sample integrates on its first condition's accepted steps (same
    NFE), and a row's value does not depend on batch size or which rows are done."""
    spec = SolverSpec(method="dopri5", atol=1e-4, rtol=1e-4)
    a = _rows(spec, batch=16).set_index(["sample_id", "condition_id"]).sort_index()
    b = _rows(spec, batch=3).set_index(["sample_id", "condition_id"]).sort_index()
    assert (a["steps"] == "shared").all()
    np.testing.assert_allclose(a["logp_nats"], b["logp_nats"], rtol=1e-12, atol=0)
    replayed = a.drop(index="own", level="condition_id")
    assert (replayed["nfe"].groupby(level=0).nunique() == 1).all()
    # resume: rows of c1 and c3 done; the pilot (own) is recomputed, not rescored
    ad = GaussianAdapter(dim=12, cond_scale=0.5)
    jobs = [Job(f"s{i}", c, {"text_variant": c}) for i in range(4) for c in CONDS]
    got: list[dict] = []
    done = {(f"s{i}", c) for i in range(4) for c in ("own", "c1", "c3")}
    Runner(ad, ScoreSettings(solver=spec, batch_size=2), got.append, progress=False).run(
        jobs, done=done)
    c = pd.DataFrame(got).set_index(["sample_id", "condition_id"]).sort_index()
    assert list(c.index.get_level_values(1).unique()) == ["c2"]
    np.testing.assert_allclose(c["logp_nats"], a.loc[c.index, "logp_nats"], rtol=1e-12, atol=0)


def test_own_steps_control_each_row():
    df = _rows(SolverSpec(method="dopri5", atol=1e-4, rtol=1e-4, steps="own"))
    assert (df["steps"] == "own").all()
    assert SolverSpec(method="dopri5", integrator="torchdiffeq").columns()["steps"] == "own"
    assert SolverSpec(method="rk4", step_size=0.1).columns()["steps"] == "shared"


def test_bpd_se_covers_the_closed_form_as_often_as_it_should():
    """K = 16 gaussian probes per row on 120 rows: |logp - exact| < 2 se should hold with the
    t(15) probability 0.936 (the solver's error, ~1e-6 nats, is far below the se)."""
    ad = GaussianAdapter(dim=10)
    jobs = [Job(f"g{i}", "analytic") for i in range(120)]
    got: list[dict] = []
    spec = SolverSpec(method="rk4", step_size=0.02, estimator="gaussian", n_probes=16)
    Runner(ad, ScoreSettings(solver=spec, batch_size=40), got.append, progress=False).run(jobs)
    df = pd.DataFrame(got)
    se = df["bpd_se"] * df["n_dims"] * math.log(2)
    z = (df["logp_nats"] - df["exact_logp_nats"]) / se
    assert (se > 0).all()
    assert 0.85 <= float((z.abs() < 2).mean()) <= 0.99
    probes = np.array([[float(v) for v in c.split(";")] for c in df["logp_probes"]])
    assert probes.shape == (120, 16)
    np.testing.assert_allclose(probes.mean(1), df["logp_nats"], rtol=1e-12)


def test_delta_bpd_se_is_paired_with_shared_probes():
    spec = SolverSpec(method="rk4", step_size=0.05, estimator="gaussian", n_probes=4)
    for probes, small in (("shared", True), ("independent", False)):
        df = _rows(SolverSpec(**{**spec.__dict__, "probes": probes}))
        d = derive_columns(df.assign(status="ok"), ["delta_bpd", "delta_bpd_se"])
        se = d.loc[d["text_variant"] != "own", "delta_bpd_se"]
        assert se.notna().all()
        assert (se < 1e-9).all() == small  # the shared noise cancels exactly on this model
    one = derive_columns(_rows(SolverSpec(method="rk4", step_size=0.05)),
                         ["delta_bpd", "delta_bpd_se"])
    assert one["delta_bpd_se"].isna().all()  # one probe: no Monte-Carlo error to report


def test_k_probes_cost_one_forward_per_step():
    """n_probes = K: one drift forward per stage and K batched VJPs, not K passes."""
    ad = GaussianAdapter(dim=8)
    prep = ad.prepare(Job("s0", "c"))
    calls = []

    def drift(x, t, cond):
        calls.append(x.shape[0])
        return ad.drift(x, t, cond)

    x0, cond = prep.x0[None], {k: v[None] for k, v in prep.cond.items()}
    out = []
    for k in (1, 4):
        calls.clear()
        res = log_likelihood(drift, x0, prep.prior_mean[None], prep.prior_std[None], cond=cond,
                             method="rk4", step_size=0.1, n_probes=k, estimator="gaussian")
        out.append((len(calls), int(res.nfe[0])))
    assert out[0] == out[1] == (40, 40)  # 10 steps x 4 stages


def test_fixed_step_nonfinite_row_stops_at_once():
    ad = GaussianAdapter(dim=4)
    prep = ad.prepare(Job("s0", "c"))
    x0 = torch.stack([prep.x0, prep.x0.clone().fill_(float("nan"))])
    cond = {k: torch.stack([v, v]) for k, v in prep.cond.items()}
    res = log_likelihood(ad.drift, x0, prep.prior_mean, prep.prior_std, cond=cond,
                         method="rk4", step_size=0.02, max_steps=40_000)
    assert res.status == ["ok", "nonfinite"]
    assert int(res.nfe[1]) <= 5


def test_stopped_ode_path_is_never_used_as_finished():
    from dlik.engine.transport import ode_path

    ad = GaussianAdapter(dim=4)
    prep = ad.prepare(Job("s0", "c"))
    x = torch.stack([prep.x0, prep.x0.clone().fill_(float("nan"))])
    cond = {k: torch.stack([v, v]) for k, v in prep.cond.items()}
    path = ode_path(ad.drift, x, [0.0, 1.0], cond=cond, method="rk4", step_size=0.05)
    assert path.status == ["ok", "nonfinite"]
    with pytest.raises(RuntimeError, match="stopped for rows"):
        path[-1]
