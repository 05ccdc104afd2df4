"""Grad-TTS likelihood adapter on a tiny random-weight model written in the test."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlik.engine import log_likelihood
from dlik.models.base import Job
from dlik.models.gradtts import GradTTS, GradTTSConfig, save_gradtts
from dlik.models.gradtts.adapter import GradTTSAdapter

from .helpers import TINY


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    torch.manual_seed(0)
    path = save_gradtts(GradTTS(GradTTSConfig(**TINY)),
                        tmp_path_factory.mktemp("w") / "tiny.safetensors")
    return GradTTSAdapter(checkpoint=str(path))


def _wave(seconds: float, f0: float = 140.0) -> np.ndarray:
    t = np.arange(int(22050 * seconds)) / 22050
    return (0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))) \
        .astype(np.float32)


def test_prepare_pads_to_multiple_of_4_and_aligns_mu(adapter):
    prep = adapter.prepare(Job("u", "own", payload={"wave": _wave(0.5), "text": "a cat"}))
    n = prep.columns["n_frames"]
    assert prep.x0.shape[1] % 4 == 0 and prep.x0.shape[1] - n in range(4)
    assert int(prep.mask.sum()) == n and prep.mask[0, n:].sum() == 0
    mu = prep.cond["mu"]
    assert torch.all(mu[:, n:] == 0)
    # every real frame's mu is one of the encoder's token means (MAS path)
    from dlik.text import text_to_ids

    ids = text_to_ids("a cat", adapter.dictionary)
    mu_x, _, _ = adapter.model.encoder(torch.tensor([ids]), torch.tensor([len(ids)]))
    d = (mu[:, :n].T[:, None, :] - mu_x[0].T[None]).abs().sum(-1).min(1).values
    assert d.max() < 1e-5
    assert prep.columns["n_phones"] == (len(ids) - 1) // 2


def test_drift_is_the_pf_ode_of_the_estimator(adapter):
    prep = adapter.prepare(Job("u", "own", payload={"wave": _wave(0.4), "text": "hi"}))
    x = torch.randn_like(prep.x0)[None]
    t = torch.tensor([0.4])
    cond = {k: v[None] for k, v in prep.cond.items()}
    f = adapter.drift(x, t, cond)
    s = adapter.model.decoder.estimator(x, cond["mask"], cond["mu"], t)
    beta = 0.05 + (20 - 0.05) * 0.4
    expect = 0.5 * beta * (cond["mu"] - x - s) * cond["mask"]
    assert torch.allclose(f, expect, atol=1e-6)


def _score(adapter, prep, extra_pad: int = 0):
    x0, mask, mu = prep.x0, prep.mask, prep.cond["mu"]
    if extra_pad:
        z = lambda a: torch.nn.functional.pad(a, (0, extra_pad))  # noqa: E731
        x0, mask, mu = z(x0), z(mask), z(mu)
    return log_likelihood(adapter.drift, x0[None], mu[None], 1.0, mask=mask[None],
                          cond={"mu": mu[None], "mask": mask[None]}, seeds=[1],
                          atol=1e-4, rtol=1e-4)


def test_padding_changes_the_score(adapter):
    prep = adapter.prepare(Job("u", "own", payload={"wave": _wave(0.3), "text": "hi"}))
    a, b = _score(adapter, prep), _score(adapter, prep, extra_pad=8)
    assert a.status == b.status == ["ok"]
    assert int(a.n_dims) == int(b.n_dims)
    assert abs(float(a.bpd - b.bpd)) > 1e-6


def test_terminal_prior_and_errors(adapter):
    payload = {"wave": _wave(0.3), "text": "hi"}
    ad2 = GradTTSAdapter(checkpoint=str(adapter._path), prior="x0_terminal")
    p1 = adapter.prepare(Job("u", "own", payload=payload))
    p2 = ad2.prepare(Job("u", "own", payload=payload))
    assert p2.columns["prior"] == "x0_terminal" and p2.prior_std < 1.0
    assert not torch.allclose(p1.prior_mean, p2.prior_mean)
    with pytest.raises(ValueError, match="prior must be one of"):
        GradTTSAdapter(checkpoint=str(adapter._path), prior="flat")
    with pytest.raises(ValueError, match="not a likelihood"):
        GradTTSAdapter(checkpoint=str(adapter._path), prior="terminal")
    with pytest.raises(ValueError, match="tokens but the audio only"):
        adapter.prepare(Job("u", "long", payload={"wave": _wave(0.05), "text": "a much "
                                                  "longer sentence than the audio allows"}))
    with pytest.raises(FileNotFoundError, match="nofile.wav"):
        adapter.prepare(Job("u", "x", payload={"audio_path": "/nofile.wav", "text": "a"}))
