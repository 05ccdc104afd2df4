"""Metrics on exact cases: WER counts, F0 of tones, MCD of identical signals, ASV, ASR."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlik.metrics.prosody import logf0_rmse, mcd
from dlik.metrics.wer import normalize_text, sentence_errors, wer

SR = 22050


def test_wer_counts():
    assert sentence_errors("the cat sat", "the cat sat") == (0, 3)
    assert sentence_errors("the cat sat", "a cat") == (2, 3)
    assert sentence_errors("hello world", "yellow word now") == (3, 2)
    assert wer(["a b c d", "e f"], ["a x c d", "e f g"]) == pytest.approx(2 / 6)
    assert normalize_text("Hello, World!  It's") == "hello world it's"
    with pytest.raises(ValueError, match="references"):
        wer(["a"], [])


def _tone(f, seconds=1.0):
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)


def test_logf0_rmse_of_a_semitone_is_ln2_over_12():
    a, b = _tone(200.0), _tone(200.0 * 2 ** (1 / 12))
    assert logf0_rmse(a, a, SR) == pytest.approx(0.0, abs=1e-9)
    assert logf0_rmse(a, b, SR) == pytest.approx(math.log(2) / 12, rel=0.05)


def test_mcd_zero_for_identical_and_positive_for_filtered():
    from scipy.signal import lfilter

    rng = np.random.default_rng(0)
    x = (_tone(150) + 0.1 * rng.standard_normal(SR)).astype(np.float32)
    assert mcd(x, x, SR) == pytest.approx(0.0, abs=1e-9)
    y = lfilter([1.0, 0.9], [1.0], x).astype(np.float32)
    assert mcd(x, y, SR) > 0.5


def test_speaker_similarity_bounds():
    from dlik.data.espeak import synthesize
    from dlik.metrics.speaker import speaker_similarity

    a, sr = synthesize("The quick brown fox jumps over the lazy dog.", "en-us", 160, 50)
    b, _ = synthesize("The quick brown fox jumps over the lazy dog.", "en-us+f2", 160, 80)
    same = speaker_similarity(a, a, sr)
    other = speaker_similarity(a, b, sr)
    assert same == pytest.approx(1.0, abs=1e-4) and -1 <= other < same


def test_pocketsphinx_transcribes_and_lists_nbest():
    from dlik.data.espeak import synthesize
    from dlik.metrics.asr import make_asr

    wave, sr = synthesize("Hello world, the cat sat on the mat.", "en-us", 150, 50)
    asr = make_asr("pocketsphinx")
    assert isinstance(asr.transcribe(wave, sr), str)
    hyps = asr.nbest(wave, sr, 3)
    assert 1 <= len(hyps) <= 3 and all(math.isfinite(h.am_score) for h in hyps)
    assert len({h.text for h in hyps}) == len(hyps)
    with pytest.raises(ValueError, match="asr must be one of"):
        make_asr("whisperx")
