"""Kill -9 at random points and resume: every row once, bitwise equal to an uninterrupted run
(which is itself bitwise reproducible); torn last rows are cut and recomputed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from dlik.io.writer import ResultWriter, complete_rows, read_done_keys

N = 40
ARGS = ["run", "experiment=sanity_gaussian", f"study.n_samples={N}", "batch_size=2",
        "model.dim=4096", "solver.method=euler", "solver.step_size=0.05", "progress=false"]
EXACT = ["sample_id", "condition_id", "logp_nats", "bpd", "prior_logp", "divergence_integral",
         "n_dims", "nfe", "status", "error", "exact_logp_nats", "config_hash"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


# Forks `dlik run` children from one process that has imported dlik already, so a trial costs
# a fork, not an interpreter start-up; each child is a whole run (cli.main) killed on its own.
FORKER = r"""
import os, sys
import dlik.cli
reply = os.fdopen(os.dup(1), "w")  # the protocol; everything else printed goes nowhere
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
try:  # warm up (imports, caches) with one tiny run, before forking
    dlik.cli.main(sys.argv[1:])
except SystemExit:
    pass
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "run":
        err, *argv = args
        pid = os.fork()
        if pid == 0:
            fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd, 2)
            try:
                code = dlik.cli.main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            sys.stderr.flush()
            os._exit(code or 0)
        print(pid, file=reply, flush=True)
    elif cmd == "wait":
        _, status = os.waitpid(int(args[0]), 0)
        print(os.waitstatus_to_exitcode(status), file=reply, flush=True)
"""


def _start(root: Path, run_name: str, hash_seed: str = "1") -> subprocess.Popen:
    """Start a whole `python -m dlik.cli run` (its own interpreter and hash seed)."""
    return subprocess.Popen([sys.executable, "-m", "dlik.cli", *ARGS, f"paths.output_root={root}",
                             f"run_name={run_name}"], cwd=root, text=True,
                            env={**ENV, "PYTHONHASHSEED": hash_seed}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


class Forker:
    """Starts and reaps forked `dlik run` children."""

    def __init__(self, root: Path) -> None:
        warm = [*ARGS[:2], "study.n_samples=1", *ARGS[3:], f"paths.output_root={root}",
                "run_name=warm-up"]
        self.proc = subprocess.Popen([sys.executable, "-c", FORKER, *warm], cwd=root, text=True,
                                     env={**ENV, "PYTHONHASHSEED": "0"}, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def _ask(self, line: str) -> int:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def run(self, err: Path, argv: list[str]) -> int:
        """Return the pid of a child running dlik with argv (stderr to err)."""
        return self._ask(" ".join(["run", str(err), *argv]))

    def wait(self, pid: int) -> int:
        """Return the child's exit code (-9 when killed)."""
        return self._ask(f"wait {pid}")

    def alive(self, pid: int) -> bool:
        """Return True while the child has not exited (zombies count as exited)."""
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    def close(self) -> None:
        """Stop the forking process."""
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _rows(csv: Path) -> int:
    return max(csv.read_bytes().count(b"\n") - 1, 0) if csv.exists() else 0


def _exact(csv: Path) -> pd.DataFrame:
    """Return the measure columns as the text written (so equality is bitwise)."""
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)[EXACT]
    return df.sort_values(["sample_id", "condition_id"]).reset_index(drop=True)


