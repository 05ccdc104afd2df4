"""The rest of the bad-input matrix: configs, weights, images, disk full, engine statuses, and
determinism (same command twice, job order, batch size). TTS inputs: test_reliability_inputs_tts;
kill/resume: test_reliability_resume; signals and the lock: test_reliability_signals."""

from __future__ import annotations

import errno
import math
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from dlik.engine.solve import SolverSpec
from dlik.io.writer import ResultsWriteError, ResultWriter, read_done_keys
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter
from dlik.scoring.runner import Runner, ScoreSettings

MEASURES = ["logp_nats", "bpd", "prior_logp", "divergence_integral", "nfe"]


def _dlik(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYDRA_FULL_ERROR": "0"}
    return subprocess.run([sys.executable, "-m", "dlik.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _rows(adapter, jobs, solver: SolverSpec, batch_size: int = 4) -> list[dict]:
    rows: list[dict] = []
    Runner(adapter, ScoreSettings(solver=solver, batch_size=batch_size), rows.append,
           progress=False).run(jobs)
    return rows


@pytest.mark.parametrize("override,message", [
    ("nosuchkey=1", "Could not override 'nosuchkey'"),
    ("experiment=nope", "sanity_gaussian"),
    ("solver=nope", "solver"),
    ("solver.atol=-1", "atol and rtol must be > 0"),
])
def test_bad_config_fails_before_scoring_and_names_the_value(tmp_path, override, message):
    args = ["run", "experiment=sanity_gaussian", override, f"paths.output_root={tmp_path}",
            "progress=false"]
    if override.startswith("experiment="):
        args.remove("experiment=sanity_gaussian")
    out = _dlik(*args, cwd=tmp_path)
    assert out.returncode != 0
    assert message in out.stderr, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    assert not list(tmp_path.rglob("results*.csv"))


@pytest.mark.parametrize("override,message", [
    ("solver.atol=tight", "solver.atol must be a number (float), got 'tight'"),
    ("solver.max_steps=0", "max_steps must be >= 1"),
    ("solver.time_change=cube", "time_change must be one of"),
    ("batch_size=four", "batch_size must be an integer, got 'four'"),
])
def test_bad_settings_name_the_value(override, message):
    from hydra import compose, initialize_config_dir

    from dlik.commands.config import CONFIG_DIR, settings_from_config

    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("config", ["experiment=sanity_gaussian", override])
    with pytest.raises(ValueError, match=re.escape(message)):
        settings_from_config(cfg)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > pwned.txt",))


def test_checkpoint_carrying_code_is_refused_without_running_it(tmp_path, monkeypatch):
    from dlik.models.gradtts.checkpoint import read_state_dict

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}, "hook": _Evil()}, path)
    with pytest.raises(ValueError, match="refused to load Grad-TTS checkpoint.*never unpickles"):
        read_state_dict(path)
    assert not (tmp_path / "pwned.txt").exists()


