"""SDXL adapter on a tiny random-weight SDXL folder: loader errors, schedule vs diffusers,
drift and guidance_scale vs diffusers' own formula and decision, batching invariance, image
conversion, the trained time range."""

from __future__ import annotations

import math
import os
import shutil

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dlik.engine.solve import SolverSpec  # noqa: E402
from dlik.models.base import CAPABILITIES, Job, require  # noqa: E402
from dlik.models.sdxl import loader  # noqa: E402
from dlik.models.sdxl.adapter import SDXLAdapter  # noqa: E402
from dlik.models.sdxl.schedule import SDXLNoise  # noqa: E402
from dlik.scoring.runner import Runner, ScoreSettings  # noqa: E402

SIZE = 32  # pixels: 4 x 4 x 4 latents


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from dlik.models.sdxl.tiny import tiny_random_pipeline

    return tiny_random_pipeline(tmp_path_factory.mktemp("sdxl") / "tiny", sample_size=SIZE)


@pytest.fixture(scope="module")
def adapter(folder):
    return SDXLAdapter(str(folder))


def _image(seed: int = 0, shape=(40, 52, 3)) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) * 255).astype(np.uint8)


def _batch(preps):
    x = torch.stack([p.x0 for p in preps])
    return x, {k: torch.stack([p.cond[k] for p in preps]) for k in preps[0].cond}


def test_schedule_matches_diffusers_alphas_cumprod(folder):
    from diffusers import DDPMScheduler

    cfg = dict(DDPMScheduler.load_config(folder, subfolder="scheduler"))
    noise = SDXLNoise(cfg)
    n = noise.schedule.num_train_timesteps
    ref = DDPMScheduler.from_config(cfg).alphas_cumprod.double()
    t = torch.arange(1, n + 1, dtype=torch.float64) / n
    ours = noise.schedule.alpha_bar(t)
    assert (ours - ref).abs().max() <= 1e-6  # measured 4.7e-7: diffusers' float32 cumprod
    betas = torch.linspace(cfg["beta_start"] ** 0.5, cfg["beta_end"] ** 0.5, n,
                           dtype=torch.float64) ** 2
    exact = torch.cumsum(torch.log1p(-betas), 0)
    assert (torch.log(ours) - exact).abs().max() < 1e-10
    assert torch.equal(noise.timestep(t), torch.arange(n, dtype=torch.float32))
    assert float(noise.schedule.alpha_bar(torch.zeros(1, dtype=torch.float64))) == 1.0
    assert abs(noise.alpha_bar_end() - 0.00466) < 1e-5
    tt = torch.linspace(0.0, 1.0, 401, dtype=torch.float64)[1:-1]
    h = 1e-4
    fd = (noise.schedule.integral(tt + h) - noise.schedule.integral(tt - h)) / (2 * h)
    assert ((fd - noise.schedule.beta(tt)).abs() / noise.schedule.beta(tt)).max() < 1e-6


def test_linear_schedule_and_refusals():
    from diffusers import DDPMScheduler

    cfg = {"beta_schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02}
    ref = DDPMScheduler(**cfg).alphas_cumprod.double()
    t = torch.arange(1, 1001, dtype=torch.float64) / 1000
    assert (SDXLNoise(cfg).schedule.alpha_bar(t) - ref).abs().max() <= 1e-6
    with pytest.raises(ValueError, match="beta_schedule.*'squaredcos_cap_v2'"):
        SDXLNoise({"beta_schedule": "squaredcos_cap_v2"})
    with pytest.raises(ValueError, match="prediction_type.*'sample'"):
        SDXLNoise({"beta_schedule": "scaled_linear", "prediction_type": "sample"})
    with pytest.raises(ValueError, match="rescale_betas_zero_snr"):
        SDXLNoise({"beta_schedule": "scaled_linear", "rescale_betas_zero_snr": True})


def test_v_prediction_converts_to_diffusers_epsilon():
    from diffusers import DDPMScheduler

    cfg = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
           "prediction_type": "v_prediction"}
    sched, noise = DDPMScheduler(**cfg), SDXLNoise(cfg)
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 4, 2, 2, generator=g), torch.randn(3, 4, 2, 2, generator=g)
    steps = torch.tensor([0, 500, 999])
    xt, v = sched.add_noise(x0, eps, steps), sched.get_velocity(x0, eps, steps)
    _, sa, sg = noise.coefficients(noise.schedule.t_of_timestep(steps.double()))
    got = noise.to_eps(v, xt, sa.float().view(-1, 1, 1, 1), sg.float().view(-1, 1, 1, 1))
    assert torch.allclose(got, eps, atol=1e-5)


