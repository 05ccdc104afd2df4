"""Checkpoint loading: official-format .pt, safetensors with config, clear errors."""

from __future__ import annotations

import pytest
import torch

from dlik.models.gradtts import GradTTS, GradTTSConfig, load_gradtts, save_gradtts
from dlik.models.gradtts.checkpoint import infer_config

from .official_ref import official_model
from .helpers import TINY


def _official(n_spks=1):
    torch.manual_seed(0)
    return official_model().tts.GradTTS(n_spks=n_spks, **TINY).eval()


@pytest.mark.parametrize("n_spks", [1, 5])
def test_official_pt_round_trip(tmp_path, n_spks):
    ref = _official(n_spks)
    path = tmp_path / "grad-tts.pt"
    torch.save(ref.state_dict(), path)
    model = load_gradtts(path)  # everything but pe_scale inferred from shapes
    assert model.cfg.n_spks == n_spks and model.cfg.dec_dim == 8
    assert model.cfg.n_enc_layers == 2 and model.cfg.filter_channels == 32
    x, lengths = torch.randint(0, 149, (2, 11)), torch.tensor([11, 7])
    with torch.no_grad():
        for a, b in zip(ref.encoder(x, lengths), model.encoder(x, lengths)):
            assert (a - b).abs().max() <= 1e-6


def test_safetensors_round_trip_keeps_config(tmp_path):
    model = GradTTS(GradTTSConfig(**{**TINY, "pe_scale": 1.0}))
    path = save_gradtts(model, tmp_path / "m.safetensors")
    back = load_gradtts(path)
    assert back.cfg == model.cfg
    for (k, a), (_, b) in zip(model.state_dict().items(), back.state_dict().items()):
        assert torch.equal(a, b), k


def test_wrapped_state_dict(tmp_path):
    ref = _official()
    torch.save({"model": ref.state_dict(), "step": torch.tensor(3)}, tmp_path / "w.pt")
    assert load_gradtts(tmp_path / "w.pt").cfg.dec_dim == 8


def test_truncated_file_gives_clear_error(tmp_path):
    path = tmp_path / "grad-tts.pt"
    torch.save(_official().state_dict(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="could not read Grad-TTS checkpoint .*grad-tts.pt"):
        load_gradtts(path)
    st = save_gradtts(GradTTS(GradTTSConfig(**TINY)), tmp_path / "x.safetensors")
    st.write_bytes(st.read_bytes()[:1000])
    with pytest.raises(ValueError, match="could not read"):
        load_gradtts(st)


def test_wrong_architecture_names_keys(tmp_path):
    torch.save({"linear.weight": torch.zeros(2, 2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="missing keys .*encoder.emb.weight"):
        load_gradtts(tmp_path / "other.pt")
    torch.save(_official().state_dict(), tmp_path / "g.pt")
    with pytest.raises(ValueError, match="shape mismatches"):
        load_gradtts(tmp_path / "g.pt", dec_dim=16)
    state = _official().state_dict()
    state["encoder.extra.weight"] = torch.zeros(1)
    del state["decoder.estimator.final_conv.bias"]
    torch.save(state, tmp_path / "h.pt")
    with pytest.raises(ValueError, match="unexpected keys .*encoder.extra.weight"):
        load_gradtts(tmp_path / "h.pt")
    with pytest.raises(FileNotFoundError, match="nothere"):
        load_gradtts(tmp_path / "nothere.pt")


def test_full_size_inference_matches_official_defaults():
    hp = infer_config(GradTTS(GradTTSConfig()).state_dict())
    assert hp == {"n_vocab": 149, "n_enc_channels": 192, "n_feats": 80, "dec_dim": 64,
                  "n_enc_layers": 6, "filter_channels": 768, "enc_kernel": 3,
                  "filter_channels_dp": 256, "window_size": 4, "n_heads": 2}
