"""Perceptual measures (DNSMOS, PESQ, STOI, SSIM, MS-SSIM) on synthetic signals, their empty
cells with reasons, the study wiring (TTS stage in process, TTI end to end), and the
perceptual table on hand-made CSVs with known rank relations."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.signal import lfilter
from scipy.stats import kendalltau, spearmanr

from dlik.analysis.perceptual import perceptual_table
from dlik.metrics.perceptual import (PESQ_SR, Unmeasurable, dnsmos, image_measures, ms_ssim,
                                     pesq_wb, speech_measures, ssim, stoi)

PESQ_WB_MAX = 4.643888  # the wideband MOS-LQO mapping at a raw PESQ of 4.5


def vowels(sr: int = 16000, dur: float = 3.0) -> np.ndarray:
    """Return a speech-like wave: a 110 Hz pulse train through four vowels' formants."""
    n = int(sr * dur)
    t = np.arange(n) / sr
    src = np.diff(np.floor(np.cumsum(110 + 15 * np.sin(2 * np.pi * 0.7 * t)) / sr), prepend=0.0)
    formants = [[(730, 90), (1090, 110), (2440, 170)], [(270, 60), (2290, 100), (3010, 150)],
                [(300, 60), (870, 90), (2240, 150)], [(530, 70), (1840, 100), (2480, 150)]]
    out, seg = np.zeros(n), int(0.25 * sr)
    for k, i in enumerate(range(0, n, seg)):
        x = src[i:i + seg]
        for f, bw in formants[k % 4]:
            r = np.exp(-np.pi * bw / sr)
            x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / sr), r * r], x)
        out[i:i + seg] = x * np.sin(np.pi * np.arange(len(x)) / len(x)) ** 0.5
    return 0.3 * out / np.abs(out).max()


