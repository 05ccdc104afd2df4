"""Grad-TTS modules vs the official ones: same weights -> same encoder, estimator, losses."""

from __future__ import annotations

import random

import pytest
import torch

from dlik.models.gradtts import GradTTS, GradTTSConfig

from .helpers import TINY
from .official_ref import official_model



def _pair(n_spks: int):
    ref_pkg = official_model()
    torch.manual_seed(0)
    ref = ref_pkg.tts.GradTTS(n_spks=n_spks, **TINY).eval()
    with torch.no_grad():  # Rezero gates start at 0: randomise so attention paths count
        for name, p in ref.named_parameters():
            if name.endswith(".g"):
                p.uniform_(0.5, 1.5)
    mine = GradTTS(GradTTSConfig(n_spks=n_spks, **TINY)).eval()
    mine.load_state_dict(ref.state_dict(), strict=True)
    return ref, mine


def _text_batch():
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 149, (3, 23), generator=g)
    lengths = torch.tensor([23, 17, 9])
    return x, lengths


@pytest.mark.parametrize("n_spks", [1, 4])
def test_state_dict_keys_match(n_spks):
    ref, mine = _pair(n_spks)
    assert list(ref.state_dict()) == list(mine.state_dict())


def test_full_size_key_set_is_official():
    ref = official_model().tts.GradTTS(n_vocab=149, n_spks=1, spk_emb_dim=64,
                                       n_enc_channels=192, filter_channels=768,
                                       filter_channels_dp=256, n_heads=2, n_enc_layers=6,
                                       enc_kernel=3, enc_dropout=0.1, window_size=4, n_feats=80,
                                       dec_dim=64, beta_min=0.05, beta_max=20, pe_scale=1000)
    ours = GradTTS(GradTTSConfig()).state_dict()
    assert set(ref.state_dict()) == set(ours) and len(ours) == 307
    assert all(ref.state_dict()[k].shape == v.shape for k, v in ours.items())


@pytest.mark.parametrize("n_spks", [1, 4])
def test_encoder_parity(n_spks):
    ref, mine = _pair(n_spks)
    x, lengths = _text_batch()
    with torch.no_grad():
        a = ref.encoder(x, lengths)
        b = mine.encoder(x, lengths)
    for u, v in zip(a, b):
        assert (u - v).abs().max() <= 1e-5


@pytest.mark.parametrize("n_spks", [1, 4])
def test_estimator_parity(n_spks):
    ref, mine = _pair(n_spks)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 80, 24, generator=g)
    mu = torch.randn(2, 80, 24, generator=g)
    mask = torch.ones(2, 1, 24)
    mask[1, :, 17:] = 0
    t = torch.tensor([0.3, 0.9])
    spk = None
    if n_spks > 1:
        spk = ref.spk_emb(torch.tensor([1, 3]))
        assert torch.equal(spk, mine.embed_speaker(torch.tensor([1, 3])))
    with torch.no_grad():
        a = ref.decoder.estimator(x, mask, mu, t, spk)
        b = mine.decoder.estimator(x, mask, mu, t, spk)
    assert a.shape == b.shape == x.shape
    assert (a - b).abs().max() <= 1e-5


@pytest.mark.parametrize("n_spks", [1, 3])
def test_compute_loss_parity(n_spks):
    ref, mine = _pair(n_spks)
    x, x_len = _text_batch()
    g = torch.Generator().manual_seed(3)
    y = torch.randn(3, 80, 60, generator=g)
    y_len = torch.tensor([60, 48, 30])
    spk = torch.tensor([0, 2, 1]) if n_spks > 1 else None
    out = []
    for model in (ref, mine):
        torch.manual_seed(5)
        random.seed(5)
        out.append(model.compute_loss(x, x_len, y, y_len, spk=spk, out_size=28))
    for a, b in zip(*out):
        assert abs(float(a) - float(b)) <= 1e-5 * max(1.0, abs(float(a)))
