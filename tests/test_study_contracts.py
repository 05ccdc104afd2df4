"""The contracts a second modality relies on: cond=None drift, undeclared columns, cheap job
listing, sample-wise shards, derived columns recomputed at merge, one SolverSpec, capabilities."""

from __future__ import annotations

from dataclasses import replace

import math

import pandas as pd
import pytest
import torch

from dlik.engine.solve import SOLVER_COLUMNS, SolverSpec
from dlik.scoring.outcome import RunFailed
from dlik.io.merge import merge_results
from dlik.models.base import Job, Prepared, require
from dlik.models.gaussian import AnalyticGaussianSDE
from dlik.models.schedules import LinearBetaSchedule
from dlik.scoring.study_run import run_study
from dlik.scoring.runner import Runner, ScoreSettings, in_shard


class Unconditional:
    """x0 ~ N(0, s^2 I) under the VP SDE towards 0, exact score; drift takes cond=None."""

    model_id, device = "uncond", torch.device("cpu")
    capabilities: frozenset[str] = frozenset()
    columns = ("exact_bpd",)

    def __init__(self, dim: int = 6, s: float = 0.7, extra: dict | None = None) -> None:
        self.sde = AnalyticGaussianSDE(LinearBetaSchedule())
        self.dim, self.s, self.extra = dim, s, extra
        self.seen: list = []

    def weights_hash(self) -> str:
        return "none"

    def prepare(self, job: Job) -> Prepared:
        g = torch.Generator().manual_seed(int(job.sample_id[1:]))
        x0 = self.s * torch.randn(self.dim, generator=g, dtype=torch.float64)
        var = self.s**2
        exact = float(-0.5 * (x0 * x0).sum() / var - self.dim * 0.5 * math.log(2 * math.pi * var))
        cols = {"exact_bpd": -exact / (self.dim * math.log(2)), **(self.extra or {})}
        t1 = torch.tensor([1.0], dtype=torch.float64)
        z = torch.zeros(1, self.dim, dtype=torch.float64)
        mean1, var1 = self.sde.marginal(t1, z, torch.full_like(z, self.s), z)
        return Prepared(x0=x0, prior_mean=mean1[0], prior_std=var1[0].sqrt(), columns=cols)

    def drift(self, x, t, cond):
        self.seen.append(cond)
        z = torch.zeros_like(x)
        return self.sde.drift(x, t, {"m": z, "s": torch.full_like(x, self.s), "mu": z})


class TwoConditions:
    """A study with an own/other pair per sample and a derived column (delta_bpd)."""

    key_columns = ["text_variant"]
    extra_columns: list[str] = []
    derived_columns = ["delta_bpd"]
    table = "sanity_gaussian"

    def __init__(self, n: int = 6) -> None:
        self.n, self.listed = n, 0

    def jobs(self) -> list[Job]:
        self.listed += 1
        return [Job(f"s{i}", v, {"text_variant": v}) for i in range(self.n)
                for v in ("own", "other")]

    def derive(self, df: pd.DataFrame) -> pd.DataFrame:
        from dlik.derived import derive_columns

        return derive_columns(df, self.derived_columns)


def test_unconditional_adapter_gets_cond_none_and_exact_value():
    ad = Unconditional()
    rows: list[dict] = []
    Runner(ad, ScoreSettings(solver=SolverSpec(estimator="exact", atol=1e-7, rtol=1e-7),
                             batch_size=3), rows.append, progress=False).run(
        [Job(f"s{i}", "c") for i in range(5)])
    assert ad.seen and all(c is None for c in ad.seen)
    assert [r["status"] for r in rows] == ["ok"] * 5
    assert max(abs(r["bpd"] - r["exact_bpd"]) for r in rows) < 1e-4


def test_undeclared_column_is_an_error_row_not_an_abort(tmp_path):
    study = TwoConditions(n=2)
    study.table = "sanity_gaussian"
    ad = Unconditional(extra={"surprise": 1})
    with pytest.raises(RunFailed, match="surprise"):  # every row failed: the run says why
        run_study(study, ad, ScoreSettings(solver=SolverSpec("euler", step_size=0.25)),
                  tmp_path, "t", "h", progress=False)
    df = pd.read_csv(tmp_path / "results.csv")
    assert len(df) == 4 and (df["status"] == "error").all()
    assert df["error"].str.contains("surprise").all() and df["bpd"].notna().all()


def test_shards_keep_a_samples_conditions_together():
    jobs = TwoConditions(n=40).jobs()
    for n in (2, 3, 5):
        owner = {}
        for j in jobs:
            (shard,) = [i for i in range(n) if in_shard(j, (i, n))]
            assert owner.setdefault(j.sample_id, shard) == shard


def test_sharded_runs_merge_to_the_unsharded_csv(tmp_path):
    settings = ScoreSettings(solver=SolverSpec("rk4", step_size=0.1), batch_size=4)
    full, _ = run_study(TwoConditions(), Unconditional(), settings, tmp_path / "full", "t", "h",
                        progress=False)
    parts = [run_study(TwoConditions(), Unconditional(), settings, tmp_path / "sh", "t", "h",
                       shard=(i, 2), progress=False)[0] for i in range(2)]
    merged = merge_results(parts).set_index(["sample_id", "condition_id"]).sort_index()
    ref = pd.read_csv(full, dtype={"sample_id": str}).set_index(
        ["sample_id", "condition_id"]).sort_index()
    for c in ("logp_nats", "bpd", "delta_bpd", "nfe"):
        assert (merged[c].to_numpy() == ref[c].to_numpy()).all(), c