def noisy(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """Return x plus white noise at snr_db."""
    nz = np.random.default_rng(seed).standard_normal(len(x))
    return x + nz * np.sqrt(np.mean(x ** 2) / np.mean(nz ** 2) / 10 ** (snr_db / 10))


def test_dnsmos_white_noise_at_0db_below_clean():
    x = vowels()
    clean, bad = dnsmos(x, 16000), dnsmos(noisy(x, 0.0), 16000)
    assert set(clean) == {"dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"}
    assert clean["dnsmos_ovrl"] > bad["dnsmos_ovrl"] + 0.5  # measured 2.35 vs 1.27
    assert clean["dnsmos_bak"] > bad["dnsmos_bak"] + 1.0  # 3.08 vs 1.23
    assert all(1.0 <= v <= 5.0 for v in [*clean.values(), *bad.values()])


def test_pesq_and_stoi_of_reference_at_maxima_and_fall_with_noise():
    x = vowels(dur=2.0)
    assert pesq_wb(x, x, PESQ_SR) == pytest.approx(PESQ_WB_MAX, abs=1e-5)
    assert stoi(x, x, 16000) == pytest.approx(1.0, abs=1e-9)
    p = [pesq_wb(x, noisy(x, snr), PESQ_SR) for snr in (20, 5)]
    s = [stoi(x, noisy(x, snr), 16000) for snr in (20, 5)]
    assert PESQ_WB_MAX > p[0] > p[1] and 1.0 > s[0] > s[1]
    x22 = vowels(sr=22050, dur=2.0)  # resampled to 16 kHz inside: still the maximum
    assert pesq_wb(x22, x22, 22050) == pytest.approx(PESQ_WB_MAX, abs=1e-5)


def test_ssim_of_image_with_itself_is_one_and_falls_with_noise():
    rng = np.random.default_rng(0)
    base = (np.add.outer(np.arange(200), np.arange(200)) % 256).astype(np.uint8)
    img = Image.fromarray(np.stack([base, base[::-1], base.T], -1))
    arr = np.asarray(img).astype(float) + rng.normal(0, 25, (200, 200, 3))
    worse = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    assert ms_ssim(img, img) == pytest.approx(1.0, abs=1e-6)
    assert ssim(img, worse) < 0.9 and ms_ssim(img, worse) < 1.0 - 1e-3
    with pytest.raises(Unmeasurable, match="too small.*> 160"):
        ms_ssim(img.resize((64, 64)), img.resize((64, 64)))


def test_too_short_inputs_give_empty_cells_with_reasons():
    short = vowels(dur=0.2)  # 0.2 s: under PESQ's 1/4 s, under STOI's 30 frames
    cols = speech_measures(short, 16000, ref=short)
    assert cols["pesq_wb"] is None and cols["stoi"] is None
    assert "pesq_wb: BufferTooShortError: Buffer needs to be at least 1/4 of a second" in (
        cols["perceptual_note"])
    assert "stoi: too short" in cols["perceptual_note"]
    assert 1.0 <= cols["dnsmos_ovrl"] <= 5.0  # DNSMOS tiles short clips: it still runs
    assert cols["perceptual_versions"] == ";".join(
        f"{p}={importlib.metadata.version(p)}" for p in ("speechmos", "onnxruntime", "pesq",
                                                          "pystoi"))
    tiny = Image.new("RGB", (8, 8), (10, 20, 30))
    img = image_measures(tiny, tiny)
    assert img["ssim"] is None and img["ms_ssim"] is None
    assert img["perceptual_note"].startswith("ssim: image (8, 8) is smaller than the 11-pixel")


def test_missing_package_and_misaligned_reference_leave_empty_cells(monkeypatch):
    x = vowels(dur=1.0)
    with pytest.raises(Unmeasurable, match="one length, got 16000 and 15000"):
        stoi(x, x[:15000], 16000)
    monkeypatch.setitem(sys.modules, "pystoi", None)  # import pystoi -> ImportError
    monkeypatch.setattr("dlik.metrics.perceptual.dnsmos", lambda w, sr: {})
    cols = speech_measures(x, 16000, ref=x)
    assert cols["stoi"] is None and cols["pesq_wb"] == pytest.approx(PESQ_WB_MAX, abs=1e-5)
    assert "stoi: not installed" in cols["perceptual_note"] and "dlik[perceptual]" in (
        cols["perceptual_note"])


def test_tts_quality_stage_measures_vocoded_rows(tmp_path):
    import soundfile as sf

    from dlik.experiments.tts_quality import QualityStudy

    wav = tmp_path / "u1.wav"
    sf.write(wav, vowels(sr=22050, dur=2.0).astype(np.float32), 22050)
    item = SimpleNamespace(item_id="u1", columns={"speaker": "s"},
                           payload={"audio_path": str(wav), "text": "a e i o"})
    data = SimpleNamespace(items=lambda: [item], pool_items=lambda: [item])
    study = QualityStudy(data, {"white_noise": [0]}, perceptual=True)
    assert study.extra_columns[:6] == ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl",
                                       "dnsmos_p808", "pesq_wb", "stoi"]
    clean, bad = (j.staged().columns for j in study.jobs())
    assert clean["pesq_wb"] == pytest.approx(PESQ_WB_MAX, abs=1e-5)  # vocoded clean vs itself
    assert clean["stoi"] == pytest.approx(1.0, abs=1e-9) and clean["perceptual_note"] == "ok"
    assert bad["pesq_wb"] < 2.0 and bad["stoi"] < 0.95
    assert bad["dnsmos_ovrl"] < clean["dnsmos_ovrl"]
    assert QualityStudy(data, {"white_noise": [0]}).jobs()[1].stage is None  # off by default