def test_kill_minus_9_at_random_points_then_resume_matches_uninterrupted(tmp_path):
    ref_cli = _start(tmp_path, "ref_cli", hash_seed="12345")  # beside the trials
    csv = tmp_path / "sanity_gaussian" / "killed" / "results.csv"
    argv = [*ARGS, f"paths.output_root={tmp_path}"]
    rng = random.Random(18)
    tally = {"kills": 0, "during_startup": 0, "mid_scoring": 0, "stale_locks_taken": 0,
             "torn_rows_cut": 0}
    forker = Forker(tmp_path)
    try:
        ref_fork = forker.run(tmp_path / "ref_fork.err", [*argv, "run_name=ref_fork"])
        assert forker.wait(ref_fork) == 0, (tmp_path / "ref_fork.err").read_text()
        for trial in range(10):
            before, err = _rows(csv), tmp_path / f"trial{trial}.err"
            pid = forker.run(err, [*argv, "run_name=killed"])
            k = rng.randint(0, 2)  # new rows to wait for; 0 = a random moment of start-up
            if k == 0:
                time.sleep(rng.uniform(0.0, 0.6))
            else:
                deadline = time.time() + 60
                while _rows(csv) < before + k and forker.alive(pid) and time.time() < deadline:
                    time.sleep(0.002)
            os.kill(pid, signal.SIGKILL)
            assert forker.wait(pid) == -9, f"run ended before the kill: {err.read_text()}"
            text = err.read_text()
            tally["kills"] += 1
            tally["during_startup" if _rows(csv) == before else "mid_scoring"] += 1
            tally["stale_locks_taken"] += "taking over the stale lock" in text
            tally["torn_rows_cut"] += "removed a torn last row" in text
    finally:
        forker.close()
    assert 0 < _rows(csv) < N, "the trials must leave work to resume"
    last = _start(tmp_path, "killed")
    out, err = last.communicate(timeout=300)
    assert last.returncode == 0, err
    assert "already done" in out
    assert ref_cli.wait(timeout=300) == 0, ref_cli.stderr.read()
    ref0 = _exact(tmp_path / "sanity_gaussian" / "ref_fork" / "results.csv")
    ref1 = _exact(tmp_path / "sanity_gaussian" / "ref_cli" / "results.csv")
    pd.testing.assert_frame_equal(ref0, ref1)  # the same command twice: bitwise equal
    got = _exact(csv)
    assert len(got) == N and got["sample_id"].is_unique and (got["status"] == "ok").all()
    pd.testing.assert_frame_equal(got, ref0)  # resumed after 10 kills: bitwise equal
    print(f"\nkill trials: {tally}")
    assert tally["kills"] == 10 and tally["mid_scoring"] >= 4
    assert tally["stale_locks_taken"] >= 1


def test_torn_last_row_is_detected_and_cut(tmp_path, capsys):
    p = tmp_path / "r.csv"
    cols = ["sample_id", "condition_id", "text", "v"]
    with ResultWriter(p, cols) as w:
        w.write({"sample_id": "a", "condition_id": "c", "text": "one\nline two", "v": 1.5})
        w.write({"sample_id": "b", "condition_id": "c", "text": "x", "v": 0.1 + 0.2})
    whole = p.read_bytes()
    for cut in (b'd,c,"half', b'd,c,"quoted\n', b"d,c\n", b"d,c,x,2.5,extra\n"):
        p.write_bytes(whole + cut)  # torn: no newline / open quote / too few or many fields
        assert read_done_keys(p) == {("a", "c"), ("b", "c")}
        assert p.read_bytes() == whole
        assert "removed a torn last row" in capsys.readouterr().err
    with ResultWriter(p, cols) as w:
        assert w.n_rows == 2
        w.write({"sample_id": "d", "condition_id": "c", "text": "", "v": 2.5})
    df = pd.read_csv(p, keep_default_na=False)
    assert df["v"].tolist() == [1.5, 0.1 + 0.2, 2.5] and df["text"][0] == "one\nline two"
    assert complete_rows(b"sample_id,cond")[0] == 0  # a torn header: the file starts again


def test_corrupt_row_in_the_middle_is_refused_not_cut(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("sample_id,condition_id,v\na,c,1\nb,c\nd,c,3\n")
    try:
        read_done_keys(p)
    except ValueError as exc:
        assert "corrupt at line 3" in str(exc) and "resume=false" in str(exc)
    else:
        raise AssertionError("a bad row followed by good ones must not be cut silently")
    assert p.read_text().endswith("d,c,3\n")