def test_drift_and_guidance_scale_match_diffusers(folder, adapter):
    """guidance_scale s is diffusers' own: the pipeline guides only when s > 1
    (do_classifier_free_guidance), with eps_u + s (eps_c - eps_u); s = 0 and 1 are the plain
    conditional model, and the null prompt is the unconditional one."""
    from diffusers import StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline.from_pretrained(folder, local_files_only=True)
    prep = adapter.prepare(Job("img", "p", payload={"image": _image(), "prompt": "a red cube"}))
    pe, neg, pooled, neg_pooled = pipe.encode_prompt("a red cube", device="cpu")
    assert torch.equal(prep.cond["prompt_embeds"], pe[0])
    assert torch.equal(prep.cond["pooled"], pooled[0]) and neg.abs().max() == 0
    assert prep.cond["time_ids"].tolist() == [SIZE, SIZE, 0, 0, SIZE, SIZE]
    x, cond = _batch([prep, prep])
    x = x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0.3, 0.8], dtype=torch.float64)
    ids = cond["time_ids"]
    with torch.no_grad():
        tau = t.float() * 1000 - 1
        out = pipe.unet(torch.cat([x, x]), torch.cat([tau, tau]),
                        encoder_hidden_states=torch.cat([neg, neg, pe, pe]),
                        added_cond_kwargs={"text_embeds": torch.cat([neg_pooled] * 2
                                                                    + [pooled] * 2),
                                           "time_ids": torch.cat([ids, ids])}).sample
    e_u, e_c = out.chunk(2)
    beta, _, sigma = adapter.noise.coefficients(t)
    b, sg = beta.float().view(-1, 1, 1, 1), sigma.float().view(-1, 1, 1, 1)

    def reference(s: float) -> torch.Tensor:
        pipe._guidance_scale = s  # the pipeline's own decision to guide
        eps = e_c
        if pipe.do_classifier_free_guidance:
            eps = e_u + s * (e_c - e_u)  # the pipeline's formula (noise_pred_uncond + ...)
        return -0.5 * b * (x - eps / sg)

    f0 = adapter.drift(x, t, cond)
    assert f0.shape == x.shape and f0.dtype == x.dtype
    for s in (0.0, 1.0, 3.0):
        got = adapter.drift(x, t, {**cond, "guidance_scale": torch.full((2,), s)})
        assert torch.allclose(got, reference(s), rtol=1e-4, atol=1e-5), s
    assert torch.equal(adapter.drift(x, t, {**cond, "guidance_scale": torch.zeros(2)}), f0)
    assert torch.equal(adapter.drift(x, t, {**cond, "guidance_scale": torch.ones(2)}), f0)
    assert not torch.allclose(reference(3.0), reference(0.0), atol=1e-3)  # guidance matters
    fu = adapter.drift(x, t, adapter.null_condition(cond))
    assert torch.allclose(fu, -0.5 * b * (x - e_u / sg), rtol=1e-4, atol=1e-5)
    fg = adapter.drift(x, t, {**cond, "guidance_scale": torch.tensor([3.0, 0.0])})
    assert torch.allclose(fg[0], reference(3.0)[0], rtol=1e-4, atol=1e-5)
    # the unguided row of a mixed batch: float32 rounding of another UNet batch shape only
    # (3e-6 at |f| ~ 7 here); a guidance leak between rows would be of order 1
    assert torch.allclose(fg[1], f0[1], rtol=1e-6, atol=1e-5)
    assert torch.allclose(adapter.drift(x, t.float(), cond), f0, atol=1e-6)
    for bad in (-1.0, float("nan"), "x"):
        with pytest.raises(ValueError, match="guidance_scale must be a finite float >= 0"):
            adapter.prepare(Job("img", "p", payload={"image": _image(), "prompt": "a",
                                                     "guidance_scale": bad}))


