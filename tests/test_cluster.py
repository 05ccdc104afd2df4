"""Cluster path: a 2-shard multirun through the submitit launcher (local executor) merges to
the unsharded run row for row; dlik merge refuses inputs that are not one run and reports
missing shards, missing rows and error rows; scripts/gpu_check.sh runs (CPU fallback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlik.engine.solve import SOLVER_COLUMNS, SolverSpec
from dlik.commands.merge import expected_keys, main as merge_main
from dlik.io.merge import EXACT_FLOATS, MergeRefused, merge_with_report
from dlik.io.writer import MEASURE_COLUMNS

# one worker runs this module: its tests share a module fixture (pytest-xdist loadgroup)
pytestmark = pytest.mark.xdist_group("cluster_sweeps")

PY = sys.executable
ROOT = Path(__file__).resolve().parents[1]
# A shard batches other rows together than the unsharded run, and a float64 row value can move
# by a rounding step with its batch (measured: 7e-15 nats on 1 of 10 rows, batch 16 vs 3, on
# an AMD EPYC host): floats agree to 1e-12 relative, counts and statuses exactly.
CLOSE = ["logp_nats", "bpd", "bpd_se", "prior_logp", "divergence_integral", "exact_logp_nats",
         "exact_bpd"]
SAME = [c for c in MEASURE_COLUMNS if c not in ("wall_s", "logp_probes", *CLOSE)]


def _dlik(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**(env or os.environ), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([PY, "-m", "dlik.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=240, env=env)


def _exact(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"sample_id": str, "condition_id": str},
                       **EXACT_FLOATS).set_index(["sample_id", "condition_id"])


COMMON = ["experiment=sanity_gaussian", "study.n_samples=10", "progress=false"]


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory) -> pd.DataFrame:
    """Return the rows of one unsharded run of the sweep's setting."""
    root = tmp_path_factory.mktemp("full")
    out = _dlik("run", *COMMON, f"paths.output_root={root}", "run_name=full", cwd=root)
    assert out.returncode == 0, out.stderr[-2000:]
    return root / "sanity_gaussian" / "full" / "results.csv"


def _same_rows(merged: Path, full: Path) -> None:
    m, f = _exact(merged), _exact(full)
    assert len(m) == len(f) == 10 and sorted(m.index) == sorted(f.index)
    m = m.loc[f.index]
    for c in SAME:
        assert (m[c].fillna(-1) == f[c].fillna(-1)).all(), c
    for c in CLOSE:
        np.testing.assert_allclose(m[c], f[c], rtol=1e-12, atol=0, err_msg=c)
    probes = [np.array([[float(v) for v in str(cell).split(";")] for cell in d["logp_probes"]])
              for d in (m, f)]
    np.testing.assert_allclose(probes[0], probes[1], rtol=1e-12, atol=0)
    text = [pd.read_csv(p, dtype=str, keep_default_na=False).set_index(["sample_id",
                                                                         "condition_id"])
            for p in (merged, full)]
    for c in ("model_id", "checkpoint_hash", "config_hash", *SOLVER_COLUMNS, "seed",
              "dlik_version"):
        assert (text[0].loc[f.index, c] == text[1].loc[f.index, c]).all(), c


