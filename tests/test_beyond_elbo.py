"""ELBO ranker: tight on the Gaussian oracle (exact score, pi = p_T), shared draws, pruning,
the agreement table against known ranks, dlik bench --estimator elbo, tiny Grad-TTS."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch

from dlik.analysis.elbo_agreement import elbo_agreement_table, sample_agreement, paired
from dlik.commands.bench import main as bench_main
from dlik.estimators.elbo import ElboSpec, TimeProposal, candidate_elbo
from dlik.estimators.rank import elbo_rows
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter

CONDITIONS = ["own", "a", "b", "null_condition"]


def _preps(ad, sample: str = "s0"):
    return [ad.prepare(Job(sample, c, payload={"null_condition": c == "null_condition"}))
            for c in CONDITIONS]


def test_elbo_is_log_p_in_expectation_on_the_oracle():
    ad = GaussianAdapter(dim=8, cond_scale=1.0)
    preps = _preps(ad)
    exact = torch.tensor([p.columns["exact_logp_nats"] for p in preps], dtype=torch.float64)
    res = candidate_elbo(ad, preps, "s0", ElboSpec(rounds=(2048,), prune_z=None,
                                                   batch_size=512))
    assert (res.draws == 2048).all() and res.pruned_after == [None] * 4
    assert (res.se / 8 < 0.05).all()  # nats/dim
    assert ((res.elbo - exact).abs() <= 4 * res.se).all()


def test_time_proposal_is_a_distribution_with_the_right_weight():
    sch = GaussianAdapter().schedule
    q = TimeProposal(sch, 1e-5, 1.0)
    u = torch.linspace(0.01, 0.99, 7, dtype=torch.float64)
    t = q.quantile(u)
    assert torch.allclose(q.cdf(t), u, atol=1e-12) and bool((torch.diff(t) > 0).all())
    # weight = (beta / sigma^2) / q: E_q[w f] = int beta / sigma^2 f dt for f = 1 and f =
    # a^2 sigma^2, whose integrals are [log expm1 B] and [sigma^2]
    t = q.quantile((torch.arange(200000, dtype=torch.float64) + 0.5) / 200000)
    w = q.weight(t)
    ends = torch.tensor([1e-5, 1.0], dtype=torch.float64)
    r = torch.log(torch.expm1(sch.integral(ends)))
    assert float(w.mean()) == pytest.approx(float(r[1] - r[0]), rel=1e-4)
    f = sch.mean_coef(t) ** 2 * sch.var(t)
    v = sch.var(ends)
    assert float((w * f).mean()) == pytest.approx(float(v[1] - v[0]), rel=1e-4)


def test_shared_draws_pruning_and_batch_independence():
    ad = GaussianAdapter(dim=8, cond_scale=1.0)
    preps = _preps(ad)
    twin = [preps[0], ad.prepare(Job("s0", "own"))]  # the same candidate twice
    r = candidate_elbo(ad, twin, "s0", ElboSpec(rounds=(8,), prune_z=None))
    assert r.elbo[0] == r.elbo[1]
    spec = ElboSpec(rounds=(8, 8, 16))
    a = candidate_elbo(ad, preps, "s0", spec)
    b = candidate_elbo(ad, preps, "s0", ElboSpec(rounds=(8, 8, 16), batch_size=3))
    assert torch.allclose(a.elbo, b.elbo, rtol=0, atol=1e-9) and a.pruned_after == b.pruned_after
    best = int(a.elbo.argmax())
    assert a.pruned_after[best] is None and int(a.draws[best]) == 32
    assert any(p is not None for p in a.pruned_after)  # the far-off means go early
    for c, p in enumerate(a.pruned_after):
        assert int(a.draws[c]) == (32 if p is None else sum(spec.rounds[:p + 1]))
    # a pruned candidate's value is the prefix of the unpruned run's draws
    full = candidate_elbo(ad, preps, "s0", ElboSpec(rounds=(8, 8, 16), prune_z=None))
    assert full.elbo[best] == a.elbo[best]


def test_spec_errors():
    with pytest.raises(ValueError, match="even ints"):
        ElboSpec(rounds=(3,))
    with pytest.raises(ValueError, match="prune_z"):
        ElboSpec(prune_z=0.0)
    with pytest.raises(ValueError, match="t_start"):
        ElboSpec(t_start=0.0)


def test_rows_need_the_score_capability_and_group_by_sample():
    class NoScore(GaussianAdapter):
        capabilities = frozenset({"null_condition"})

    with pytest.raises(ValueError, match="does not support 'score'"):
        elbo_rows(NoScore(dim=4), [Job("s0", "own")])
    ad = GaussianAdapter(dim=4, cond_scale=1.0)
    jobs = [Job(f"s{i}", c) for i in range(2) for c in ("own", "a")]
    jobs.append(Job("s1", "bad", payload={"x0": [0.0]}))
    rows = elbo_rows(ad, jobs, ElboSpec(rounds=(4,), prune_z=None))
    df = pd.DataFrame(rows)
    assert len(df) == 5 and (df["status"] == "ok").sum() == 4
    assert (df.loc[df["status"] == "ok", "elbo_draws"] == 4).all()
    bpd = -df["elbo_nats"] / (math.log(2) * df["n_dims"])
    assert (bpd - df["elbo_bpd"]).abs().max() < 1e-12


def test_agreement_table_against_known_ranks():
    exact = pd.DataFrame({"experiment": "x", "sample_id": ["a"] * 3 + ["b"] * 3,
                          "condition_id": ["c0", "c1", "c2"] * 2,
                          "logp_nats": [3.0, 2.0, 1.0, 1.0, 2.0, 3.0], "nfe": 200,
                          "wall_s": 2.0, "status": "ok"})
    elbo = exact.drop(columns="logp_nats").assign(
        elbo_nats=[3.0, 2.0, 1.0, 3.0, 2.0, 1.0], nfe=20, wall_s=0.5, estimator="elbo")
    null = exact.iloc[:1].assign(condition_id="null_condition", logp_nats=9.0)
    df = pd.concat([exact, elbo, null], ignore_index=True)
    p = paired(df)
    assert len(p) == 6  # the null row is not a candidate
    s = sample_agreement(p).set_index("sample_id")
    assert s.loc["a", "kendall_tau"] == pytest.approx(1.0)
    assert s.loc["b", "kendall_tau"] == pytest.approx(-1.0)
    assert s["top1_agree"].tolist() == [1.0, 0.0]
    t = elbo_agreement_table(df).iloc[0]
    assert t["kendall_tau"] == pytest.approx(0.0) and t["top1_agreement"] == 0.5
    assert t["nfe_ratio"] == 10.0 and t["wall_ratio"] == 4.0


def test_bench_elbo_on_the_gaussian(tmp_path, capsys):
    out = tmp_path / "paired.csv"
    bench_main(["--model", "gaussian", "--estimator", "elbo", "--dim", "16", "--samples", "8",
                "--candidates", "4", "--method", "rk4", "--step-size", "0.05",
                "--elbo-rounds", "8,8", "--elbo-csv", str(out)])
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["estimator"] == "elbo" and rec["samples"] == 2
    assert rec["nfe_per_candidate_exact"] == 80 and rec["nfe_per_candidate_elbo"] <= 16
    assert rec["nfe_ratio"] == 80 / rec["nfe_per_candidate_elbo"]
    assert -1 <= rec["kendall_tau"] <= 1 and 0 <= rec["top1_agreement"] <= 1
    df = pd.read_csv(out)
    assert len(df) == 8 and {"logp_nats", "elbo_nats", "nfe_exact", "nfe_elbo"} <= set(df)


def test_tiny_gradtts_elbo_runs_with_shared_draws(tmp_path):
    from dlik.models.gradtts import GradTTS, GradTTSConfig, save_gradtts
    from dlik.models.gradtts.adapter import GradTTSAdapter

    from .helpers import TINY

    torch.manual_seed(0)
    ad = GradTTSAdapter(checkpoint=str(save_gradtts(GradTTS(GradTTSConfig(**TINY)),
                                                    tmp_path / "tiny.safetensors")))
    mel = torch.randn(80, 30)
    jobs = [Job("u", c, {"text": t}, {"mel": mel, "text": t})
            for c, t in [("own", "a cat"), ("twin", "a cat"), ("other", "big dog runs")]]
    rows = elbo_rows(ad, jobs, ElboSpec(rounds=(4, 4), batch_size=4))
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert rows[0]["elbo_nats"] == rows[1]["elbo_nats"]  # same text, same draws, same value
    assert all(math.isfinite(r["elbo_nats"]) and r["n_dims"] == 80 * 30 for r in rows)
