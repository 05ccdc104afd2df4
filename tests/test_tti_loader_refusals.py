"""Image-model loading refuses what it cannot score: one tiny scheduler folder per refused kind
(an EDM schedule, EDM-style continuous timesteps, dynamic shifting, an unknown class, a flow
scheduler in a VP folder), refused before any weight loads; settings that change a score
enter the checkpoint hash; force_zeros_for_empty_prompt is read from model_index.json."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dlik.models.sd3.adapter import FlowNoise, SD3Adapter  # noqa: E402
from dlik.models.sdxl.adapter import SDXLAdapter  # noqa: E402
from dlik.models.sdxl.schedule import SDXLNoise  # noqa: E402

VP_BASE = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}


def _folder(tmp_path, name: str, config: dict):
    sub = tmp_path / name / "scheduler"
    sub.mkdir(parents=True)
    (sub / "scheduler_config.json").write_text(json.dumps(config))
    return str(tmp_path / name)


@pytest.mark.parametrize("adapter,config,msg", [
    (SDXLAdapter, {"_class_name": "EDMEulerScheduler", "sigma_data": 0.5},
     r"'EDMEulerScheduler' \(an EDM / Karras-preconditioned schedule\) is not a noise process"),
    (SDXLAdapter, {"_class_name": "EDMDPMSolverMultistepScheduler", "sigma_data": 0.5},
     "'EDMDPMSolverMultistepScheduler' .*need one of .*'EulerDiscreteScheduler'"),
    (SDXLAdapter, {"_class_name": "EulerDiscreteScheduler", "timestep_type": "continuous",
                   **VP_BASE}, "timestep_type='continuous'.*EDM"),
    (SDXLAdapter, {"_class_name": "MyScheduler", **VP_BASE}, "'MyScheduler' is not a noise"),
    (SDXLAdapter, {"_class_name": "FlowMatchEulerDiscreteScheduler"},
     "is a flow scheduler, not vp: it belongs to flow-matching models: model=sd3"),
    (SD3Adapter, {"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 3.0,
                  "use_dynamic_shifting": True}, "use_dynamic_shifting=True"),
    (SD3Adapter, {"_class_name": "EulerDiscreteScheduler", **VP_BASE},
     "is a vp scheduler, not flow"),
])
def test_refused_scheduler_folders(tmp_path, adapter, config, msg):
    folder = _folder(tmp_path, config["_class_name"], config)  # no weights: refused first
    with pytest.raises(ValueError, match=msg):
        adapter(folder)


def test_accepted_schedulers_keep_their_noise_process():
    # Karras / exponential spacing only places inference steps on the trained betas
    plain = SDXLNoise({"_class_name": "EulerDiscreteScheduler", **VP_BASE})
    for extra in ({"use_karras_sigmas": True}, {"_class_name": "DPMSolverMultistepScheduler"},
                  {"_class_name": "DDIMScheduler", "timestep_type": "discrete"}):
        other = SDXLNoise({"_class_name": "EulerDiscreteScheduler", **VP_BASE, **extra})
        t = torch.linspace(0.001, 1, 7, dtype=torch.float64)
        assert torch.equal(other.schedule.alpha_bar(t), plain.schedule.alpha_bar(t))
    assert FlowNoise({"shift": 3.0, "use_dynamic_shifting": False}).shift == 3.0


@pytest.fixture(scope="module")
def sd3_folder(tmp_path_factory):
    from dlik.models.sd3.tiny import tiny_random_sd3_pipeline

    return tiny_random_sd3_pipeline(tmp_path_factory.mktemp("sd3") / "tiny", sample_size=32)


def test_hash_changes_with_every_score_setting(sd3_folder):
    base = SD3Adapter(str(sd3_folder), max_sequence_length=1, use_t5=False)
    longer = SD3Adapter(str(sd3_folder), max_sequence_length=4, use_t5=False)
    assert base.weights_hash() != longer.weights_hash()
    assert base.weights_hash().endswith(":t5=zeros:msl=1")
    assert longer.weights_hash().endswith(":t5=zeros:msl=4")
    # ... and the scores move with it: more zero T5 tokens in the joint attention
    x = torch.randn(1, *base.latent_shape, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([0.5])

    def v(ad):
        return ad.drift(x, t, {k: c[None] for k, c in ad.prompt_cond("a red cube", 0.0,
                                                                        (32, 32)).items()})
    assert not torch.allclose(v(base), v(longer))
    neg = SD3Adapter(str(sd3_folder), max_sequence_length=1, use_t5=False,
                     negative_prompt="a blue cube")
    bf = SD3Adapter(str(sd3_folder), max_sequence_length=1, use_t5=False, text_dtype="bf16")
    hashes = {base.weights_hash(), neg.weights_hash(), bf.weights_hash()}
    assert len(hashes) == 3 and ":text=bfloat16" in bf.weights_hash()
    with pytest.raises(ValueError, match="text_dtype='fp16' needs a CUDA device"):
        SD3Adapter(str(sd3_folder), text_dtype="fp16")


def test_negative_prompt_is_the_guidance_null(sd3_folder):
    plain = SD3Adapter(str(sd3_folder), max_sequence_length=1, use_t5=False)
    neg = SD3Adapter(str(sd3_folder), max_sequence_length=1, use_t5=False,
                     negative_prompt="a blue cube")
    x = torch.randn(1, *plain.latent_shape, generator=torch.Generator().manual_seed(1))
    t, s = torch.tensor([0.4]), 3.0

    def cond(ad, prompt, scale):
        return {k: c[None] for k, c in ad.prompt_cond(prompt, scale, (32, 32)).items()}
    v_c = plain.drift(x, t, cond(plain, "a red cube", 0.0))
    v_n = plain.drift(x, t, cond(plain, "a blue cube", 0.0))
    want = v_n + s * (v_c - v_n)  # diffusers: negative + s (cond - negative)
    assert torch.allclose(neg.drift(x, t, cond(neg, "a red cube", s)), want, atol=1e-5)
    assert not torch.allclose(plain.drift(x, t, cond(plain, "a red cube", s)), want, atol=1e-5)
    # unguided rows and the null condition itself are unchanged by a negative prompt
    assert torch.equal(neg.drift(x, t, cond(neg, "a red cube", 0.0)), v_c)


def test_force_zeros_for_empty_prompt_read_from_model_index(tmp_path):
    from dlik.models.sdxl.tiny import tiny_random_pipeline

    folder = tiny_random_pipeline(tmp_path / "tiny", sample_size=32)
    zeros = SDXLAdapter(str(folder))
    pe, pooled = zeros.embeddings(None)
    assert zeros.zero_null and float(pe.abs().max()) == 0 and float(pooled.abs().max()) == 0
    index = json.loads((folder / "model_index.json").read_text())
    other = tmp_path / "empty"
    shutil.copytree(folder, other)
    (other / "model_index.json").write_text(json.dumps(
        {**index, "force_zeros_for_empty_prompt": False}))
    empty = SDXLAdapter(str(other))
    pe2, pooled2 = empty.embeddings(None)
    want = empty.text.encode("")
    assert not empty.zero_null and torch.equal(pe2, want[0]) and torch.equal(pooled2, want[1])
    assert empty.weights_hash() != zeros.weights_hash() and ":null=empty" in empty.weights_hash()