def test_submitit_local_sweep_resumes_a_missing_shard_and_merges_exactly(tmp_path, unsharded):
    """Shard 1 of 2 'fails' (is not run): merge says so; the same sweep command in the same
    sweep dir scores only the missing shard; the merge equals the unsharded run."""
    sweep = ["run", "-m", "hydra/launcher=local", *COMMON, f"paths.output_root={tmp_path}",
             f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    out = _dlik(*sweep, "shard=0/2", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    run_dir = tmp_path / "sweep" / "study.n_samples=10"
    n0 = len(pd.read_csv(run_dir / "results.shard0of2.csv"))
    part = _dlik("merge", str(run_dir), cwd=tmp_path)
    assert part.returncode == 0 and "shard 1 of 2 missing" in part.stdout
    assert f"expected rows (jobs of config.yaml's study): 10, {10 - n0} missing" in part.stdout
    out = _dlik(*sweep, "shard=0/2,1/2", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    logs = "".join(p.read_text() for p in (tmp_path / "sweep").glob(".submitit/*/*log.out"))
    assert "0 scored, 0 not ok" in logs or f"{n0} already done" in logs
    assert len(pd.read_csv(run_dir / "results.shard0of2.csv")) == n0  # not scored twice
    merged = _dlik("merge", str(run_dir), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "10, none missing" in merged.stdout and "warning" not in merged.stdout
    _same_rows(run_dir / "results.csv", unsharded)


FAKE_SBATCH = r'''#!PYTHON
"""Fake sbatch: starts each array task of the submission file in the background, as SLURM
would (SLURM_* variables, srun's log paths), once submitit has written its pickle."""
import os, re, shlex, subprocess, sys
text = open(sys.argv[-1]).read()
lo, hi = map(int, re.search(r"#SBATCH --array=(\d+)-(\d+)", text).groups())
srun = shlex.split(next(ln for ln in text.splitlines() if ln.startswith("srun ")))
opts = {a: srun[k + 1] for k, a in enumerate(srun) if a in ("--output", "--error")}
cmd = [a for k, a in enumerate(srun[1:], 1)
       if not a.startswith("--") and srun[k - 1] not in ("--output", "--error")]
for i in range(lo, hi + 1):
    jid = f"4242_{i}"
    sub = lambda s: (s.replace("%A", "4242").replace("%a", str(i)).replace("%t", "0")
                     .replace("%j", jid))
    env = {**os.environ, "SUBMITIT_EXECUTOR": "slurm", "SLURM_JOB_ID": str(5000 + i),
           "SLURM_ARRAY_JOB_ID": "4242",
           "SLURM_ARRAY_TASK_ID": str(i), "SLURM_NTASKS": "1", "SLURM_JOB_NUM_NODES": "1",
           "SLURM_NODEID": "0", "SLURM_PROCID": "0", "SLURM_LOCALID": "0"}
    pkl = os.path.join(sub(cmd[-1]), f"{jid}_submitted.pkl")
    os.makedirs(os.path.dirname(sub(opts["--output"])), exist_ok=True)
    wait = f"while [ ! -e {shlex.quote(pkl)} ]; do sleep 0.1; done; "
    subprocess.Popen(["bash", "-c", wait + "exec " + shlex.join(sub(c) for c in cmd)], env=env,
                     start_new_session=True, stdout=open(sub(opts["--output"]), "a"),
                     stderr=open(sub(opts["--error"]), "a"))
print("Submitted batch job 4242")
'''


def test_slurm_launcher_through_a_fake_scheduler_merges_exactly(tmp_path, unsharded):
    """hydra/launcher=slurm end to end: submitit writes the sbatch array script; a fake
    sbatch runs its tasks locally; the shards merge to the unsharded rows."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH.replace("PYTHON", PY, 1))
    (bin_dir / "sacct").write_text("#!/bin/sh\necho 'JobID|State|NodeList'\n")
    for tool in ("srun", "scancel"):
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    out = _dlik("run", "-m", "hydra/launcher=slurm", *COMMON, f"paths.output_root={tmp_path}",
                f"hydra.sweep.dir={tmp_path / 'sweep'}", "shard=0/2,1/2", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    script = next((tmp_path / "sweep" / ".submitit").glob("*/*_submission.sh")).read_text()
    assert "#SBATCH --array=0-1%" in script and "#SBATCH --gpus-per-node=1" in script
    run_dir = tmp_path / "sweep" / "study.n_samples=10"
    assert _dlik("merge", str(run_dir), cwd=tmp_path).returncode == 0
    _same_rows(run_dir / "results.csv", unsharded)


def _frame(ids, bpd=None, **prov) -> pd.DataFrame:
    spec = SolverSpec("dopri5", 1e-3, 1e-3).columns()
    bpd = bpd or [0.5 + ord(i[-1]) % 7 for i in ids]
    return pd.DataFrame({
        "experiment": "t", "sample_id": ids, "condition_id": "c",
        "logp_nats": [-10.0 * b for b in bpd], "bpd": bpd,
        "nfe": 44, "status": "ok", "error": "", "model_id": "m", "checkpoint_hash": "abc",
        **spec, "seed": 0, "batch_size": 4, "dlik_version": "0.1.0", **prov})


def _write(tmp_path: Path, *frames) -> list[Path]:
    paths = []
    for i, f in enumerate(frames):
        p = tmp_path / f"results.shard{i}of{len(frames)}.csv"
        f.to_csv(p, index=False)
        paths.append(p)
    return paths


@pytest.mark.parametrize("column,value", [("checkpoint_hash", "def"), ("atol", 1e-5),
                                          ("time_change", "sqrt"), ("dlik_version", "0.2.0"),
                                          ("seed", 1)])
def test_merge_refuses_mismatched_provenance(tmp_path, column, value):
    paths = _write(tmp_path, _frame(["a", "b"]), _frame(["c"], **{column: value}))
    with pytest.raises(MergeRefused, match=f"column {column} differs") as err:
        merge_with_report(paths)
    assert "results.shard1of2.csv" in str(err.value) and "--allow-mismatch" in str(err.value)
    df, rep = merge_with_report(paths, allow_mismatch=True)
    assert len(df) == 3 and any(column in m for m in rep.mismatches)
    assert any(line.startswith("warning: merged despite") for line in rep.lines())


def test_merge_cli_refusal_message_and_override(tmp_path, capsys):
    _write(tmp_path, _frame(["a"]), _frame(["b"], model_id="other"))
    with pytest.raises(SystemExit, match="dlik merge: error: .*column model_id differs"):
        merge_main([str(tmp_path)])
    assert not (tmp_path / "results.csv").exists()
    assert merge_main([str(tmp_path), "--allow-mismatch"]) == 0
    assert len(pd.read_csv(tmp_path / "results.csv")) == 2


def test_merge_duplicates_identical_dropped_conflicting_refused(tmp_path):
    paths = _write(tmp_path, _frame(["a", "b"]), _frame(["b"]))
    df, rep = merge_with_report(paths)  # the same b row twice: one kept
    assert len(df) == 2 and rep.dropped_duplicates == 1
    paths = _write(tmp_path, _frame(["a", "b"]), _frame(["b"], bpd=[2.5]))
    with pytest.raises(MergeRefused, match=r"1 \(sample_id, cond.*measures, e.g. \('b', 'c'\)"):
        merge_with_report(paths)
    bad = _frame(["b"], bpd=[2.5]).assign(status="error", error="boom")
    paths = _write(tmp_path, bad, _frame(["a", "b"]))
    df, _ = merge_with_report(paths, allow_mismatch=True)  # keeps the ok row of b
    assert df.set_index("sample_id").loc["b", "bpd"] == _frame(["b"])["bpd"][0]


def test_merge_reports_missing_shard_rows_and_error_rows(tmp_path, capsys):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("study:\n  _target_: dlik.experiments.sanity_gaussian.SanityGaussian\n"
                   "  n_samples: 4\ndata: {}\n")
    keys = expected_keys(cfg)
    assert keys == {(f"gauss-{i:05d}", "analytic") for i in range(4)}
    f = _frame(["gauss-00000", "gauss-00002"]).assign(condition_id="analytic")
    f.loc[1, ["status", "error"]] = ["nonfinite", "step underflow"]
    f.to_csv(tmp_path / "results.shard0of3.csv", index=False)
    _frame(["gauss-00001"]).assign(condition_id="analytic").to_csv(
        tmp_path / "results.shard2of3.csv", index=False)
    assert merge_main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "merged 2 files, 3 rows" in out
    assert "shard 1 of 3 missing" in out and "shard=1/3" in out
    assert "expected rows (jobs of config.yaml's study): 4, 1 missing" in out
    assert "gauss-00003" in out
    assert "rows with status != ok: 1 (nonfinite: 1)" in out and "step underflow" in out


def test_merge_ignores_backups_and_names_shard_subdirs(tmp_path):
    sub = tmp_path / "multirun" / "x"
    sub.mkdir(parents=True)
    _write(sub, _frame(["a"]))
    _frame(["a"], bpd=[9.0]).to_csv(sub / "results.shard0of1.20260101-000000.bak.csv",
                                    index=False)
    assert merge_main([str(sub), "--no-list-jobs"]) == 0
    assert pd.read_csv(sub / "results.csv")["bpd"].tolist() == _frame(["a"])["bpd"].tolist()
    with pytest.raises(SystemExit, match="shard files are in .*multirun/x"):
        merge_main([str(tmp_path / "multirun")])


def test_gpu_check_script_falls_back_to_cpu_and_prints_json(tmp_path):
    env = {**os.environ, "GPU_CHECK_MODELS": "gaussian", "GPU_CHECK_BATCH_SIZES": "1 3",
           "PYTHON": sys.executable}  # this interpreter, whether or not its venv is active
    out = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--dim", "16"],
                         capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["batch_size"] for r in records] == [1, 3]
    assert all(r["ok"] and r["max_abs_dbpd_vs_cpu"] <= r["tol"] == 1e-4 for r in records)
    assert records[1]["rows"] == 3 and records[1]["rows_vs_cpu"] == 2
    import torch

    if not torch.cuda.is_available():
        assert "CUDA is not available" in out.stderr and records[0]["device"] == "cpu"


def test_merge_refuses_while_a_run_writes_its_output(tmp_path):
    """dlik merge takes the output's results lock: a live run holding it is not overwritten."""
    _write(tmp_path, _frame(["a"]))
    out = tmp_path / "results.csv"
    out.write_text("being appended\n")
    code = ("import sys, time\nfrom dlik.io.lock import hold, lock_path\n"
            f"with hold(lock_path({str(out)!r})):\n    print('held', flush=True)\n"
            "    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(SystemExit, match="being written by a run"):
            merge_main([str(tmp_path), "--no-list-jobs"])
        assert out.read_text() == "being appended\n"
    finally:
        holder.kill()
        holder.wait()
    assert merge_main([str(tmp_path), "--no-list-jobs"]) == 0  # the lock died with its holder
    assert len(pd.read_csv(out)) == 1
