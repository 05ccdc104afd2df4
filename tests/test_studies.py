"""Every TTS study end to end on a 2-utterance setting (tiny random-weight Grad-TTS, 4 Euler
steps: these test the study pipelines; the engine's accuracy is tested in test_engine_*):
CSV rows, columns, and its table."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

from dlik.models.gradtts import GradTTS, GradTTSConfig, save_gradtts

from .helpers import TINY

FAST = ["solver.method=euler", "solver.step_size=0.25", "progress=false",
        "data.n_utterances=2"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    single = save_gradtts(GradTTS(GradTTSConfig(**TINY)), d / "single.safetensors")
    multi = save_gradtts(GradTTS(GradTTSConfig(**{**TINY, "n_spks": 8})), d / "multi.safetensors")
    return str(single), str(multi)


def _run(tmp_path, experiment: str, *overrides: str) -> pd.DataFrame:
    out = subprocess.run(
        [sys.executable, "-m", "dlik.cli", "run", f"experiment={experiment}", *FAST,
         f"paths.output_root={tmp_path}", "run_name=t", *overrides],
        capture_output=True, text=True, timeout=900, env={**os.environ},
        cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    return pd.read_csv(tmp_path / experiment / "t" / "results.csv")


def _tables(tmp_path, name: str, experiment: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "dlik.cli", "tables", name, "--input",
                          str(tmp_path / experiment / "t" / "results.csv"), *args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _table(tmp_path, name: str, experiment: str) -> pd.DataFrame:
    """Return the table as the CLI prints it with --format csv (numbers, not text)."""
    return pd.read_csv(io.StringIO(_tables(tmp_path, name, experiment, "--format", "csv")))


def test_text_agnostic(tmp_path, weights):
    df = _run(tmp_path, "tts_text_agnostic", f"model.checkpoint={weights[0]}")
    assert len(df) == 2 * 8 and (df["status"] == "ok").all()
    assert set(df["text_variant"]) == {"own", "other_matched", "other_random", "shuffled",
                                       "substituted", "similar", "empty", "reversed"}
    assert (df["n_dims"] % 80 == 0).all() and df["bpd"].notna().all()
    assert df.groupby("sample_id")["n_dims"].nunique().eq(1).all()  # same audio, same dims
    own = df[df["text_variant"] == "own"].set_index("sample_id")["bpd"]
    assert (df["delta_bpd"] - (df["bpd"] - df["sample_id"].map(own))).abs().max() < 1e-12
    assert (df.loc[df["text_variant"] == "own", "delta_bpd"] == 0).all()
    table = _table(tmp_path, "text_agnostic", "tts_text_agnostic").set_index("text_variant")
    swaps = df[df["text_variant"] != "own"]
    assert sorted(table.index) == sorted(set(swaps["text_variant"]))
    assert (table["n"] == 2).all()  # one delta per utterance
    want = swaps.groupby("text_variant")["delta_bpd"].mean()
    assert ((table["mean_delta_bpd"] - want[table.index]).abs() < 1e-12).all()


def test_quality(tmp_path, weights):
    df = _run(tmp_path, "tts_quality", f"model.checkpoint={weights[0]}",
              "study.perturbations={white_noise:[10],mel_blur:[1.0],time_stretch:[1.1],"
              "babble:[10],reverb:[0.3],lowpass:[2000],clipping:[0.3],resampling:[8000]}")
    levels = {"white_noise": 10, "mel_blur": 1.0, "time_stretch": 1.1, "babble": 10,
              "reverb": 0.3, "lowpass": 2000, "clipping": 0.3, "resampling": 8000}
    assert len(df) == 2 * 9 and (df["status"] == "ok").all()
    assert set(df["perturbation"]) == {"clean", *levels}
    for name, level in levels.items():
        assert (df.loc[df["perturbation"] == name, "level"].astype(float) == level).all(), name
    # every degradation changes what is scored: no degraded row has its clean row's bpd
    clean = df[df["perturbation"] == "clean"].set_index("sample_id")["bpd"]
    bad = df[df["perturbation"] != "clean"]
    assert (bad["bpd"] != bad["sample_id"].map(clean)).all()
    table = _table(tmp_path, "quality", "tts_quality")
    assert set(table["perturbation"]) == {"clean", *levels} and (table["n"] == 2).all()
    want = df.groupby("perturbation")["bpd"].mean()
    got = table.set_index("perturbation")["mean_bpd"]
    assert ((got - want[got.index]).abs() < 1e-12).all()
    delta = table.set_index("perturbation")["mean_delta_bpd"]
    assert ((delta - (want - want["clean"])[delta.index]).abs() < 1e-12).all()


def test_speaker(tmp_path, weights):
    df = _run(tmp_path, "tts_speaker", f"model.checkpoint={weights[1]}", "study.k_other=2")
    assert len(df) == 2 * 3 and (df["status"] == "ok").all()
    assert df.groupby("sample_id")["is_true_speaker"].sum().eq(1).all()
    table = _table(tmp_path, "speaker", "tts_speaker").set_index("measure")["value"]
    scored = df.groupby("sample_id")["bpd"]
    true_bpd = df[df["is_true_speaker"].astype(bool)].set_index("sample_id")["bpd"]
    wins = (scored.min() == true_bpd[scored.min().index]).mean()  # lowest bpd = argmax
    assert abs(table["argmax_speaker_accuracy"] - wins) < 1e-12
    assert abs(table["chance_accuracy"] - 1 / 3) < 1e-12  # the true speaker and 2 others


def test_nbest(tmp_path, weights):
    df = _run(tmp_path, "tts_nbest_rescoring", f"model.checkpoint={weights[0]}",
              "study.n_best=3", f"study.cache_dir={tmp_path}/nb")
    assert len(df) >= 2 and (df["status"] == "ok").all()
    assert {"hypothesis", "am_score", "reference"} <= set(df.columns)
    assert "oracle_best" in _tables(tmp_path, "nbest", "tts_nbest_rescoring")


def test_generative_path(tmp_path, weights):
    df = _run(tmp_path, "tts_generative_path", f"model.checkpoint={weights[0]}",
              "study.times=[1.0,0.5,0.0]", "study.sde_steps=10", "study.atol=1e-2",
              "study.rtol=1e-2", "data.n_utterances=1")
    assert len(df) == 1 + 2 * 3 and (df["status"] == "ok").all()
    assert set(df["sampler"]) == {"real", "ode", "sde"}
    assert df[["mcd_db", "wer", "asv_cosine"]].notna().all().all()
    assert "logf0_rmse" in _tables(tmp_path, "generative_path", "tts_generative_path")


def test_domain_adaptation(tmp_path, weights):
    df = _run(tmp_path, "tts_domain_adaptation", f"model.checkpoint={weights[0]}",
              "study.euler_steps=4", "study.atol=1e-2", "study.rtol=1e-2",
              "data.n_utterances=1")
    assert list(df["solver_pair"]) == ["none", "euler-euler", "rk45-euler", "rk45-rk45"]
    assert (df["status"] == "ok").all() and df["wer"].notna().all()
    assert "euler-euler" in _tables(tmp_path, "domain_adaptation", "tts_domain_adaptation")