def test_merge_recomputes_derived_columns_across_shards(tmp_path):
    """Rows split so that a sample's own-text row is in the other file (as hash-by-key
    sharding did): merge must fill delta_bpd from the joined rows."""
    df = pd.DataFrame({"sample_id": ["a", "a", "b", "b"], "condition_id": ["own", "x"] * 2,
                       "text_variant": ["own", "other"] * 2, "bpd": [1.0, 1.5, 2.0, 1.75],
                       "status": "ok", "delta_bpd": float("nan")})
    df.iloc[[0, 3]].to_csv(tmp_path / "p0.csv", index=False)
    df.iloc[[1, 2]].to_csv(tmp_path / "p1.csv", index=False)
    m = merge_results([tmp_path / "p0.csv", tmp_path / "p1.csv"]).set_index(
        ["sample_id", "condition_id"])
    assert m.loc[("a", "x"), "delta_bpd"] == 0.5 and m.loc[("b", "x"), "delta_bpd"] == -0.25
    assert m.loc[("a", "own"), "delta_bpd"] == 0.0


def test_listing_is_cheap_heavy_stage_runs_only_after_resume_filter():
    calls: list[str] = []

    def stage(sid):
        calls.append(sid)
        return {}, {}

    jobs = [Job(f"s{i}", "c", stage=lambda i=i: stage(f"s{i}")) for i in range(4)]
    assert calls == []  # listing did no work
    rows: list[dict] = []
    Runner(Unconditional(), ScoreSettings(solver=SolverSpec("euler", step_size=0.5)),
           rows.append, progress=False).run(jobs, done={("s0", "c"), ("s2", "c")})
    assert calls == ["s1", "s3"] and len(rows) == 2


def test_failing_stage_is_an_error_row():
    def boom():
        raise RuntimeError("vocoder exploded")

    rows: list[dict] = []
    Runner(Unconditional(), ScoreSettings(solver=SolverSpec("euler", step_size=0.5)),
           rows.append, progress=False).run([Job("s1", "c", stage=boom), Job("s2", "c")])
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert "vocoder exploded" in rows[0]["error"]


def test_solver_spec_is_the_one_source():
    spec = SolverSpec.from_mapping({"method": "rk4", "step_size": "0.02", "atol": "1e-4",
                                    "n_probes": 2})
    assert spec.step_size == 0.02 and spec.n_probes == 2
    assert tuple(spec.columns()) == SOLVER_COLUMNS
    with pytest.raises(ValueError, match="unknown solver setting.*'tol'"):
        SolverSpec.from_mapping({"tol": 1e-3})
    with pytest.raises(ValueError, match="estimator must be one of"):
        SolverSpec(estimator="hutch")
    with pytest.raises(ValueError, match="t_start < t_end"):
        SolverSpec(t_start=1.0, t_end=0.5)


def test_solver_presets_compose_over_the_base():
    from hydra import compose, initialize_config_dir

    from dlik.commands.config import CONFIG_DIR, register_resolvers, settings_from_config

    register_resolvers()
    presets = sorted(p.stem for p in (CONFIG_DIR / "solver").glob("*.yaml"))
    assert {"base", "dopri5_1e-3", "dopri5_1e-5", "rk4_50steps", "paper"} <= set(presets)
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        specs = {p: settings_from_config(compose("config", [f"solver={p}"])).solver
                 for p in presets}
    assert specs["dopri5_1e-3"].atol == 1e-3 and specs["dopri5_1e-5"].atol == 1e-5
    assert specs["rk4_50steps"].step_size == 0.02 and specs["rk4_50steps"].method == "rk4"
    assert specs["paper"].resolved_integrator == "torchdiffeq"
    # two probes (bpd_se) in the paired presets of the conditional studies, one elsewhere
    two = {"rk4_25steps", "dopri5_1e-5_2probes"}
    assert {p: s.n_probes for p, s in specs.items()} == {p: 2 if p in two else 1 for p in presets}
    assert specs["dopri5_1e-5_2probes"].atol == 1e-5 and specs["rk4_25steps"].step_size == 0.04
    from dlik.commands.config import solver_preset  # bench / the Python API: same presets

    # a run resolves net_batch null to its batch_size (configs/config.yaml); the presets keep null
    assert {p: replace(solver_preset(p), net_batch=s.net_batch) for p, s in specs.items()} == specs
    assert {s.net_batch for s in specs.values()} == {16}
    assert {solver_preset(p).net_batch for p in presets} == {None}
    # TTS presets start at 1e-5; the SDXL protocol at SDXL's first trained timestep
    assert all(s.t_start == 1e-5 for p, s in specs.items() if p != "paper_tti")
    assert specs["paper_tti"].t_start == 1e-3 and specs["paper_tti"].atol == 1e-3
    assert specs["paper_tti"].resolved_integrator == "torchdiffeq"


def test_capabilities_are_declared_not_guessed():
    ad = Unconditional()
    with pytest.raises(ValueError, match="does not support 'sample'"):
        require(ad, "sample")
    with pytest.raises(ValueError, match="capability must be one of"):
        require(ad, "fly")
    # a null row (pmi) on a model without a null condition: refused before any row is scored
    rows: list = []
    jobs = [Job("s0", "own"), Job("s0", "null_condition", payload={"null_condition": True})]
    with pytest.raises(ValueError, match="uncond does not support 'null_condition'"):
        Runner(ad, ScoreSettings(solver=SolverSpec("dopri5", 1e-3, 1e-3)), rows.append,
               progress=False).run(jobs)
    assert rows == [] and ad.seen == []
