"""dlik attribute / dlik elbo: a study's jobs through the attribution or the ELBO ranker.

Both take dlik run's Hydra overrides (experiment=NAME ...) after their own options and write a
CSV beside the study's results.csv (outputs/<experiment>/<run_name>/), so `dlik tables` can
read it with the exact results.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

EXCLUDED = ("experiment", "resume", "device", "progress", "run_name", "batch_size", "shard",
            "paths.output_root")


def build_study(overrides: list[str]):
    """Return (cfg, adapter, study, settings) of dlik run's config with these overrides."""
    import inspect

    from hydra import compose, initialize_config_dir
    from hydra.utils import get_class, instantiate

    from .cli import CONFIG_DIR, experiments, register_resolvers, resolve_device
    from .cli import settings_from_config

    register_resolvers()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    if cfg.experiment_name is None or cfg.study is None:
        raise SystemExit(f"dlik: error: pick an experiment: experiment must be one of "
                         f"{experiments()}")
    adapter = instantiate(cfg.model, device=str(resolve_device(str(cfg.device))))
    data = instantiate(cfg.data) if cfg.data and "_target_" in cfg.data else None
    study_cls = get_class(cfg.study["_target_"])
    extra = {"adapter": adapter} if "adapter" in inspect.signature(study_cls).parameters else {}
    return cfg, adapter, instantiate(cfg.study, data=data, **extra), settings_from_config(cfg)


def default_out(cfg, overrides: list[str], name: str) -> Path:
    """Return outputs/<experiment>/<run_name>/<name>, run_name as dlik run derives it."""
    from .cli import run_name_from_overrides

    keys = {o: o.lstrip("+~").split("=")[0] for o in overrides}
    run = next((o.split("=", 1)[1] for o, k in keys.items() if k == "run_name"), None)
    kept = sorted(o for o, k in keys.items() if k not in EXCLUDED)
    root = Path(cfg.paths.output_root)
    return root / str(cfg.experiment_name) / (run or run_name_from_overrides(",".join(kept))) / name


def _provenance(cfg, adapter, settings) -> dict:
    from .io.provenance import dlik_version, git_commit

    return {"experiment": str(cfg.experiment_name), "model_id": adapter.model_id,
            "checkpoint_hash": adapter.weights_hash(), **settings.solver.columns(),
            "seed": settings.seed, "dlik_version": dlik_version(), "git_commit": git_commit()}


def _write(rows: list[dict], prov: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([{**prov, **r} for r in rows])
    df.to_csv(out, index=False)
    bad = int((df["status"] != "ok").sum()) if "status" in df else 0
    print(f"[dlik] {len(df)} rows ({bad} not ok) -> {out}")


def main_attribute(argv: list[str]) -> int:
    """CLI: dlik attribute [--reference own] [--bins K | --edges ...] [--transport] OVERRIDES."""
    from .attribute import attribution_rows
    from .engine.attribution import check_edges, uniform_edges

    ap = argparse.ArgumentParser(prog="dlik attribute", description=__doc__)
    ap.add_argument("--reference", default="own", help="condition_id whose path is shared")
    ap.add_argument("--bins", type=int, default=10, help="uniform t-bins over the solver's "
                    "[t_start, t_end]")
    ap.add_argument("--edges", type=float, nargs="+", help="explicit bin edges in t")
    ap.add_argument("--transport", action="store_true", help="also the transport term (a "
                    "second pass; needs the 'score' capability)")
    ap.add_argument("--out", type=Path, help="default: beside results.csv, attribution.csv")
    args, overrides = ap.parse_known_args(argv)
    cfg, adapter, study, settings = build_study(overrides)
    s = settings.solver
    edges = check_edges(args.edges) if args.edges else uniform_edges(s.t_start, s.t_end,
                                                                      args.bins)
    rows = attribution_rows(adapter, study.jobs(), args.reference, edges, settings,
                            transport=args.transport)
    _write(rows, _provenance(cfg, adapter, settings),
           args.out or default_out(cfg, overrides, "attribution.csv"))
    return 0


def main_elbo(argv: list[str]) -> int:
    """CLI: dlik elbo [--rounds 8,8,16] [--prune-z 3] OVERRIDES: ELBO rows of a study."""
    from .estimators.elbo import ElboSpec
    from .estimators.rank import elbo_rows

    ap = argparse.ArgumentParser(prog="dlik elbo", description=__doc__)
    ap.add_argument("--rounds", default="8,8,16", help="draws per pruning round (even ints)")
    ap.add_argument("--prune-z", type=float, default=3.0, help="<= 0 never prunes")
    ap.add_argument("--out", type=Path, help="default: beside results.csv, elbo.csv")
    args, overrides = ap.parse_known_args(argv)
    cfg, adapter, study, settings = build_study(overrides)
    try:
        spec = ElboSpec(rounds=tuple(int(r) for r in args.rounds.split(",")),
                        prune_z=args.prune_z if args.prune_z > 0 else None,
                        t_start=settings.solver.t_start, t_end=settings.solver.t_end,
                        seed=settings.seed, batch_size=settings.batch_size)
    except ValueError as exc:
        raise SystemExit(f"dlik elbo: error: {exc}") from None
    rows = elbo_rows(adapter, study.jobs(), spec)
    prov = {**_provenance(cfg, adapter, settings), "estimator": "elbo"}
    _write(rows, prov, args.out or default_out(cfg, overrides, "elbo.csv"))
    return 0
