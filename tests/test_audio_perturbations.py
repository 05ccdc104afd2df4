"""The quality study's audio and mel degradations (dlik/data/perturbations.py), each measured
doing what its name says on tones and noise whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlik.data.perturbations import (MEL_PERTURBATIONS, WAVE_PERTURBATIONS, babble, clipping,
                                     lowpass, mel_blur, resampling, reverb, time_stretch,
                                     white_noise)

SR = 16000


def _tone(freq: float, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _amplitude(wave: np.ndarray, freq: float) -> float:
    """Amplitude of the sinusoid at freq (projection on a Hann-windowed middle part)."""
    mid = wave[len(wave) // 4: 3 * len(wave) // 4].astype(np.float64)
    t = np.arange(len(mid)) / SR
    w = np.hanning(len(mid))
    c = np.sum(w * mid * np.exp(-2j * np.pi * freq * t))
    return float(2 * abs(c) / np.sum(w))


def _snr_db(clean: np.ndarray, noisy: np.ndarray) -> float:
    noise = noisy.astype(np.float64) - clean
    return float(10 * np.log10(np.mean(clean.astype(np.float64) ** 2) / np.mean(noise**2)))


def test_every_registered_perturbation_is_tested_here():
    assert set(WAVE_PERTURBATIONS) == {"white_noise", "babble", "lowpass", "reverb", "clipping",
                                       "resampling", "time_stretch"}
    assert set(MEL_PERTURBATIONS) == {"mel_blur"}


@pytest.mark.parametrize("snr", [0.0, 10.0, 30.0])
def test_white_noise_is_added_at_the_snr_and_is_white(snr):
    wave = _tone(440)
    out = white_noise(wave, SR, snr, seed=1)
    assert abs(_snr_db(wave, out) - snr) < 1e-3  # float32 output
    noise = out.astype(np.float64) - wave
    spec = np.abs(np.fft.rfft(noise)) ** 2
    low, high = spec[1: len(spec) // 2].mean(), spec[len(spec) // 2:].mean()
    assert 0.9 < low / high < 1.1  # flat spectrum
    assert not np.array_equal(out, white_noise(wave, SR, snr, seed=2))  # seeded


def test_babble_adds_the_other_utterances_at_the_snr():
    wave = _tone(440)
    others = [_tone(1000, amp=0.1), _tone(3000, amp=2.0)]
    out = babble(wave, SR, 5.0, others=others)
    assert abs(_snr_db(wave, out) - 5.0) < 1e-3
    noise = out.astype(np.float64) - wave
    # each other utterance is RMS-normalised before mixing: equal amplitudes in the babble
    a1, a3 = _amplitude(noise, 1000), _amplitude(noise, 3000)
    assert abs(a1 / a3 - 1) < 1e-3 and a1 > 0.1
    with pytest.raises(ValueError, match="others"):
        babble(wave, SR, 5.0)


def test_lowpass_keeps_the_passband_and_removes_the_stopband():
    wave = _tone(300) + _tone(5000)
    out = lowpass(wave, SR, 2000)
    assert abs(_amplitude(out, 300) / _amplitude(wave, 300) - 1) < 1e-3
    assert _amplitude(out, 5000) < 1e-4 * _amplitude(wave, 5000)  # 80 dB down (8th order)
    with pytest.raises(ValueError, match="cut-off"):
        lowpass(wave, SR, SR)


def test_reverb_keeps_the_level_and_decays_60_db_in_rt60():
    rt60 = 0.4
    impulse = np.zeros(SR, np.float32)
    impulse[0] = 1.0
    out = reverb(impulse, SR, rt60, seed=3).astype(np.float64)
    assert abs(np.mean(out**2) / np.mean(impulse.astype(np.float64) ** 2) - 1) < 1e-4
    # energy decay: log10 energy of 20 ms frames falls 6 decades per rt60 (least squares)
    frames = out[1: 1 + int(SR * rt60)].reshape(-1, SR // 50)
    t = (np.arange(len(frames)) + 0.5) / 50
    slope = np.polyfit(t, 10 * np.log10(np.mean(frames**2, axis=1)), 1)[0]
    assert abs(-60 / slope - rt60) < 0.1 * rt60
    tone = _tone(440)
    smeared = reverb(tone, SR, rt60)
    assert abs(np.mean(smeared.astype(np.float64) ** 2) / np.mean(tone.astype(np.float64) ** 2)
               - 1) < 1e-4 and not np.allclose(smeared, tone, atol=1e-2)


def test_clipping_cuts_at_the_fraction_of_the_peak_and_nothing_else():
    wave = _tone(440)
    out = clipping(wave, SR, 0.3)
    assert np.max(np.abs(out)) == np.float32(0.3 * 0.5)
    inside = np.abs(wave) <= 0.3 * 0.5
    assert np.array_equal(out[inside], wave[inside]) and (~inside).sum() > len(wave) // 4


def test_resampling_removes_what_the_low_rate_cannot_hold():
    wave = _tone(1000) + _tone(6000)
    out = resampling(wave, SR, 8000)  # Nyquist 4 kHz
    assert len(out) == len(wave)
    assert abs(_amplitude(out, 1000) / _amplitude(wave, 1000) - 1) < 0.01
    assert _amplitude(out, 6000) < 0.01 * _amplitude(wave, 6000)


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_time_stretch_changes_the_duration_not_the_pitch(rate):
    wave = _tone(500)
    out = time_stretch(wave, SR, rate)
    assert abs(len(out) - len(wave) / rate) <= 512  # one hop of the phase vocoder
    spec = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    peak = np.argmax(spec) * SR / len(out)
    assert abs(peak - 500) < 2 * SR / len(out)


def test_mel_blur_is_a_normalised_gaussian_kernel():
    flat = torch.full((20, 30), 1.7)
    assert torch.allclose(mel_blur(flat, 1.0), flat, atol=1e-6)  # weights sum to one
    spike = torch.zeros(20, 30)
    spike[10, 15] = 1.0
    out = mel_blur(spike, 1.0, kernel=5)
    g = np.exp(-0.5 * np.arange(-2, 3) ** 2)
    g /= g.sum()
    assert torch.allclose(out[8:13, 13:18].double(), torch.tensor(np.outer(g, g)), atol=1e-6)
    assert float(out.sum()) == pytest.approx(1.0, abs=1e-6)
    noise = torch.randn(40, 60, generator=torch.Generator().manual_seed(0))
    assert float(mel_blur(noise, 1.0).var()) < 0.3 * float(noise.var())
    assert torch.equal(mel_blur(noise, 0.0), noise)
