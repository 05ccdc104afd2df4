"""A run's last line: every row failed -> the most common error of its rows (exit 1 via the
CLI's 'dlik: error:'); a shard with nothing to score -> its empty CSV, exit 0."""

from __future__ import annotations

import pandas as pd
import pytest

from dlik.engine.solve import SolverSpec
from dlik.experiments.sanity_gaussian import SanityGaussian
from dlik.models.gaussian import GaussianAdapter
from dlik.scoring.outcome import RunFailed, failure, most_common_error
from dlik.scoring.runner import ScoreSettings
from dlik.scoring.study_run import read_results, run_study

FAST = ScoreSettings(solver=SolverSpec("euler", step_size=0.5, t_start=0.5), batch_size=4)


class _Broken(GaussianAdapter):
    """The Gaussian whose odd samples fail with one error and sample 0 with another."""

    def prepare(self, job):
        k = int(job.sample_id.split("-")[1])
        if k == 0:
            raise ValueError("first sample unreadable")
        raise ValueError("wav file is truncated")


def test_most_common_error_counts_rows_not_ok():
    df = pd.DataFrame({"status": ["ok", "error", "error", "nonfinite"],
                       "error": ["", "boom", "boom", "NaN drift"]})
    assert most_common_error(df) == (3, 2, "boom")
    assert failure(df) is None  # one row is ok and the table was made
    assert "most common error (2 rows): boom" in str(failure(df, ValueError("no table")))


def test_all_failed_run_names_the_most_common_error(tmp_path):
    with pytest.raises(RunFailed) as info:
        run_study(SanityGaussian(n_samples=3), _Broken(dim=4), FAST, tmp_path, "sanity_gaussian",
                  "h", progress=False)
    assert str(info.value).startswith("3 of 3 rows failed; most common error (2 rows): ")
    assert "wav file is truncated" in str(info.value)
    assert len(read_results(tmp_path / "results.csv")) == 3  # the error rows are kept


def test_empty_shard_writes_its_empty_csv_and_returns(tmp_path, capsys):
    path, stats = run_study(SanityGaussian(n_samples=2), GaussianAdapter(dim=4), FAST, tmp_path,
                            "sanity_gaussian", "h", shard=(3, 4), progress=False)
    assert path.name == "results.shard3of4.csv" and stats.scored == 0
    df = read_results(path)
    assert len(df) == 0 and "sample_id" in df.columns
    assert "nothing to score: shard 3/4" in capsys.readouterr().out.strip().splitlines()[-1]
