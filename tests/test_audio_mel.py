"""Mel frontend vs the official HiFi-GAN/Grad-TTS mel function (run with API shims)."""

from __future__ import annotations

import importlib.util
import types

import librosa
import numpy as np
import torch

from dlik.data.audio import load_audio, mel_spectrogram, save_wav

from .official_ref import grad_tts_dir


def _official_mel_fn():
    path = grad_tts_dir() / "model" / "hifi_gan" / "meldataset.py"
    spec = importlib.util.spec_from_file_location("_ref_meldataset", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # shims for APIs that changed since 2021 (same arithmetic): librosa keyword-only args,
    # torch.stft needing return_complex (old behaviour = view_as_real of the complex result)
    mod.librosa_mel_fn = lambda sr, n_fft, n_mels, fmin, fmax: librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    shim = types.SimpleNamespace(**{k: getattr(torch, k) for k in dir(torch)
                                    if not k.startswith("__")})
    shim.stft = lambda *a, **k: torch.view_as_real(torch.stft(*a, return_complex=True, **k))
    mod.torch = shim
    return mod.mel_spectrogram


def _signal(sr=22050, seconds=1.3):
    t = np.arange(int(sr * seconds)) / sr
    chirp = 0.5 * np.sin(2 * np.pi * (100 + 1500 * t) * t)
    noise = 0.05 * np.random.default_rng(0).standard_normal(len(t))
    return (chirp + noise).astype(np.float32)


def test_mel_matches_official():
    wave = _signal()
    ref = _official_mel_fn()(torch.from_numpy(wave)[None], 1024, 80, 22050, 256, 1024, 0, 8000,
                             center=False)[0]
    mine = mel_spectrogram(wave)
    assert mine.shape == ref.shape == (80, ref.shape[1])
    assert (mine - ref).abs().max() <= 1e-5


def test_batch_and_resampling(tmp_path):
    wave = _signal()
    batch = mel_spectrogram(torch.stack([torch.from_numpy(wave)] * 2))
    assert torch.equal(batch[0], mel_spectrogram(wave))
    p = tmp_path / "a.wav"
    save_wav(p, librosa.resample(wave, orig_sr=22050, target_sr=16000), sr=16000)
    back = load_audio(p)
    assert abs(len(back) - len(wave)) < 4
    m1, m2 = mel_spectrogram(back), mel_spectrogram(wave)
    n = min(m1.shape[1], m2.shape[1])
    assert (m1[:40, :n] - m2[:40, :n]).abs().mean() < 0.5  # low bands survive 16 kHz
