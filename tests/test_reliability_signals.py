"""SIGTERM/SIGINT stop a run cleanly with a resume hint; a second run into the same results
file is refused while the first runs; a lock left by a dead process is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from dlik.io.lock import LockHeld, hold, lock_path
from dlik.io.writer import complete_rows

ARGS = ["run", "experiment=sanity_gaussian", "batch_size=2", "model.dim=8192",
        "solver.method=euler", "solver.step_size=0.05", "progress=false"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


def _start(root: Path, n: int = 2000) -> subprocess.Popen:
    """Start a run of n samples (the default outlasts the test: it is always stopped)."""
    return subprocess.Popen([sys.executable, "-m", "dlik.cli", *ARGS, f"study.n_samples={n}",
                             f"paths.output_root={root}", f"run_name=n{n}"], cwd=root, env=ENV,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _rows(csv: Path) -> int:
    return max(csv.read_bytes().count(b"\n") - 1, 0) if csv.exists() else 0


def _wait_rows(csv: Path, proc: subprocess.Popen, n: int) -> None:
    deadline = time.time() + 120
    while _rows(csv) < n and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None and _rows(csv) >= n, "the run should still be scoring"


def test_signals_stop_cleanly_and_a_second_run_is_refused(tmp_path):
    csv = tmp_path / "sanity_gaussian" / "n2000" / "results.csv"
    lock = lock_path(csv)
    first = _start(tmp_path)
    _wait_rows(csv, first, 2)
    assert json.loads(lock.read_text())["pid"] == first.pid
    second = _start(tmp_path)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 1 and "Traceback" not in err
    assert f"is being written by another dlik run (pid {first.pid}" in err
    assert "run_name=" in err  # says how to write elsewhere
    for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
        if first is None:
            first = _start(tmp_path)  # resumes
        _wait_rows(csv, first, _rows(csv) + 2)
        first.send_signal(sig)
        out, err = first.communicate(timeout=60)
        assert first.returncode == code, err
        assert f"stopped by {sig.name}" in err and "rows of this run were flushed" in err
        assert "run the same command again to resume (resume=true is the default)" in err
        assert "dlik run experiment=sanity_gaussian" in err and "Traceback" not in err
        data = csv.read_bytes()
        assert complete_rows(data)[0] == len(data)  # nothing torn: every row is whole
        assert not lock.exists()
        first = None
    df = pd.read_csv(csv, dtype={"sample_id": str})
    assert df["sample_id"].is_unique and (df["status"] == "ok").all()


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    csv = tmp_path / "sanity_gaussian" / "n6" / "results.csv"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    lock_path(csv).parent.mkdir(parents=True)
    lock_path(csv).write_text(json.dumps({"pid": int(dead), "host": socket.gethostname(),
                                          "time": 0, "command": "dlik run ..."}))
    proc = _start(tmp_path, n=6)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "taking over the stale lock" in err and f"pid {dead}" in err
    assert len(pd.read_csv(csv)) == 6 and not lock_path(csv).exists()


def test_lock_is_reentrant_and_refuses_another_holder(tmp_path):
    path = tmp_path / "results.csv.lock"
    code = ("import sys, time; from dlik.io.lock import hold\n"
            f"with hold({str(path)!r}):\n    print('held', flush=True); time.sleep(60)")
    other = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match=f"pid {other.pid}"):
            with hold(path):
                pass
    finally:
        other.kill()
        other.wait()
    with hold(path):
        with hold(path):  # the same process again: fine
            assert json.loads(path.read_text())["pid"] == os.getpid()
        assert path.exists()
    assert not path.exists()
