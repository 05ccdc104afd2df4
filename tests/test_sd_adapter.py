"""SD 1.x / 2.x through the shared UNet adapter, on tiny random-weight StableDiffusionPipeline
folders written here and read by the real loader: prompt embeddings and the unconditional
prompt as diffusers' encode_prompt makes them, drift and guidance against diffusers' own
formula for epsilon and v prediction, a prompt batch equal to one at a time, and loader
errors that name the family."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dlik.engine.solve import SolverSpec  # noqa: E402
from dlik.models.base import Job  # noqa: E402
from dlik.models.sd.adapter import SDAdapter  # noqa: E402
from dlik.models.sd.tiny import tiny_random_sd_pipeline  # noqa: E402
from dlik.models.sdxl.adapter import SDXLAdapter  # noqa: E402
from dlik.scoring.runner import Runner, ScoreSettings  # noqa: E402

SIZE = 32


@pytest.fixture(scope="module", params=["epsilon", "v_prediction"])
def folder(request, tmp_path_factory):
    return tiny_random_sd_pipeline(tmp_path_factory.mktemp(request.param) / "sd",
                                   prediction_type=request.param)


def _image(seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((40, 52, 3)) * 255).astype(np.uint8)


def test_embeddings_drift_and_guidance_match_diffusers(folder):
    from diffusers import StableDiffusionPipeline

    ad = SDAdapter(str(folder))
    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True,
                                                   safety_checker=None)
    pe, neg = pipe.encode_prompt("a red cube", "cpu", 1, True)
    prep = ad.prepare(Job("img", "p", payload={"image": _image(), "prompt": "a red cube"}))
    assert ad.model_id.startswith("sd:") and ad.noise.prediction_type == (
        pipe.scheduler.config.prediction_type)
    assert torch.equal(prep.cond["prompt_embeds"], pe[0])
    assert torch.equal(ad.text.null()[0], neg[0]) and neg.abs().max() > 0  # "" is not zeros
    x = torch.stack([prep.x0, prep.x0])
    x = x + 0.5 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    cond = {k: torch.stack([v, v]) for k, v in prep.cond.items()}
    k = torch.tensor([299, 799])  # discrete timesteps: t = (k + 1) / N
    t = (k + 1).double() / 1000
    with torch.no_grad():
        out = pipe.unet(torch.cat([x, x]), torch.cat([k, k]).float(),
                        encoder_hidden_states=torch.cat([neg, neg, pe, pe])).sample
    abar = pipe.scheduler.alphas_cumprod[k].view(-1, 1, 1, 1)
    if pipe.scheduler.config.prediction_type == "v_prediction":  # diffusers' DDIM conversion
        out = abar.repeat(2, 1, 1, 1) ** 0.5 * out + (1 - abar.repeat(2, 1, 1, 1)) ** 0.5 \
            * torch.cat([x, x])
    e_u, e_c = out.chunk(2)
    beta, _, sigma = ad.noise.coefficients(t)
    b, sg = beta.float().view(-1, 1, 1, 1), sigma.float().view(-1, 1, 1, 1)
    for s in (0.0, 1.0, 3.0):
        pipe._guidance_scale = s  # the pipeline's own decision to guide
        eps = e_u + s * (e_c - e_u) if pipe.do_classifier_free_guidance else e_c
        got = ad.drift(x, t, {**cond, "guidance_scale": torch.full((2,), s)})
        assert torch.allclose(got, -0.5 * b * (x - eps / sg), rtol=1e-4, atol=1e-5), s
    fu = ad.drift(x, t, ad.null_condition(cond))
    assert torch.allclose(fu, -0.5 * b * (x - e_u / sg), rtol=1e-4, atol=1e-5)


def test_prompt_batch_equals_one_at_a_time(folder):
    ad = SDAdapter(str(folder), dtype="float64")
    prompts = [("a red cube", 0.0), ("a blue sphere", 0.0), ("a red cube", 3.0), (None, 0.0)]
    jobs = [Job("img0", f"c{i}", payload={"image": _image(), "prompt": p, "guidance_scale": s})
            for i, (p, s) in enumerate(prompts)]

    def rows(batch_size):
        got = []
        Runner(ad, ScoreSettings(solver=SolverSpec("euler", step_size=0.5, t_start=1e-3),
                                 batch_size=batch_size), got.append, progress=False).run(jobs)
        return {r["condition_id"]: r for r in got}

    one, many = rows(1), rows(len(jobs))
    for cid, r in many.items():
        assert r["status"] == "ok", r.get("error")
        assert abs(r["bpd"] - one[cid]["bpd"]) <= 1e-9
    assert many["c3"]["null_prompt"] and many["c0"]["bpd"] != many["c1"]["bpd"] != many["c2"]["bpd"]


def test_loader_errors_name_the_family(folder, tmp_path):
    from dlik.models.sdxl.tiny import tiny_random_pipeline

    with pytest.raises(FileNotFoundError, match=r"SDXL folder .* missing the component "
                       r"folder\(s\) \['text_encoder_2', 'tokenizer_2'\]"):
        SDXLAdapter(str(folder))
    xl = tiny_random_pipeline(tmp_path / "xl", sample_size=SIZE)
    with pytest.raises(ValueError, match="addition_embed_type='text_time'.*use model=sdxl"):
        SDAdapter(str(xl))
    with pytest.raises(ValueError, match="model.path is not set.*SD 1.x/2.x.*stable-diffusion"):
        SDAdapter()
    with pytest.raises(ValueError, match=r"no embedded SD 1.x/2.x model is shipped .*"
                       r"\['sdxl', 'sd3'\]"):
        SDAdapter("embedded")


def test_model_config_instantiates(folder):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from dlik.commands.config import CONFIG_DIR

    node = OmegaConf.load(CONFIG_DIR / "model" / "sd.yaml")
    ad = instantiate(node, path=str(folder), device="cpu")
    assert isinstance(ad, SDAdapter) and ad.image_size == (SIZE, SIZE)
