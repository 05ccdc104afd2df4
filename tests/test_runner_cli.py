"""Runner, writer and CLI: error rows, resume after kill -9, config errors, compose."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir

from dlik.commands.config import CONFIG_DIR, experiments, register_resolvers, settings_from_config
from dlik.engine.solve import SolverSpec
from dlik.io.writer import ResultWriter, read_done_keys
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter
from dlik.scoring.runner import Runner, ScoreSettings, parse_shard

PY = sys.executable


def _dlik(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([PY, "-m", "dlik.cli", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=300, **kw)


@pytest.mark.parametrize("name", experiments())
def test_every_experiment_config_composes(name):
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"experiment={name}"])
    assert cfg.experiment_name == name
    assert cfg.study["_target_"].startswith("dlik.experiments.")
    assert cfg.model["_target_"].startswith("dlik.models.")


@pytest.mark.parametrize("solver", sorted(p.stem for p in (CONFIG_DIR / "solver").glob("*.yaml")))
def test_every_solver_config_builds_settings(solver):
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["experiment=tts_quality",
                                                       f"solver={solver}"])
    settings = settings_from_config(cfg)  # validates method, tolerances and time change
    assert settings.solver.atol == cfg.solver.atol and settings.batch_size >= 1


def test_bad_sample_becomes_error_row_and_run_goes_on():
    ad = GaussianAdapter(dim=3)
    jobs = [Job("a", "c"), Job("bad", "c", payload={"x0": [0.0, float("nan"), 1.0]}),
            Job("short", "c", payload={"x0": [0.0, 1.0]}), Job("b", "c")]
    rows = []
    stats = Runner(ad, ScoreSettings(batch_size=4), rows.append, progress=False).run(jobs)
    by_id = {r["sample_id"]: r for r in rows}
    assert stats.scored == 2 and stats.errors == 2
    assert by_id["a"]["status"] == by_id["b"]["status"] == "ok"
    assert by_id["bad"]["status"] == "error" and "non-finite" in by_id["bad"]["error"]
    assert "shape" in by_id["short"]["error"]


def test_runner_never_mixes_shapes():
    class TwoShapes(GaussianAdapter):
        def prepare(self, job):
            prep = super().prepare(job)
            if job.sample_id.startswith("long"):
                import torch
                prep.x0 = torch.cat([prep.x0, prep.x0])
                prep.prior_mean = torch.cat([prep.prior_mean, prep.prior_mean])
                prep.prior_std = torch.cat([prep.prior_std, prep.prior_std])
                prep.cond = {k: torch.cat([v, v]) for k, v in prep.cond.items()}
            return prep

    seen = []
    ad = TwoShapes(dim=2)
    orig = ad.drift
    ad.drift = lambda x, t, c: (seen.append(tuple(x.shape)), orig(x, t, c))[1]
    jobs = [Job(f"{kind}{i}", "c") for i in range(3) for kind in ("long", "short")]
    rows = []
    own = SolverSpec(steps="own")  # no pilots: the three rows of a shape share each call
    Runner(ad, ScoreSettings(solver=own, batch_size=8), rows.append, progress=False).run(jobs)
    assert {s[1] for s in seen} == {2, 4} and all(r["status"] == "ok" for r in rows)
    assert {s[0] for s in seen} == {8}  # every call at the network width (the batch size)


def test_writer_repairs_partial_tail_and_rejects_other_columns(tmp_path):
    p = tmp_path / "r.csv"
    with ResultWriter(p, ["sample_id", "condition_id", "v"]) as w:
        w.write({"sample_id": "a", "condition_id": "c", "v": 1.5})
    with open(p, "a") as fh:
        fh.write("b,c,2.")  # a row cut by kill -9
    assert read_done_keys(p) == {("a", "c")}
    with ResultWriter(p, ["sample_id", "condition_id", "v"]) as w:
        w.write({"sample_id": "b", "condition_id": "c", "v": 2.5})
    assert pd.read_csv(p)["v"].tolist() == [1.5, 2.5]
    with pytest.raises(ValueError, match="has columns"):
        ResultWriter(p, ["sample_id", "condition_id", "w"])


def test_parse_shard_errors():
    assert parse_shard("1/4") == (1, 4) and parse_shard(None) is None
    with pytest.raises(ValueError, match="i/n"):
        parse_shard("4")
    with pytest.raises(ValueError, match="0 <= i < n"):
        parse_shard("4/4")


def test_cli_sanity_run_writes_csv_and_summary(tmp_path):
    out = _dlik("run", "experiment=sanity_gaussian", "study.n_samples=6", "progress=false",
                f"paths.output_root={tmp_path}", "run_name=default", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "max |bpd - exact_bpd|" in out.stdout
    df = pd.read_csv(tmp_path / "sanity_gaussian" / "default" / "results.csv")
    assert len(df) == 6 and (df["status"] == "ok").all()
    assert ((df["bpd"] - df["exact_bpd"]).abs() < 1e-3).all()
    assert (tmp_path / "sanity_gaussian" / "default" / "config.yaml").exists()


def test_cli_bad_config_names_key_and_choices(tmp_path):
    out = _dlik("run", "experiment=sanity_gaussian", "solver.method=dopri6",
                f"paths.output_root={tmp_path}", cwd=tmp_path)
    assert out.returncode != 0
    assert "method must be one of" in out.stderr and "dopri5" in out.stderr
    out = _dlik("run", f"paths.output_root={tmp_path}", cwd=tmp_path)
    assert out.returncode != 0 and "sanity_gaussian" in out.stderr


def test_cli_help_lists_experiments(tmp_path):
    out = _dlik("run", "--help", cwd=tmp_path)
    assert out.returncode == 0 and "sanity_gaussian" in out.stdout


def test_resume_after_kill_minus_9_loses_and_duplicates_nothing(tmp_path):
    args = ["run", "experiment=sanity_gaussian", "study.n_samples=300", "batch_size=1",
            "progress=false", "model.dim=64", f"paths.output_root={tmp_path}", "run_name=default"]
    csv = tmp_path / "sanity_gaussian" / "default" / "results.csv"
    proc = subprocess.Popen([PY, "-m", "dlik.cli", *args], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if csv.exists() and csv.read_text().count("\n") > 20:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = csv.read_text().count("\n") - 1
    assert 0 < n_before < 300
    out = _dlik(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"{n_before} already done" in out.stdout or "already done" in out.stdout
    df = pd.read_csv(csv)
    assert len(df) == 300 and df["sample_id"].is_unique and (df["status"] == "ok").all()
    clean = _dlik(*args[:-1], "run_name=clean", cwd=tmp_path)
    assert clean.returncode == 0
    ref = pd.read_csv(tmp_path / "sanity_gaussian" / "clean" / "results.csv")
    merged = df.merge(ref, on="sample_id", suffixes=("", "_ref"))
    assert (merged["logp_nats"] - merged["logp_nats_ref"]).abs().max() == 0


def test_resume_refuses_other_config_in_same_dir(tmp_path):
    base = ["run", "experiment=sanity_gaussian", "study.n_samples=2", "progress=false",
            f"paths.output_root={tmp_path}", "run_name=x"]
    assert _dlik(*base, cwd=tmp_path).returncode == 0
    out = _dlik(*base, "model.dim=4", cwd=tmp_path)
    assert out.returncode != 0 and "another config" in out.stderr