def test_t_start_below_the_trained_range_is_refused(folder, adapter):
    """t_min is timestep 0 (t = 1/N); an earlier t_start is refused, naming the value and the
    fix, unless the model allows the extrapolated interval."""
    assert adapter.t_min == pytest.approx(1e-3, rel=1e-12)
    t_min = torch.tensor([adapter.t_min], dtype=torch.float64)
    assert float(adapter.noise.coefficients(t_min)[2]) == pytest.approx(math.sqrt(0.00085),
                                                                        rel=1e-6)  # sqrt(beta_0)
    assert float(adapter.noise.timestep(t_min)) == 0.0
    assert adapter.check_t_start(1e-3) == 1e-3 and adapter.check_t_start(0.5) == 0.5
    with pytest.raises(ValueError, match=r"solver.t_start=1e-05 is below the first trained "
                       r"timestep.*t = 1/N = 0.001.*allow_t_below_trained=true"):
        adapter.check_t_start(1e-5)
    assert SDXLAdapter(str(folder), allow_t_below_trained=True).check_t_start(1e-5) == 1e-5


def _runner_rows(adapter, jobs, batch_size):
    rows = []
    spec = SolverSpec(method="euler", step_size=0.5)
    Runner(adapter, ScoreSettings(solver=spec, batch_size=batch_size), rows.append,
           progress=False).run(jobs)
    return {r["condition_id"]: r for r in rows}


PROMPTS = [("a red cube", 0.0), ("a blue ball", 0.0), ("a red cube", 3.0), (None, 0.0)]


def test_prompt_batch_equals_one_at_a_time(folder):
    """Rows never leak into each other (float64 UNet: exact to 1e-12 bpd, mixed guidance /
    null)."""
    ad = SDXLAdapter(str(folder), dtype="float64")
    jobs = [Job("img0", f"c{i}", payload={"image": _image(), "prompt": p, "guidance_scale": s})
            for i, (p, s) in enumerate(PROMPTS)]
    one, many = _runner_rows(ad, jobs, 1), _runner_rows(ad, jobs, len(jobs))
    assert {r["batch_size"] for r in many.values()} == {len(jobs)}
    c, h, w = ad.latent_shape
    for cid, r in many.items():
        assert r["status"] == "ok", r.get("error")
        assert abs(r["bpd"] - one[cid]["bpd"]) <= 1e-6
        assert r["latent_bpd"] == pytest.approx(r["bpd"], rel=1e-12)
        assert r["latent_bits_per_pixel_dim"] == pytest.approx(
            r["bpd"] * c * h * w / (3 * SIZE * SIZE))
        assert r["vae_scaling_factor"] == ad.vae.config.scaling_factor
        assert r["vae_shift_factor"] is None  # SDXL's VAE has no shift
    assert many["c3"]["null_prompt"] and many["c2"]["guidance_scale"] == 3.0
    assert many["c0"]["bpd"] != many["c1"]["bpd"] != many["c2"]["bpd"]


def test_float32_batch_differs_only_by_rounding(adapter):
    """float32: batch-size-dependent GEMM rounding (UNet eps ~1e-6 relative) is all that moves;
    the random-weight model's divergence integrals are ~1e3-1e4 nats, so bound relatively."""
    jobs = [Job("img0", f"c{i}", payload={"image": _image(), "prompt": p, "guidance_scale": s})
            for i, (p, s) in enumerate(PROMPTS[:3])]
    one, many = _runner_rows(adapter, jobs, 1), _runner_rows(adapter, jobs, len(jobs))
    for cid, r in many.items():
        scale = abs(one[cid]["divergence_integral"]) + abs(one[cid]["prior_logp"])
        assert abs(r["logp_nats"] - one[cid]["logp_nats"]) <= 1e-4 * scale