def test_tti_perceptual_end_to_end(tmp_path, capsys):
    from dlik.commands.tables import main

    out = subprocess.run(
        [sys.executable, "-m", "dlik.cli", "run", "experiment=tti_perceptual",
         "solver.method=euler", "solver.step_size=0.25", "progress=false", "data.n_items=1",
         f"paths.output_root={tmp_path}", "run_name=t"], capture_output=True, text=True,
        timeout=600, cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    csv = tmp_path / "tti_perceptual" / "t" / "results.csv"
    df = pd.read_csv(csv)
    assert len(df) == 1 + 4 * 4 and (df["status"] == "ok").all()
    clean = df[df["perturbation"] == "clean"]
    assert np.allclose(clean["ssim"], 1.0, atol=1e-6)
    noise = df[df["perturbation"] == "additive_noise"].sort_values("level")  # std 4 .. 32
    assert (np.diff(noise["ssim"]) < 0).all() and (noise["ssim"] < 1).all()
    assert df["ms_ssim"].isna().all()  # 64 x 64: below 5 scales of the 11-tap window
    assert df["perceptual_note"].str.contains("ms_ssim: image 64x64 is too small").all()
    version = importlib.metadata.version("torchmetrics")
    assert (df["perceptual_versions"] == f"torchmetrics={version}").all()
    capsys.readouterr()
    assert main(["perceptual", "-i", str(csv), "--out", str(tmp_path / "p.md")]) == 0
    assert (tmp_path / "p.png").stat().st_size > 0
    assert "| ssim    | pooled" in capsys.readouterr().out


def _handmade(n: int = 8) -> pd.DataFrame:
    """Return rows of n inputs: clean, 'mono' at 3 levels (measure falls as bpd rises, while
    inputs with high bpd offsets have high measures), 'hump' (with the clean row, measures
    a, b, b, a over rising bpd: Spearman exactly 0 within each input)."""
    rows = []
    for i in range(n):
        off = 10.0 * i
        def add(kind, level, bpd, q):
            rows.append({"sample_id": f"u{i}", "perturbation": kind, "level": level,
                         "bpd": bpd, "dnsmos_ovrl": q, "status": "ok"})
        add("clean", 0, off, 5.0 * i + 3)
        for lv in (1, 2, 3):
            add("mono", lv, off + lv, 5.0 * i + 3 - lv)
            add("hump", lv, off + 4 + lv, 5.0 * i + (3.0 if lv == 3 else 4.0))
    return pd.DataFrame(rows)


def test_perceptual_table_on_known_relations():
    df = _handmade()
    t = perceptual_table(df, n_boot=200).set_index("kind")
    mono = t.loc["mono"]
    assert mono["n_inputs"] == 8 and mono["n_rows"] == 32
    assert mono["within_spearman"] == pytest.approx(-1.0, abs=1e-12)
    assert mono["within_kendall"] == pytest.approx(-1.0, abs=1e-12)
    assert (mono["within_spearman_lo"], mono["within_spearman_hi"]) == (-1.0, -1.0)
    g = df[(df["perturbation"].isin(["clean", "mono"]))]
    assert mono["spearman"] == pytest.approx(spearmanr(g["bpd"], g["dnsmos_ovrl"])[0], abs=1e-12)
    assert mono["kendall"] == pytest.approx(kendalltau(g["bpd"], g["dnsmos_ovrl"])[0], abs=1e-12)
    assert mono["spearman"] > 0.9  # across inputs the offsets dominate: pooled sign flips
    assert "within_spearman" not in mono["ci_has_0"] and mono["spearman_lo"] > 0
    hump = t.loc["hump"]
    assert hump["within_spearman"] == pytest.approx(0.0, abs=1e-12)
    assert "within_spearman" in hump["ci_has_0"]
    pooled = t.loc["pooled"]
    assert pooled["n_rows"] == len(df) and not pooled["few_inputs"]
    few = perceptual_table(df[df["sample_id"].isin(["u0", "u1", "u2"])], n_boot=50)
    assert few["few_inputs"].all()  # 3 inputs: flagged whatever the CIs say
    assert pooled["spearman"] == pytest.approx(spearmanr(df["bpd"], df["dnsmos_ovrl"])[0],
                                               abs=1e-12)
    with pytest.raises(ValueError, match="study.perceptual=true"):
        perceptual_table(df.drop(columns="dnsmos_ovrl"))


def test_report_section_has_the_scatter(tmp_path):
    from dlik.analysis.report import build_report

    run = tmp_path / "runs" / "tts_perceptual" / "r"
    run.mkdir(parents=True)
    _handmade().assign(experiment="tts_perceptual", condition_id="c").to_csv(
        run / "results.csv", index=False)
    md = build_report([tmp_path / "runs"], tmp_path / "rep").read_text()
    assert "### Table `perceptual`" in md and "perceptual.png" in md
    pngs = list((tmp_path / "rep").rglob("perceptual.png"))
    assert len(pngs) == 1 and Image.open(pngs[0]).size[0] >= 2 * 260  # two kinds' panels


def test_generative_rows_have_dnsmos_and_say_why_no_pesq():
    import torch

    from dlik.data.audio import mel_spectrogram
    from dlik.experiments.perceptual_rows import VocodedSpeech

    mel = mel_spectrogram(torch.from_numpy(vowels(sr=22050, dur=1.5).astype(np.float32)))
    cols = VocodedSpeech().columns(None, mel)  # a sample: no time-aligned reference
    assert 1.0 <= cols["dnsmos_ovrl"] <= 5.0 and 1.0 <= cols["dnsmos_p808"] <= 5.0
    assert cols["pesq_wb"] is None and cols["stoi"] is None
    assert cols["perceptual_note"] == ("pesq_wb: no time-aligned clean reference for this row; "
                                       "stoi: no time-aligned clean reference for this row")
