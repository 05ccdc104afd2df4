"""SD3-style flow matching on a tiny random-weight StableDiffusion3Pipeline folder written here
and read by the real loader: embeddings as diffusers' encode_prompt makes them, the drift as
the velocity its scheduler steps with, guidance by diffusers' formula, the trained range of
noise levels, a prompt batch equal to one at a time, and the likelihood of a linear flow
against its closed form."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dlik.engine.solve import SolverSpec  # noqa: E402
from dlik.models.base import Job  # noqa: E402
from dlik.models.sd3.adapter import SD3Adapter  # noqa: E402
from dlik.models.sd3.tiny import tiny_random_sd3_pipeline  # noqa: E402
from dlik.scoring.runner import Runner, ScoreSettings  # noqa: E402

SHIFT = 3.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tiny_random_sd3_pipeline(tmp_path_factory.mktemp("sd3") / "tiny", shift=SHIFT)


@pytest.fixture(scope="module")
def adapter(folder):
    return SD3Adapter(str(folder))


def _image(seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((40, 52, 3)) * 255).astype(np.uint8)


def test_embeddings_velocity_and_guidance_match_diffusers(folder, adapter):
    from diffusers import StableDiffusion3Pipeline

    pipe = StableDiffusion3Pipeline.from_pretrained(folder, local_files_only=True,
                                                    text_encoder_3=None, tokenizer_3=None)
    pe, neg, pooled, neg_pooled = pipe.encode_prompt("a red cube", None, None, device="cpu")
    prep = adapter.prepare(Job("img", "p", payload={"image": _image(), "prompt": "a red cube"}))
    assert torch.equal(prep.cond["prompt_embeds"], pe[0])
    assert torch.equal(prep.cond["pooled"], pooled[0])
    null = adapter.null_condition({k: v[None] for k, v in prep.cond.items()})
    assert torch.equal(null["prompt_embeds"][0], neg[0]) and neg.abs().max() > 0
    assert torch.equal(null["pooled"][0], neg_pooled[0])
    # the scheduler's own step: x_next = x + (sigma_next - sigma) v at the pipeline's timestep
    pipe.scheduler.set_timesteps(4)
    sig = pipe.scheduler.sigmas[:2].double()
    x = torch.randn((1, *adapter.latent_shape), generator=torch.Generator().manual_seed(1))
    cond = {k: v[None] for k, v in prep.cond.items()}
    with torch.no_grad():
        out = pipe.transformer(hidden_states=torch.cat([x, x]),
                               timestep=pipe.scheduler.timesteps[:1].expand(2),
                               encoder_hidden_states=torch.cat([neg, pe]),
                               pooled_projections=torch.cat([neg_pooled, pooled])).sample
    v_u, v_c = out.chunk(2)
    for s in (0.0, 1.0, 3.0):
        pipe._guidance_scale = s  # the pipeline's own decision to guide
        v = v_u + s * (v_c - v_u) if pipe.do_classifier_free_guidance else v_c
        step = pipe.scheduler.step(v, pipe.scheduler.timesteps[0], x).prev_sample
        pipe.scheduler._step_index = None  # step() advances it; rewind for the next s
        implied = (step - x) / float(sig[1] - sig[0])
        got = adapter.drift(x, sig[:1], {**cond, "guidance_scale": torch.full((1,), s)})
        assert torch.allclose(got, implied, rtol=1e-3, atol=1e-4), s
        assert torch.allclose(got, v, rtol=1e-5, atol=1e-6), s


def test_t5_tokens_match_diffusers(tmp_path):
    """With a text_encoder_3 (a tiny T5 and an offline-built tokenizer): the CLIP part equal
    to encode_prompt's bit for bit, the T5 tokens to float32 rounding (transformers and
    diffusers load the same T5 weights by different routes), the empty prompt likewise."""
    from diffusers import StableDiffusion3Pipeline

    folder = tiny_random_sd3_pipeline(tmp_path / "t5", shift=SHIFT, t5=True)
    pipe = StableDiffusion3Pipeline.from_pretrained(folder, local_files_only=True)
    pe, neg, pooled, _ = pipe.encode_prompt("a red cube", None, None, device="cpu",
                                            max_sequence_length=8)
    ad = SD3Adapter(str(folder), max_sequence_length=8)
    for got, want in (ad.embeddings("a red cube"), (pe[0], pooled[0])), \
            (ad.embeddings(None), (neg[0], None)):
        assert got[0].shape == want[0].shape == (77 + 8, 48)
        assert torch.equal(got[0][:77], want[0][:77])
        assert torch.allclose(got[0][77:], want[0][77:], rtol=0, atol=1e-5)
        assert want[0][77:].abs().max() > 0.1  # the T5 tokens are not the zeros of no T5
    assert torch.equal(ad.embeddings("a red cube")[1], pooled[0])
    no_t5 = SD3Adapter(str(folder), max_sequence_length=8, use_t5=False)
    assert no_t5.t5 is None and no_t5.embeddings("a red cube")[0][77:].abs().max() == 0


def test_trained_range_and_refusals(folder, adapter):
    from diffusers import FlowMatchEulerDiscreteScheduler

    sched = FlowMatchEulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler")
    assert adapter.t_min == pytest.approx(float(sched.sigma_min), rel=1e-6)
    assert adapter.t_min == pytest.approx(SHIFT / (1000 + SHIFT - 1), rel=1e-12)
    with pytest.raises(ValueError, match=r"solver.t_start=1e-05 is below"):
        adapter.check_t_start(1e-5)
    assert adapter.capabilities == {"image", "null_condition", "sample"}
    with pytest.raises(ValueError, match="flow-matching model"):
        adapter.score(None, None, None)
    from dlik.models.sdxl.adapter import SDXLAdapter

    with pytest.raises(ValueError, match=r"is a flow scheduler, not vp"):  # refused up front
        SDXLAdapter(str(folder))


def test_prompt_batch_equals_one_at_a_time(folder):
    """float32 (the transformer is not loadable in float64): rows agree to its rounding."""
    ad = SD3Adapter(str(folder))
    prompts = [("a red cube", 0.0), ("a blue sphere", 0.0), ("a red cube", 3.0), (None, 0.0)]
    jobs = [Job("img0", f"c{i}", payload={"image": _image(), "prompt": p, "guidance_scale": s})
            for i, (p, s) in enumerate(prompts)]

    def rows(batch_size):
        got = []
        spec = SolverSpec("euler", step_size=0.25, t_start=ad.t_min)
        Runner(ad, ScoreSettings(solver=spec, batch_size=batch_size), got.append,
               progress=False).run(jobs)
        return {r["condition_id"]: r for r in got}

    one, many = rows(1), rows(len(jobs))
    for cid, r in many.items():
        assert r["status"] == "ok", r.get("error")
        assert abs(r["bpd"] - one[cid]["bpd"]) <= 1e-5
        assert r["vae_shift_factor"] == 0.1 and r["vae_scaling_factor"] == 1.5
    assert many["c0"]["bpd"] != many["c1"]["bpd"] != many["c2"]["bpd"]


class _LinearFlow(torch.nn.Module):
    """A transformer stand-in with the exact velocity E[eps - x0 | x_t] of Gaussian data
    x0 ~ N(m, s^2 I) on the path x_t = (1 - t) x0 + t eps."""

    def __init__(self, m: float, s: float, config) -> None:
        super().__init__()
        self.m, self.s, self.config = m, s, config

    def forward(self, hidden_states, timestep, encoder_hidden_states, pooled_projections,
                return_dict=False):
        t = (timestep.double() / 1000).view(-1, 1, 1, 1)
        x, m, s2 = hidden_states.double(), self.m, self.s ** 2
        var = (1 - t) ** 2 * s2 + t ** 2
        # E[x0 | x_t] and E[eps | x_t] for the Gaussian pair, then v = eps - x0
        x0 = m + (1 - t) * s2 * (x - (1 - t) * m) / var
        eps = t * (x - (1 - t) * m) / var
        return ((eps - x0).to(hidden_states.dtype),)


def test_linear_flow_likelihood_matches_the_closed_form(folder):
    """With the exact velocity of Gaussian data N(m, s^2 I), the PF-ODE from t_min gives the
    Gaussian marginal at t_min: (1 - t) x0 + t eps ~ N((1 - t) m, ((1 - t)^2 s^2 + t^2) I)."""
    ad = SD3Adapter(str(folder), dtype="float64")
    m, s = 0.3, 0.7
    ad.unet = _LinearFlow(m, s, ad.unet.config)
    x0 = torch.randn(ad.latent_shape, generator=torch.Generator().manual_seed(3),
                     dtype=torch.float64) * s + m
    rows = []
    spec = SolverSpec("dopri5", 1e-8, 1e-8, t_start=ad.t_min, estimator="exact")
    Runner(ad, ScoreSettings(solver=spec, batch_size=1), rows.append, progress=False).run(
        [Job("g", "c", payload={"latent": x0, "prompt": "a red cube"})])
    t = ad.t_min
    var = (1 - t) ** 2 * s ** 2 + t ** 2
    d = x0.numel()
    exact = float(-0.5 * ((x0 - (1 - t) * m) ** 2).sum() / var
                  - 0.5 * d * math.log(2 * math.pi * var))
    assert rows[0]["status"] == "ok", rows[0].get("error")
    assert rows[0]["logp_nats"] == pytest.approx(exact, abs=1e-4)


def test_reverse_sde_with_the_exact_velocity_samples_the_data(folder):
    """Euler-Maruyama on the reverse SDE (g^2 = 2 t) from the prior N(0, I) at t = 1, with the
    exact velocity of N(m, s^2 I) data, ends at the marginal N((1 - t) m, (1 - t)^2 s^2 + t^2)
    of t_min: mean and std of 96 x 256 draws within 4 standard errors plus the sampler's
    O(h) bias (400 steps)."""
    from dlik.engine.transport import sde_path

    ad = SD3Adapter(str(folder), dtype="float64")
    m, s = 0.3, 0.7
    ad.unet = _LinearFlow(m, s, ad.unet.config)
    gen = torch.Generator().manual_seed(5)
    start = ad.sample_prior(Job("g", "sample", payload={"prompt": "a red cube"}), gen)
    x1 = torch.randn((96, *start.x0.shape), generator=gen, dtype=torch.float64)
    cond = {k: v[None].expand(96, *v.shape) for k, v in start.cond.items()}
    x = sde_path(ad.reverse_sde_drift, ad.diffusion, x1, [1.0, ad.t_min], 400, cond, seed=1)[-1]
    t = ad.t_min
    sd = math.sqrt((1 - t) ** 2 * s ** 2 + t ** 2)
    n = x.numel()
    assert float(x.mean()) == pytest.approx((1 - t) * m, abs=4 * sd / math.sqrt(n) + 0.01)
    assert float(x.std()) == pytest.approx(sd, abs=4 * sd / math.sqrt(2 * n) + 0.01)
    assert start.x0.shape == ad.latent_shape and "latent" in ad.payload_of(x[0], start)


def test_prompt_confounds_study_runs_unchanged(folder, tmp_path):
    """The TTI study on an SD3 folder by config alone (model=sd3), from its first trained
    noise level (the refusal of an earlier one: test_trained_range_and_refusals)."""
    import subprocess
    import sys

    import pandas as pd

    args = [sys.executable, "-m", "dlik.cli", "run", "experiment=tti_prompt_confounds",
            "model=sd3", f"model.path={folder}", "model.image_size=32",
            "study.guidance_scales=[0]", "study.sources=[original]",
            "study.attributes={clevr_shapes:[colour],pacs_styles:[style]}",
            "data.sets.clevr_shapes.n_items=1", "data.sets.pacs_styles.n_items=1",
            "solver=rk4_25steps", "solver.step_size=0.5", "solver.n_probes=1",
            f"paths.output_root={tmp_path}", "run_name=t",
            "progress=false"]
    ok = subprocess.run([*args, "solver.t_start=0.003"], capture_output=True, text=True,
                        timeout=600)
    assert ok.returncode == 0, ok.stderr[-2000:]
    df = pd.read_csv(tmp_path / "tti_prompt_confounds" / "t" / "results.csv")
    assert (df["status"] == "ok").all() and len(df) == 8 + 4  # colours + styles of one image each
    assert set(df["model_id"]) == {"sd3:tiny"} and (df["vae_shift_factor"] == 0.1).all()
