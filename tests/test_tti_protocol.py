"""The paper's text-to-image protocol by name: solver=paper_tti composes (torchdiffeq dopri5 at
1e-3, fresh probe per prompt, own steps, t_start at SDXL's first trained timestep) and scores
each row as a hand-written torchdiffeq odeint at batch 1 does (random-weight SDXL folder)."""

from __future__ import annotations

from dataclasses import replace
import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dlik.engine.probes import make_probes, probe_seed  # noqa: E402
from dlik.models.base import Job  # noqa: E402
from dlik.models.sdxl.adapter import SDXLAdapter  # noqa: E402
from dlik.scoring.runner import Runner, ScoreSettings  # noqa: E402

SIZE = 32  # pixels: 4 x 4 x 4 latents


def _compose(*overrides: str):
    from hydra import compose, initialize_config_dir

    from dlik.commands.config import CONFIG_DIR, register_resolvers

    register_resolvers()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        return compose("config", list(overrides))


def test_paper_tti_composes_with_the_tti_studies():
    from dlik.commands.config import settings_from_config

    for experiment, grid in (("tti_prompt_confounds", [0, 3, 5]),
                             ("tti_generative_path", [0, 3, 5, 7]), ("tti_quality", None)):
        cfg = _compose(f"experiment={experiment}", "solver=paper_tti")
        spec = settings_from_config(cfg).solver
        assert (spec.resolved_integrator, spec.method, spec.atol, spec.rtol) == (
            "torchdiffeq", "dopri5", 1e-3, 1e-3)
        assert (spec.probes, spec.resolved_steps, spec.n_probes) == ("independent", "own", 1)
        assert spec.t_start == 1e-3 and spec.t_end == 1.0
        if grid is not None:  # the paper's guidance_scale grids (Table 6; Tables 4, 5, 7)
            assert list(cfg.study.guidance_scales) == grid
        t = cfg.study.get("t_start", cfg.study.get("t_min"))
        assert t == 1e-3
        # the TTI default (batched dopri5) also starts at the first trained timestep
        default = settings_from_config(_compose(f"experiment={experiment}")).solver
        assert default.t_start == 1e-3 and default.resolved_integrator == "batched"
    confounds = _compose("experiment=tti_prompt_confounds", "solver.t_start=0.004")
    assert confounds.study.t_start == confounds.study.recon_solver.t_start == 0.004
    tts = settings_from_config(_compose("solver=paper")).solver  # the TTS protocol is apart
    assert (tts.atol, tts.t_start) == (1e-5, 1e-5)


def _reference_logp(adapter: SDXLAdapter, prep, probe: torch.Tensor, spec) -> float:
    """Return log p(x0) by torchdiffeq's odeint on one row (batch 1): the augmented state
    (x, int div f dt) with the Hutchinson estimate v . (df/dx v), prior N(0, I) at t_end."""
    from torchdiffeq import odeint

    cond = {k: v[None] for k, v in prep.cond.items()}

    def f(t, state):
        with torch.enable_grad():
            x = state[0].detach().requires_grad_()
            dx = adapter.drift(x, t.reshape(1).to(torch.float64), cond)
            vjp = torch.autograd.grad((dx * probe).sum(), x)[0]
        return dx.detach(), (vjp * probe).sum().reshape(1).to(torch.float64)

    state = (prep.x0[None], torch.zeros(1, dtype=torch.float64))
    ts = torch.tensor([spec.t_start, spec.t_end], dtype=torch.float64)
    sol = odeint(f, state, ts, method="dopri5", atol=spec.atol, rtol=spec.rtol)
    x1, div = sol[0][-1], sol[1][-1]
    prior = torch.distributions.Normal(0.0, 1.0).log_prob(x1.double()).sum()
    return float(prior + div[0])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from dlik.models.sdxl.tiny import tiny_random_pipeline

    return tiny_random_pipeline(tmp_path_factory.mktemp("sdxl") / "tiny", sample_size=SIZE)


def test_paper_tti_matches_torchdiffeq_at_batch_1(folder):
    """Two prompts (one guided) of one image scored in one runner batch under solver=paper_tti
    equal torchdiffeq at batch 1 with each row's own fresh probe (float64 UNet, network width
    1 as the reference: the random UNet's adaptive steps at 1e-3 turn last-bit differences
    into nats, so only the order of float operations may differ)."""
    from dlik.commands.config import settings_from_config

    spec = settings_from_config(_compose("experiment=tti_prompt_confounds",
                                         "solver=paper_tti")).solver
    ad = SDXLAdapter(str(folder), dtype="float64")
    rng = torch.Generator().manual_seed(0)
    image = (torch.rand(SIZE, SIZE, 3, generator=rng) * 255).to(torch.uint8).numpy()
    jobs = [Job("img0", f"c{i}", payload={"image": image, "prompt": p, "guidance_scale": s})
            for i, (p, s) in enumerate([("a red cube", 0.0), ("a blue ball", 3.0)])]
    rows: list[dict] = []
    Runner(ad, ScoreSettings(solver=replace(spec, net_batch=1), batch_size=len(jobs), seed=0),
           rows.append,
           progress=False).run(jobs)
    assert [r["status"] for r in rows] == ["ok"] * len(jobs)
    cols = spec.columns()  # what the writer records with every row
    assert (cols["integrator"], cols["probes"], cols["steps"], cols["t_start"]) == (
        "torchdiffeq", "independent", "own", 1e-3)
    probes = set()
    for job, row in zip(jobs, rows):
        prep = ad.prepare(job)
        seed = probe_seed(job.sample_id, job.condition_id, 0)
        probes.add(seed)
        v = make_probes("rademacher", prep.x0.shape, 1, [seed], prep.x0.dtype, "cpu")[0, 0]
        ref = _reference_logp(ad, prep, v[None], spec)
        assert row["logp_nats"] == pytest.approx(ref, rel=1e-9, abs=1e-6), job.condition_id
    assert len(probes) == len(jobs)  # a fresh probe per prompt, as the authors drew them
