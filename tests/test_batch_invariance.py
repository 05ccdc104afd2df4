"""A row is a function of (input, condition, seed, solver): the same numbers at batch sizes 1,
3 and 4, on fp32 networks (the embedded sdxl_tiny, a tiny Grad-TTS) through dlik.score and
through `dlik run`. Every network call has solver.net_batch rows, pilots do not depend on
their neighbours and probes follow the row's sample and seed."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import dlik
from dlik.data.image_render import render_clevr
from dlik.models.gradtts import GradTTS, GradTTSConfig, save_gradtts

from .test_gradtts_model import TINY

COLUMNS = ["bpd", "bpd_se", "se_dof", "delta_bpd", "delta_bpd_se", "nfe"]


def _same(frames: list[pd.DataFrame], columns=COLUMNS, tol: float = 1e-9) -> None:
    ref = frames[0][columns].to_numpy(dtype=float)
    for df in frames[1:]:
        np.testing.assert_allclose(df[columns].to_numpy(dtype=float), ref, rtol=0, atol=tol,
                                   equal_nan=True)


def _at_batch_sizes(model, inputs, conditions) -> list[pd.DataFrame]:
    """Score at batch sizes 1, 3 and 4 with a fixed network width (adaptive pilots)."""
    return [dlik.score(model, inputs, conditions, solver="dopri5_1e-3", n_probes=2,
                       refresh="stage", net_batch=2, atol=1e-1, rtol=1e-1, batch_size=b)
            for b in (1, 3, 4)]


def test_sdxl_tiny_rows_do_not_move_with_their_batch():
    model = dlik.load_model("sdxl_tiny", device="cpu")
    images = [render_clevr(7, "red", "sphere"), render_clevr(8, "blue", "cube")]
    prompts = ["a red sphere", "a blue sphere"]
    frames = _at_batch_sizes(model, images, prompts)
    assert (frames[0]["status"] == "ok").all()
    _same(frames)
    # the network width left to the batch size (the default): fp32 rows move with it
    loose = [dlik.score(model, images, prompts[:1], solver="dopri5_1e-3", n_probes=2,
                        steps="own", atol=1e-1, rtol=1e-1, batch_size=b) for b in (1, 2)]
    assert not np.array_equal(loose[0]["bpd"], loose[1]["bpd"])


@pytest.fixture(scope="module")
def tiny_gradtts(tmp_path_factory):
    d = tmp_path_factory.mktemp("inv")
    torch.manual_seed(0)
    return save_gradtts(GradTTS(GradTTSConfig(**TINY)), d / "tiny.safetensors")


def _wave(seconds: float, f0: float) -> np.ndarray:
    t = np.arange(int(22050 * seconds)) / 22050
    return (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def test_gradtts_rows_do_not_move_with_their_batch(tiny_gradtts):
    model = dlik.load_model("gradtts_lj", device="cpu", checkpoint=str(tiny_gradtts))
    waves = [_wave(0.3, 140.0), _wave(0.3, 180.0)]
    texts = ["a cat", "the dog"]
    frames = _at_batch_sizes(model, waves, texts)
    assert (frames[0]["status"] == "ok").all()
    _same(frames)


def test_cli_rows_do_not_move_with_batch_size(tiny_gradtts, tmp_path):
    outs = []
    for b in (1, 4):
        args = ["run", "experiment=tts_text_agnostic", f"model.checkpoint={tiny_gradtts}",
                "solver=rk4_25steps", "solver.step_size=0.25",  # dlik.score checks pilots
                "solver.n_probes=2", "solver.refresh=stage", "solver.net_batch=2",
                "study.variants=[own,empty]", "data.n_utterances=2", "progress=false",
                f"batch_size={b}", f"run_name=b{b}", f"paths.output_root={tmp_path}"]
        out = subprocess.run([sys.executable, "-m", "dlik.cli", *args], capture_output=True,
                             text=True, timeout=900, env={**os.environ}, cwd=tmp_path)
        assert out.returncode == 0, out.stderr[-3000:]
        df = pd.read_csv(tmp_path / "tts_text_agnostic" / f"b{b}" / "results.csv")
        outs.append(df.sort_values(["sample_id", "condition_id"]).reset_index(drop=True))
    assert (outs[0]["status"] == "ok").all() and len(outs[0]) == 4
    _same(outs, ["bpd", "bpd_se", "se_dof", "delta_bpd", "nfe"])
    assert outs[0]["probe_blocks"].tolist() == outs[1]["probe_blocks"].tolist()
