"""dlik tables architectures: two models side by side from their CSVs, checked on hand-made
rows whose accuracies and slopes are known exactly."""

from __future__ import annotations

import pandas as pd
import pytest

from dlik.analysis.architectures import confound_accuracy, quality_slopes
from dlik.cli import main

COLOURS = ["red", "green", "blue"]
MODELS = ("sdxl:embedded_tiny", "sd3:embedded_tiny")


def _confound_rows() -> pd.DataFrame:
    """Model 1 ranks every image's own colour first; model 2 always picks 'blue' (right for
    the one blue image): class-mean accuracy 100 % and 1/3 x (0 + 0 + 100) = 33 %."""
    rows = []
    for model in MODELS:
        for sid, true in (("a", "red"), ("b", "green"), ("c", "blue")):
            for cand in COLOURS:
                right = cand == true if model == MODELS[0] else cand == "blue"
                rows.append({"experiment": "tti_prompt_confounds", "model_id": model,
                             "sample_id": sid, "image_set": "clevr_shapes",
                             "attribute": "colour", "guidance_scale": 0.0, "source": "original",
                             "true_label": true, "candidate_label": cand, "status": "ok",
                             "logp_nats": 0.0 if right else -1.0, "solver": "dopri5"})
    return pd.DataFrame(rows)


def _quality_rows() -> pd.DataFrame:
    """bpd = clean + slope x level exactly, per image (slopes 0.1 and 0.3 for model 1 and 2,
    plus an image-dependent offset that the paired difference must cancel)."""
    rows = []
    for model, slope in zip(MODELS, (0.1, 0.3)):
        for i, sid in enumerate(("x", "y", "z")):
            rows.append({"experiment": "tti_quality", "model_id": model, "sample_id": sid,
                         "perturbation": "clean", "level": 0.0, "level_unit": "-",
                         "bpd": float(i), "status": "ok"})
            for level in (4.0, 8.0, 16.0):
                rows.append({"experiment": "tti_quality", "model_id": model, "sample_id": sid,
                             "perturbation": "additive_noise", "level": level,
                             "level_unit": "std_8bit", "bpd": i + (slope + 0.01 * i) * level,
                             "status": "ok"})
    return pd.DataFrame(rows)


def test_accuracy_per_model_and_chance():
    t = confound_accuracy(_confound_rows())
    assert len(t) == 1 and t.loc[0, "chance_%"] == 33
    assert t.loc[0, f"{MODELS[0]} acc_%"].startswith("100 ")
    assert t.loc[0, f"{MODELS[1]} acc_%"].startswith("33 ")
    assert t.loc[0, f"{MODELS[0]} n"] == 3


def test_slopes_and_their_paired_difference_are_exact():
    t = quality_slopes(_quality_rows()).iloc[0]
    mean = lambda s: float(s.split(" ")[0])  # noqa: E731
    assert mean(t[f"{MODELS[0]} slope"]) == pytest.approx(0.11, abs=1e-9)  # 0.1 + mean 0.01 i
    assert mean(t[f"{MODELS[1]} slope"]) == pytest.approx(0.31, abs=1e-9)
    diff = t["slope difference (2nd - 1st)"]
    assert diff.startswith("0.2 [0.2, 0.2]"), diff  # paired: the per-image offsets cancel
    assert t[f"{MODELS[1]} max_delta_bpd"] == pytest.approx(0.31 * 16)


def test_cli_renders_both_sections(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    _confound_rows().to_csv(a, index=False)
    _quality_rows().to_csv(b, index=False)
    assert main(["tables", "architectures", "-i", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "## prompt confounds" in out and "## image quality" in out
    assert all(m in out for m in MODELS) and "slope difference" in out
