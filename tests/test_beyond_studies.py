"""Beyond the paper end to end on the text-swap study (tiny random-weight Grad-TTS, 4 Euler
steps, 2 utterances): null rows and pmi, dlik attribute, dlik elbo, and their tables."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import torch

from dlik.models.gradtts import GradTTS, GradTTSConfig, save_gradtts

from .helpers import TINY

# one worker runs this module: its tests share a module fixture (pytest-xdist loadgroup)
pytestmark = pytest.mark.xdist_group("beyond_run")

FAST = ["solver.method=euler", "solver.step_size=0.25", "progress=false",
        "data.n_utterances=2", "run_name=t", "experiment=tts_text_agnostic",
        "study.variants=[own,shuffled,empty]"]


def _dlik(tmp_path, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "dlik.cli", *args], capture_output=True,
                         text=True, timeout=900, env={**os.environ}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("beyond")
    torch.manual_seed(0)
    weights = save_gradtts(GradTTS(GradTTSConfig(**TINY)), d / "single.safetensors")
    overrides = [*FAST, f"model.checkpoint={weights}", f"paths.output_root={d}"]
    _dlik(d, "run", *overrides, "+study.null_condition=true")
    return d, overrides, d / "tts_text_agnostic" / "t"


def test_null_rows_and_pmi_table(run):
    d, _, out = run
    df = pd.read_csv(out / "results.csv", keep_default_na=False, na_values=[""])
    assert len(df) == 2 * 4 and (df["status"] == "ok").all()
    null = df[df["condition_id"] == "null_condition"]
    assert len(null) == 2 and (null["text"].isna() | (null["text"] == "")).all()
    assert df["pmi_bits"].notna().all() and (null["pmi_bits"] == 0).all()
    own = df[df["condition_id"] == "own"].set_index("sample_id")
    expect = (own["logp_nats"] - null.set_index("sample_id")["logp_nats"]) / 0.6931471805599453
    assert (own["pmi_bits"] - expect).abs().max() < 1e-9
    table = _dlik(d, "tables", "pmi", "-i", str(out / "results.csv"))
    assert "mean_pmi_bits" in table and "shuffled" in table and "null_condition" not in table
    assert "null_condition" in _dlik(d, "tables", "text_agnostic", "-i",
                                     str(out / "results.csv"))


def test_attribute_cli_and_table(run):
    d, overrides, out = run
    _dlik(d, "attribute", "--bins", "4", "--transport", *overrides)
    df = pd.read_csv(out / "attribution.csv")
    assert len(df) == 2 * 2 and (df["status"] == "ok").all()  # own vs shuffled, empty
    cols = [f"dlogp_bin_{k}" for k in range(4)]
    assert (df["dlogp_prior"] + df[cols].sum(axis=1) - df["dlogp_shared"]).abs().max() < 1e-9
    assert df["bin_edges"].iloc[0] == "1e-05 0.25 0.5 0.75 1"
    assert df["dlogp_transported"].notna().all() and df["solver"].iloc[0] == "euler"
    text = _dlik(d, "tables", "attribution", "-i", str(out / "attribution.csv"),
                 "--out", str(d / "attr.md"))
    assert "t 0.25-0.5" in text and (d / "attr.png").stat().st_size > 0


def test_elbo_cli_and_agreement_table(run):
    d, overrides, out = run
    _dlik(d, "elbo", "--rounds", "4,4", *overrides)
    df = pd.read_csv(out / "elbo.csv")
    assert len(df) == 2 * 3 and (df["estimator"] == "elbo").all()  # the null row is left out
    assert df["elbo_nats"].notna().all() and df["elbo_draws"].between(4, 8).all()
    text = _dlik(d, "tables", "elbo_agreement", "-i", str(out / "results.csv"),
                 str(out / "elbo.csv"))
    assert "kendall_tau" in text and "nfe_ratio" in text