def test_latents_cached_scaled_and_seeded(folder, adapter, monkeypatch):
    from dlik.data.images import fit, to_tensor

    calls = []
    encode = adapter.vae.encode
    monkeypatch.setattr(adapter.vae, "encode", lambda x: calls.append(1) or encode(x))
    img = _image(5)
    p1 = adapter.prepare(Job("cache", "a", payload={"image": img, "prompt": "a cube"}))
    p2 = adapter.prepare(Job("cache", "b", payload={"image": img.copy(), "prompt": "a ball"}))
    assert len(calls) == 1 and torch.equal(p1.x0, p2.x0)
    from PIL import Image

    with torch.no_grad():
        ref = encode(to_tensor(fit(Image.fromarray(img), (SIZE, SIZE)))[None]).latent_dist.mean
    assert torch.allclose(p1.x0, ref[0] * adapter.vae.config.scaling_factor)
    sampler = SDXLAdapter(str(folder), vae_mode="sample")
    a = sampler.prepare(Job("s1", "a", payload={"image": img, "prompt": "x"})).x0
    b = sampler.prepare(Job("s1", "b", payload={"image": img, "prompt": "y"})).x0
    c = sampler.prepare(Job("s2", "a", payload={"image": img, "prompt": "x"})).x0
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert sampler.weights_hash() != adapter.weights_hash()
    assert "vae=sample" in sampler.weights_hash()


def test_grayscale_rgba_converted_and_corrupt_file_raises(adapter, tmp_path):
    from PIL import Image

    rgb = _image(3, (SIZE, SIZE, 3))
    gray = rgb[:, :, 0]
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    rgba = np.concatenate([rgb, np.full((SIZE, SIZE, 1), 7, np.uint8)], axis=2)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")

    def x0(**payload):
        return adapter.prepare(Job("conv", "c", payload={"prompt": "a", **payload})).x0

    assert torch.equal(x0(image_path=str(tmp_path / "g.png")),
                       x0(image=np.repeat(gray[:, :, None], 3, axis=2)))
    assert torch.equal(x0(image_path=str(tmp_path / "a.png")), x0(image=rgb))
    Image.fromarray(gray.astype(np.uint16) * 256).save(tmp_path / "g16.png")  # 16-bit
    assert torch.equal(x0(image_path=str(tmp_path / "g16.png")), x0(image=gray))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not really an image")
    with pytest.raises(ValueError, match="cannot read image file .*bad.png"):
        x0(image_path=str(tmp_path / "bad.png"))
    with pytest.raises(FileNotFoundError, match="nope.png"):
        x0(image_path=str(tmp_path / "nope.png"))
    with pytest.raises(ValueError, match="needs 'prompt'"):
        adapter.prepare(Job("conv", "c", payload={"image": rgb}))


def test_loader_errors_name_the_missing_part(folder, tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="does not exist.*stable-diffusion-xl-base-1.0"):
        SDXLAdapter(str(tmp_path / "absent"))
    with pytest.raises(ValueError, match="model.path is not set"):
        SDXLAdapter(None)
    monkeypatch.setattr(loader, "ASSETS", tmp_path / "no_assets")
    with pytest.raises(FileNotFoundError, match="train_tiny_sdxl.py"):
        SDXLAdapter("embedded")
    no_te2 = shutil.copytree(folder, tmp_path / "no_te2")
    shutil.rmtree(no_te2 / "text_encoder_2")
    with pytest.raises(FileNotFoundError, match=r"\['text_encoder_2'\].*huggingface-cli"):
        SDXLAdapter(str(no_te2))
    no_w = shutil.copytree(folder, tmp_path / "no_w")
    (no_w / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="'unet'.*no weights"):
        SDXLAdapter(str(no_w))
    no_tok = shutil.copytree(folder, tmp_path / "no_tok")
    for f in (no_tok / "tokenizer_2").iterdir():
        f.unlink()
    with pytest.raises(FileNotFoundError, match="'tokenizer_2'"):
        SDXLAdapter(str(no_tok))