def test_disk_full_mid_row_leaves_a_valid_file_and_resume_completes(tmp_path, monkeypatch):
    path = tmp_path / "results.csv"
    cols = ["sample_id", "condition_id", "v"]
    real = ResultWriter._raw_write
    with ResultWriter(path, cols) as w:
        w.write({"sample_id": "a", "condition_id": "c", "v": 1.0})

        def full(self, data: bytes) -> None:  # half the row lands, then ENOSPC
            real(self, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(ResultWriter, "_raw_write", full)
        with pytest.raises(ResultsWriteError, match="No space left.*holds 1 complete rows"):
            w.write({"sample_id": "b", "condition_id": "c", "v": 2.0})
    monkeypatch.setattr(ResultWriter, "_raw_write", real)
    assert path.read_text() == "sample_id,condition_id,v\na,c,1.0\n"
    assert read_done_keys(path) == {("a", "c")}
    with ResultWriter(path, cols) as w:
        w.write({"sample_id": "b", "condition_id": "c", "v": 2.0})
    assert pd.read_csv(path)["v"].tolist() == [1.0, 2.0]


class _NaNFor(GaussianAdapter):
    """The Gaussian, with a drift that turns NaN for sample 'bad' past t = 0.5."""

    def prepare(self, job: Job):
        prep = super().prepare(job)
        prep.cond["bad"] = torch.tensor(float(job.sample_id == "bad"), dtype=torch.float64)
        return prep

    def drift(self, x, t, cond):
        f = super().drift(x, t, cond)
        poison = (cond["bad"] > 0) & (t > 0.5)
        return torch.where(poison.view(-1, 1), torch.full_like(f, math.nan), f)


def test_nonfinite_drift_and_step_budget_are_statuses_with_advice():
    ad = _NaNFor(dim=6)
    rows = {r["sample_id"]: r for r in _rows(ad, [Job(s, "c") for s in ("ok1", "bad", "ok2")],
                                             SolverSpec(atol=1e-6, rtol=1e-6))}
    assert rows["bad"]["status"] == "nonfinite" and "NaN/inf" in rows["bad"]["error"]
    assert math.isnan(rows["bad"]["bpd"]) and math.isnan(rows["bad"]["logp_nats"])
    assert [rows[s]["status"] for s in ("ok1", "ok2")] == ["ok", "ok"]
    assert abs(rows["ok1"]["bpd"] - rows["ok1"]["exact_bpd"]) < 1e-4
    rows = _rows(GaussianAdapter(dim=6), [Job("s", "c")], SolverSpec(max_steps=3))
    assert rows[0]["status"] == "max_steps" and math.isnan(rows[0]["bpd"])
    assert "raise solver.max_steps" in rows[0]["error"]


@pytest.fixture(scope="module")
def embedded_sdxl():
    from dlik.models.sdxl.adapter import SDXLAdapter

    return SDXLAdapter(path="embedded")


def test_bad_images_are_error_rows_and_the_rest_is_scored(embedded_sdxl, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    files = {"good": (64, 64), "huge": (3000, 2000), "tiny": (2, 2)}
    for name, (h, w) in files.items():
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{name}.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    names = ["good", "huge", "tiny", "corrupt", "missing"]
    jobs = [Job(n, "c", payload={"image_path": str(tmp_path / f"{n}.png"),
                                 "prompt": "a red cube"}) for n in names]
    euler = SolverSpec("euler", step_size=0.5)
    rows = {r["sample_id"]: r for r in _rows(embedded_sdxl, jobs, euler)}
    assert [rows[n]["status"] for n in names] == ["ok", "ok", "error", "error", "error"]
    assert "upscale it 32x" in rows["tiny"]["error"]
    assert "cannot read image file" in rows["corrupt"]["error"]
    assert "does not exist" in rows["missing"]["error"]
    assert all(math.isfinite(rows[n]["bpd"]) for n in ("good", "huge"))


def test_image_manifest_with_a_repeated_id_names_both_lines(tmp_path):
    from dlik.data.image_sets import ShapesImageSet

    (tmp_path / "manifest.csv").write_text(
        "id,split,path,prompt,colour,shape\n"
        "a,test,a.png,a red cube,red,cube\nb,test,b.png,a blue cube,blue,cube\n"
        "a,test,c.png,a red sphere,red,sphere\n")
    with pytest.raises(ValueError, match="repeats id 'a' \\(lines 2 and 4\\)"):
        ShapesImageSet("clevr_shapes", root=str(tmp_path)).items()


def test_same_command_twice_is_bitwise_identical(tmp_path):
    outs = []
    for run in ("one", "two"):
        out = _dlik("run", "experiment=sanity_gaussian", "study.n_samples=5", "progress=false",
                    f"paths.output_root={tmp_path}", f"run_name={run}", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        outs.append(pd.read_csv(tmp_path / "sanity_gaussian" / run / "results.csv",
                                dtype=str)[["sample_id", *MEASURES]])
    pd.testing.assert_frame_equal(outs[0], outs[1])


def test_values_do_not_depend_on_job_order_or_batch_size():
    ad = GaussianAdapter(dim=8)
    jobs = [Job(f"s{i}", "c") for i in range(6)]
    solver = SolverSpec(atol=1e-6, rtol=1e-6)
    base = {r["sample_id"]: r for r in _rows(ad, jobs, solver, batch_size=4)}
    shuffled = {r["sample_id"]: r for r in _rows(ad, jobs[::-1], solver, batch_size=4)}
    single = {r["sample_id"]: r for r in _rows(ad, jobs, solver, batch_size=1)}
    for sid, row in base.items():
        for other in (shuffled[sid], single[sid]):
            assert other["nfe"] == row["nfe"]
            assert abs(other["logp_nats"] - row["logp_nats"]) <= 1e-9 * abs(row["logp_nats"])
