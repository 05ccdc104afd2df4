"""Metrics on exact cases: WER counts, log-F0 RMSE of tones (analytic), MCD of filtered
noise (analytic mel-cepstrum of the filter), speaker cosine, and pocketsphinx N-best."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlik.metrics.prosody import logf0_rmse, mcd, mcep_alpha
from dlik.metrics.wer import normalize_text, sentence_errors, wer

SR = 22050


def test_sentence_errors_and_wer_exact():
    assert sentence_errors("the cat sat", "the cat sat") == (0, 3)
    assert sentence_errors("the cat sat", "a cat") == (2, 3)
    assert sentence_errors("hello world", "yellow word now") == (3, 2)
    assert sentence_errors("", "extra words") == (2, 0)
    assert sentence_errors("The CAT, sat.", "the cat sat") == (0, 3)
    assert wer(["a b c d", "e f"], ["a x c d", "e f g"]) == pytest.approx(2 / 6)
    assert wer(["Hello, world!"], ["hello world"]) == 0.0
    assert wer(["one two"], [""]) == 1.0
    with pytest.raises(ValueError, match="references"):
        wer(["a"], [])
    with pytest.raises(ValueError, match="no words"):
        wer([""], ["a"])


def test_normalize_text():
    assert normalize_text("Hello, World!  It's") == "hello world it's"
    assert normalize_text("'Quoted' rock-n-roll; don\u2019t 3.5") == "quoted rock n roll don't 3 5"


def test_corpus_wer_equals_summed_sentence_errors():
    rng = np.random.default_rng(0)
    vocab = ["a", "b", "c", "d", "e"]
    refs = [" ".join(rng.choice(vocab, rng.integers(1, 8))) for _ in range(30)]
    hyps = [" ".join(rng.choice(vocab, rng.integers(0, 8))) for _ in range(30)]
    counts = [sentence_errors(r, h) for r, h in zip(refs, hyps)]
    expected = sum(e for e, _ in counts) / sum(n for _, n in counts)
    assert wer(refs, hyps) == pytest.approx(expected, abs=1e-12)  # jiwer vs own Levenshtein


def _tone(f, seconds=1.0):
    t = np.arange(int(SR * seconds)) / SR
    return (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)


@pytest.mark.parametrize("align", ["dtw", "trim"])
def test_logf0_rmse_of_a_semitone_is_ln2_over_12(align):
    a, b = _tone(200.0), _tone(200.0 * 2 ** (1 / 12))
    assert logf0_rmse(a, a, SR, align=align) == pytest.approx(0.0, abs=1e-12)
    assert logf0_rmse(a, b, SR, align=align) == pytest.approx(math.log(2) / 12, rel=0.05)
    assert math.isnan(logf0_rmse(a, np.zeros_like(a), SR, align=align))  # nothing voiced
    with pytest.raises(ValueError, match="align must be one of"):
        logf0_rmse(a, b, SR, align="warp")


def test_mcd_matches_the_filter_mel_cepstrum():
    from scipy.signal import freqz, lfilter
    import pysptk

    rng = np.random.default_rng(0)
    x = _tone(150).astype(np.float64) + 0.1 * rng.standard_normal(SR)
    assert mcd(x, x, SR) == pytest.approx(0.0, abs=1e-9)
    assert mcd(x, 0.5 * x, SR) == pytest.approx(0.0, abs=1e-6)  # gain lives in c0 only
    taps = [1.0, 0.9]
    # sp(y) = sp(x) |H|^2 and sp2mc is linear in log sp: the per-frame difference is the
    # mel-cepstrum of |H|^2, the same in every frame
    _, h = freqz(taps, [1.0], worN=513)
    c = pysptk.sp2mc(np.abs(h) ** 2, order=24, alpha=mcep_alpha(SR))
    expected = 10 / math.log(10) * math.sqrt(2 * np.sum(c[1:] ** 2))
    assert mcd(x, lfilter(taps, [1.0], x), SR) == pytest.approx(expected, rel=0.03)


@pytest.fixture(scope="module")
def speech():
    # dlik.data.espeak owns the process-wide espeak-ng state (one synth callback per process),
    # so tests synthesise through it rather than loading the library a second time.
    from dlik.data.espeak import synthesize

    a, sr = synthesize("The quick brown fox jumps over the lazy dog.", "en-us", 160, 50)
    b, _ = synthesize("The quick brown fox jumps over the lazy dog.", "en-us+f2", 160, 80)
    return a, b, sr


def test_speaker_similarity(speech):
    from dlik.metrics.speaker import cosine, make_speaker_encoder, speaker_similarity

    a, b, sr = speech
    enc = make_speaker_encoder("resemblyzer")
    same = speaker_similarity(a, a, sr, encoder=enc)
    other = speaker_similarity(a, b, sr, encoder=enc)
    assert same == pytest.approx(1.0, abs=1e-6)
    assert -1.0 <= other < same - 1e-3
    assert other == pytest.approx(speaker_similarity(b, a, sr, encoder=enc), abs=1e-9)
    assert cosine([1.0, 0.0], [-2.0, 0.0]) == -1.0
    with pytest.raises(ValueError, match="speaker encoder must be one of"):
        make_speaker_encoder("ecapa")


def test_pocketsphinx_transcribes_and_lists_nbest(speech):
    from dlik.metrics.asr import Hypothesis, make_asr

    wave, _, sr = speech
    asr = make_asr("pocketsphinx")
    text = asr.transcribe(wave, sr)
    assert isinstance(text, str) and text == normalize_text(text)
    hyps = asr.nbest(wave, sr, 5)
    assert 1 <= len(hyps) <= 5 and all(isinstance(h, Hypothesis) for h in hyps)
    scores = [h.am_score for h in hyps]
    assert all(isinstance(s, float) and math.isfinite(s) for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert len({h.text for h in hyps}) == len(hyps)
    assert not any(ch in h.text for h in hyps for ch in "<>[]+")


def test_asr_registry_and_fillers(tmp_path):
    from dlik.metrics.asr import clean_hypothesis, make_asr

    assert clean_hypothesis("<s> Hello <sil> [NOISE] the(2) ++BREATH++ World </s>") == \
        "hello the world"
    with pytest.raises(ValueError, match="asr must be one of"):
        make_asr("whisperx")
    with pytest.raises(FileNotFoundError, match="config.json"):
        make_asr("transformers", model_dir=str(tmp_path))
