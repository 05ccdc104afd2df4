"""dlik bench on the analytic Gaussian: the record's numbers agree with each other and the
reference cache is reused only when it matches."""

from __future__ import annotations

import json

import pytest

from dlik.commands.bench import main
from dlik.scoring.bench import bench
from dlik.engine.solve import SolverSpec
from dlik.models.base import Job
from dlik.models.gaussian import GaussianAdapter


def _setup(n: int = 3):
    ad = GaussianAdapter(dim=32, prior="terminal", dtype="float32")
    return ad, [Job(f"bench-{i:04d}", "analytic") for i in range(n)]


def test_bench_record_and_reference_cache(tmp_path):
    ad, jobs = _setup()
    fast = SolverSpec("dopri5", 1e-3, 1e-3, "batched", time_change="sqrt")
    cache = tmp_path / "ref.json"
    rec = bench(ad, jobs, batch_size=3, fast=fast, ref_tol=1e-6, ref_cache=cache)
    assert rec["samples"] == 3 and rec["nfe_per_sample_fast"] < rec["nfe_per_sample_paper"]
    assert rec["speedup_from_nfe"] == rec["nfe_per_sample_paper"] / rec["nfe_per_sample_fast"]
    # triangle inequality between the three paired bpd vectors
    assert rec["max_abs_dbpd_fast_vs_paper"] <= (
        rec["max_abs_dbpd_fast_vs_ref"] + rec["max_abs_dbpd_paper_vs_ref"] + 1e-12)
    assert rec["max_abs_dbpd_paper_vs_ref"] < 1e-4
    stored = json.loads(cache.read_text())
    assert [row[:2] for row in stored["bpd"]] == [[j.sample_id, j.condition_id] for j in jobs]
    stored["bpd"] = [[*row[:2], row[2] + 0.5] for row in stored["bpd"]]  # a cache we can recognise
    cache.write_text(json.dumps(stored))
    again = bench(ad, jobs, batch_size=3, fast=fast, ref_tol=1e-6, ref_cache=cache)
    assert abs(again["max_abs_dbpd_paper_vs_ref"] - 0.5) < 1e-4  # reused, not recomputed
    other = bench(ad, jobs, batch_size=3, fast=fast, ref_tol=1e-7, ref_cache=cache)
    assert other["max_abs_dbpd_paper_vs_ref"] < 1e-4  # different ref_tol: recomputed
    assert "atol=1e-07" in json.loads(cache.read_text())["solver"]


def test_bench_cli_prints_one_json_line(capsys):
    assert main(["--samples", "2", "--batch-size", "2", "--dim", "16", "--atol", "1e-3",
                 "--rtol", "1e-3", "--ref-tol", "1e-6"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["model"].startswith("analytic_gaussian(dim=16")


def test_bench_cli_fixed_steps(capsys):
    """--step-size runs the fast path on fixed steps: rk4, h = 0.05: 20 steps of 4 NFE."""
    assert main(["--samples", "2", "--batch-size", "2", "--dim", "16", "--method", "rk4",
                 "--step-size", "0.05", "--ref-tol", "1e-6"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["fast_solver"] == ("batched/rk4/step_size=0.05/time_change=none/probes=shared/"
                                  "steps=shared/t_start=1e-05")
    assert rec["nfe_per_sample_fast"] == 80
    assert rec["max_abs_dbpd_fast_vs_ref"] < 1e-3


def test_bench_paper_tolerance_is_an_option(capsys):
    """--paper-tol sets the paper protocol's tolerance (SDXL's runs used 1e-3); the record
    names the protocol it timed."""
    assert main(["--samples", "2", "--batch-size", "2", "--dim", "16", "--paper-tol", "1e-3",
                 "--ref-tol", "1e-6"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["paper_solver"] == ("torchdiffeq/dopri5/atol=0.001/rtol=0.001/time_change=none/"
                                   "probes=independent/steps=own/t_start=1e-05")


@pytest.mark.parametrize("name, model_id", [("sdxl", "sdxl:embedded_tiny"),
                                            ("sd3", "sd3:embedded_tiny")])
def test_bench_image_jobs_are_one_image_under_distinct_prompts(name, model_id):
    """dlik bench --model sdxl / sd3: one held-out image, its own caption first, then others,
    scored by the embedded model of that family."""
    from types import SimpleNamespace

    from dlik.commands.bench import MODELS

    ad, jobs = MODELS[name](SimpleNamespace(samples=16, device="cpu"))
    prompts = [j.payload["prompt"] for j in jobs]
    assert len(jobs) == 16 and len(set(prompts)) == 16
    assert len({j.sample_id for j in jobs}) == 1
    assert len({j.payload["image_path"] for j in jobs}) == 1
    assert prompts[0] == "a red cube" and ad.model_id == model_id
    with pytest.raises(SystemExit, match="1..24"):
        MODELS[name](SimpleNamespace(samples=25, device="cpu"))


def test_bench_reports_the_error_of_differences_side_by_side():
    """Several conditions per sample: the record gives the error of the differences against
    the first condition, for the paper protocol and the fast path, with both wall times."""
    from dlik.scoring.bench import bench
    from dlik.engine.solve import SolverSpec
    from dlik.models.base import Job
    from dlik.models.gaussian import GaussianAdapter

    ad = GaussianAdapter(dim=6, cond_scale=0.5)
    jobs = [Job(f"s{i}", c) for i in range(2) for c in ("own", "c1", "c2")]
    rec = bench(ad, jobs, 4, SolverSpec("rk4", step_size=0.05), ref_tol=1e-6, paper_tol=1e-4)
    for k in ("max_abs_ddelta_paper_vs_ref", "rms_ddelta_paper_vs_ref",
              "max_abs_ddelta_fast_vs_ref", "rms_ddelta_fast_vs_ref", "wall_paper_s",
              "wall_fast_s"):
        assert rec[k] >= 0, k
    assert rec["max_abs_ddelta_fast_vs_ref"] < 1e-3  # rk4 20 steps, the same probes
    # two Gaussian probes (the Gaussian model's divergence is exact under Rademacher): the
    # reference draws fast's probes, so only the solver's error is left
    two = bench(ad, jobs, 4, SolverSpec("rk4", step_size=0.05, estimator="gaussian",
                                        n_probes=2), ref_tol=1e-6, paper_tol=1e-4)
    assert two["max_abs_dbpd_fast_vs_ref"] < 1e-3 and two["fast_solver"].endswith("n_probes=2")
