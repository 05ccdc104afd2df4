"""Condition headroom: the gradient search on the ELBO surrogate recovers the closed-form best
condition of the linear conditional Gaussian and its exact headroom (through the runner's
paired exact likelihood), never leaves the declared space, is deterministic, and the adapters'
embedded conditions equal their text conditions at the true point."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from dlik.analysis.headroom import headroom_per_input, headroom_plot, headroom_summary
from dlik.engine.solve import SolverSpec
from dlik.estimators.condition_search import (SearchSpec, search_condition,
                                              surrogate_of_payloads)
from dlik.estimators.condition_spaces import build_space
from dlik.estimators.elbo import ElboSpec, candidate_elbo
from dlik.experiments.condition_headroom import ConditionHeadroomStudy
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter
from dlik.scoring.runner import Runner, ScoreSettings


def _model() -> GaussianAdapter:
    return GaussianAdapter(dim=12, cond_scale=2.0, cond_dim=3)


def _exact(ad, base, c) -> float:
    m = base.cond["m_null"] + ad.weight @ c
    return float(ad.sde.exact_logp(base.x0[None], m[None], base.cond["s"][None])[0])


def test_surrogate_is_the_elbo_rankers_value_on_the_same_draws():
    ad = _model()
    job = Job("s0", "own", {}, {"condition": "own"})
    space = build_space("condition_vector", ad, job, None)
    spec = SearchSpec(draws=8)
    (mine,) = surrogate_of_payloads(ad, job, [{}], space, "s0", spec)
    ref = candidate_elbo(ad, [ad.prepare(job)], "s0", ElboSpec(rounds=(8,), prune_z=None))
    assert mine == pytest.approx(float(ref.elbo[0]), rel=1e-12)


@pytest.mark.parametrize("sample", ["s0", "s1"])
def test_search_recovers_the_closed_form_condition_and_headroom(sample):
    ad = _model()
    job = Job(sample, "own", {}, {"condition": "own"})
    space = build_space("condition_vector", ad, job, None)
    base = space.base
    c_star = ad.optimal_condition(base.x0, base.cond["m_null"], base.cond["s"])
    r = search_condition(ad, space, sample, SearchSpec(steps=200, lr=0.1, draws=64))
    assert torch.allclose(r.z, c_star, atol=5e-3)  # quadratic surrogate: draws set the weights
    headroom = _exact(ad, base, c_star) - _exact(ad, base, space.c0)
    assert headroom > 0
    found = _exact(ad, base, r.z) - _exact(ad, base, space.c0)
    assert found == pytest.approx(headroom, rel=1e-3, abs=1e-4)
    # the surrogate is tight in expectation (exact score): its gain tracks the exact one
    assert r.gain == pytest.approx(headroom, rel=0.3)


def test_searches_stay_in_the_declared_ball_and_repeat_exactly():
    ad = _model()
    job = Job("s2", "own", {}, {"condition": "own"})
    space = build_space("condition_vector", ad, job, 0.25)
    spec = SearchSpec(steps=30, lr=0.5, draws=8)
    for direction in ("max", "min"):
        r = search_condition(ad, space, "s2", spec, direction)
        assert space.contains(r.z)
        assert float((r.z - space.c0).norm()) <= 0.25 * (1 + 1e-9)
        assert (r.gain > 0) if direction == "max" else (r.gain < 0)
        again = search_condition(ad, space, "s2", spec, direction)
        assert torch.equal(r.z, again.z) and r.trace == again.trace
    assert not space.contains(space.c0 + torch.tensor([0.3, 0.0, 0.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="bounded space"):
        search_condition(ad, build_space("condition_vector", ad, job, None), "s2", spec, "min")
    with pytest.raises(ValueError, match="direction must be one of"):
        search_condition(ad, space, "s2", spec, "up")
    with pytest.raises(ValueError, match="draws must be an even int"):
        SearchSpec(draws=3)
    with pytest.raises(ValueError, match="space must be one of"):
        build_space("nope", ad, job, None)


def test_study_verifies_found_conditions_with_the_exact_paired_likelihood(tmp_path):
    ad = _model()
    study = ConditionHeadroomStudy(ad, space="condition_vector", radius=None, steps=150,
                                   lr=0.1, draws=32, n_samples=2, vocab_size=4,
                                   worst_radius=1.0)
    rows: list[dict] = []
    spec = SolverSpec(method="dopri5", atol=1e-7, rtol=1e-7, n_probes=2)
    Runner(ad, ScoreSettings(solver=spec, seed=0, batch_size=5), rows.append).run(study.jobs())
    df = pd.DataFrame(rows).assign(model_id=ad.model_id)
    assert (df["status"] == "ok").all() and len(df) == 10
    # the engine's log-likelihood of every row (found conditions included) is the closed form
    rel = (df["logp_nats"] - df["exact_logp_nats"]).abs() / df["exact_logp_nats"].abs()
    assert rel.max() < 1e-4
    per = headroom_per_input(df)
    for _, row in per.iterrows():
        job = Job(row["sample_id"], "own", {}, {"condition": "own"})
        space = build_space("condition_vector", ad, job, None)
        b = space.base
        c_star = ad.optimal_condition(b.x0, b.cond["m_null"], b.cond["s"])
        closed = (_exact(ad, b, c_star) - _exact(ad, b, space.c0)) / (math.log(2) * 12)
        assert row["headroom_bpd"] == pytest.approx(closed, rel=2e-2, abs=2e-4)
        assert row["bpd_best"] <= row["bpd_true"] <= row["bpd_worst"]
        assert row["bpd_best_word"] <= row["bpd_true"] + 1e-9  # greedy keeps only gains
    summary = headroom_summary(per)
    best = summary[summary["condition"] == "best"].iloc[0]
    assert best["n"] == 2
    assert best["delta_bpd_vs_true"] == pytest.approx(-per["headroom_bpd"].mean(), rel=1e-12)
    assert best["se"] == pytest.approx(per["headroom_bpd"].std(ddof=1) / math.sqrt(2), rel=1e-9)
    share = (per["bpd_null_condition"] - per["bpd_true"]) / (per["bpd_null_condition"]
                                                            - per["bpd_best"])
    assert best["true_share"] == pytest.approx(share.mean(), rel=1e-12)
    (png, _), = headroom_plot(df, tmp_path)
    assert png.stat().st_size > 1000


def test_tiny_gradtts_embedding_condition_equals_the_text_at_the_true_point(tmp_path):
    from dlik.models.gradtts import GradTTS, GradTTSConfig, save_gradtts
    from dlik.models.gradtts.adapter import GradTTSAdapter

    from .test_gradtts_model import TINY

    torch.manual_seed(0)
    ad = GradTTSAdapter(checkpoint=str(save_gradtts(GradTTS(GradTTSConfig(**TINY)),
                                                    tmp_path / "tiny.safetensors")))
    mel = torch.randn(80, 24)
    job = Job("u", "true", {}, {"mel": mel, "text": "a cat"})
    text_prep = ad.prepare(job)
    for name in ("phoneme_embedding", "encoder_output"):
        space = build_space(name, ad, job, 0.5)
        emb = ad.prepare(Job("u", "e", {}, {**job.payload, **space.payload(space.start())}))
        assert torch.allclose(emb.cond["mu"], text_prep.cond["mu"], atol=1e-5)
        r = search_condition(ad, space, "u", SearchSpec(steps=2, lr=0.05, draws=2,
                                                        batch_size=2), "max")
        assert space.contains(r.z) and r.value >= r.start_value
        moved = ad.prepare(Job("u", "b", {}, {**job.payload, **space.payload(r.z)}))
        assert torch.allclose(moved.cond["mu"], space.prepared(r.z).cond["mu"].detach(),
                              atol=1e-5)
    with pytest.raises(ValueError, match="phoneme_embedding must be finite with shape"):
        ad.prepare(Job("u", "e", {}, {**job.payload, "phoneme_embedding": torch.zeros(2, 3)}))


def test_study_refuses_an_unbounded_worst_search_before_scoring():
    with pytest.raises(ValueError, match="worst-condition search needs a bounded space"):
        ConditionHeadroomStudy(_model(), space="condition_vector", radius=None)
    with pytest.raises(ValueError, match="space must be one of"):
        ConditionHeadroomStudy(_model(), space="free_prior_mean")


@pytest.mark.parametrize("family", ["sdxl", "sd3"])
def test_tiny_tti_prompt_embedding_space(tmp_path, family):
    import numpy as np

    if family == "sdxl":
        from dlik.models.sdxl.adapter import SDXLAdapter as cls
        from dlik.models.sdxl.tiny import tiny_random_pipeline as make
    else:
        from dlik.models.sd3.adapter import SD3Adapter as cls
        from dlik.models.sd3.tiny import tiny_random_sd3_pipeline as make
    ad = cls(str(make(tmp_path / "tiny", sample_size=32) if family == "sdxl"
                  else make(tmp_path / "tiny")))
    img = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    job = Job("i", "true", {}, {"image": img, "prompt": "a red cube"})
    text_prep = ad.prepare(job)
    space = build_space("prompt_embedding", ad, job, 0.5)
    same = ad.prepare(Job("i", "e", {}, {**job.payload, **space.payload(space.start())}))
    for k in ("prompt_embeds", "pooled"):
        assert torch.equal(same.cond[k], text_prep.cond[k])
    spec = SearchSpec(steps=3, lr=0.05, draws=2, t_start=ad.t_min)
    hi = search_condition(ad, space, "i", spec, "max")
    lo = search_condition(ad, space, "i", spec, "min")
    assert space.contains(hi.z) and space.contains(lo.z)
    assert hi.value >= hi.start_value == lo.start_value >= lo.value
    moved = ad.prepare(Job("i", "b", {}, {**job.payload, **space.payload(hi.z)}))
    assert torch.allclose(moved.cond["prompt_embeds"],
                          space.prepared(hi.z).cond["prompt_embeds"].detach().float())
    with pytest.raises(ValueError, match="needs pooled_prompt_embeds too"):
        ad.prepare(Job("i", "e", {}, {**job.payload, "prompt_embeds": same.cond["prompt_embeds"]}))