def test_settings_refused_and_capabilities(folder, adapter):
    with pytest.raises(ValueError, match="needs a CUDA device"):
        SDXLAdapter(str(folder), dtype="float16")
    with pytest.raises(ValueError, match="vae_mode must be one of"):
        SDXLAdapter(str(folder), vae_mode="mode")
    with pytest.raises(ValueError, match="image_size must be positive multiples of 16"):
        SDXLAdapter(str(folder), image_size=40)
    assert adapter.capabilities <= set(CAPABILITIES)
    require(adapter, "null_condition")
    require(adapter, "sample")
    job = Job("s", "c", payload={"prompt": "a red cube", "guidance_scale": 3.0})
    start = adapter.sample_prior(job, torch.Generator().manual_seed(0), temperature=2.0)
    assert start.x0.shape == adapter.latent_shape
    again = adapter.sample_prior(job, torch.Generator().manual_seed(0))
    torch.testing.assert_close(start.x0 * 2.0, again.x0)
    x1, cond = start.x0[None], {k: v[None] for k, v in start.cond.items()}
    assert float(cond["guidance_scale"][0]) == 3.0
    # payload_of -> prepare scores exactly the given latent under the same prompt and cfg
    again = adapter.prepare(Job("s", "c", payload=adapter.payload_of(start.x0, start)))
    torch.testing.assert_close(again.x0, start.x0)
    assert again.columns == start.columns
    with pytest.raises(ValueError, match="'latent' must be shaped"):
        adapter.prepare(Job("s", "c", payload={"prompt": "a", "latent": torch.zeros(3)}))
    z = torch.randn(1, *adapter.latent_shape, dtype=torch.float64)
    torch.testing.assert_close(adapter.latents.unscale(adapter.latents.scale(z)), z)
    img = adapter.decode(start.x0)
    assert img.size == adapter.image_size[::-1] and img.mode == "RGB"
    t = torch.tensor([0.5])
    assert adapter.reverse_sde_drift(x1, t, cond).shape == x1.shape
    assert adapter.diffusion(t).shape == (1,)


def test_model_configs_instantiate(folder):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from dlik.commands.config import CONFIG_DIR

    tiny = OmegaConf.load(CONFIG_DIR / "model" / "sdxl_tiny.yaml")
    ad = instantiate(tiny, path=str(folder), device="cpu")
    assert isinstance(ad, SDXLAdapter) and ad.image_size == (SIZE, SIZE)
    with pytest.raises(Exception, match="model.path is not set"):
        instantiate(OmegaConf.load(CONFIG_DIR / "model" / "sdxl.yaml"), device="cpu")


def test_file_sha256_reads_once_or_takes_the_blob_name(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("DLIK_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "w.safetensors"
    f.write_bytes(b"weights" * 100)
    ref = hashlib.sha256(f.read_bytes()).hexdigest()
    assert loader.file_sha256(f) == ref == loader.file_sha256(f, cache_above=10)
    assert len(list((tmp_path / "cache" / "sha256").iterdir())) == 1
    assert loader.file_sha256(f, cache_above=10) == ref  # from the memo
    blob = tmp_path / "blobs" / ("ab" * 32)
    blob.parent.mkdir()
    blob.write_bytes(b"other")
    (tmp_path / "link.safetensors").symlink_to(blob)
    assert loader.file_sha256(tmp_path / "link.safetensors") == "ab" * 32


def test_null_rows_and_elbo_ranker_on_sdxl(adapter):
    """payload null_condition=True is the zero-embedding prompt, unguided (the pmi null rows);
    the 'score' capability's schedule is the ODE's, so the ELBO ranker runs on SDXL."""
    from dlik.estimators.elbo import ElboSpec
    from dlik.estimators.rank import elbo_rows

    img = _image(3)
    null = adapter.prepare(Job("s", "n", payload={"image": img, "prompt": "a red cube",
                                                  "guidance_scale": 3.0,
                                                  "null_condition": True}))
    none = adapter.prepare(Job("s", "n", payload={"image": img, "prompt": None}))
    for k in none.cond:
        assert torch.equal(null.cond[k], none.cond[k]), k
    assert null.columns["guidance_scale"] == 0.0 and null.columns["null_prompt"]
    require(adapter, "score")
    t = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    _, sqrt_abar, sigma = adapter.noise.coefficients(t)
    torch.testing.assert_close(adapter.schedule.var(t), sigma ** 2)
    torch.testing.assert_close(adapter.schedule.mean_coef(t), sqrt_abar)
    jobs = [Job("s", p, payload={"image": img, "prompt": p}) for p in ("a red cube", "a cat")]
    rows = elbo_rows(adapter, jobs, ElboSpec(rounds=(2,), prune_z=None))
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert all(math.isfinite(r["elbo_bpd"]) for r in rows)
