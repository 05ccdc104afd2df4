"""What dlik attribute and dlik elbo share: the study of dlik run's Hydra overrides, and its
rows written as a CSV beside the study's results.csv (outputs/<experiment>/<run_name>/), so
`dlik tables` can read it with the exact results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..io.provenance import dlik_version, git_commit
from .config import (CONFIG_DIR, build_study, resolve_device, run_name_from_overrides,
                     settings_from_config)


def excluded_keys(config_dir: Path | None = None) -> tuple[str, ...]:
    """Return the override keys Hydra leaves out of a run's folder name: config.yaml's
    hydra.job.config.override_dirname.exclude_keys, read where dlik run reads it."""
    import yaml

    cfg = yaml.safe_load(((config_dir or CONFIG_DIR) / "config.yaml").read_text()) or {}
    node = cfg.get("hydra", {}).get("job", {}).get("config", {}).get("override_dirname", {})
    return tuple(node.get("exclude_keys", ()))


def study_from_overrides(overrides: list[str], prog: str = "dlik"):
    """Return (cfg, adapter, study, settings) of dlik run's config with these overrides
    (refused in one line, exit 2, when the config is bad: before the model loads)."""
    from hydra.utils import instantiate

    from ..validation.compose import compose_config, parse_overrides
    from ..validation.refusal import Refused
    from ..validation.run_config import check_run_config

    flags = [o for o in overrides if o.startswith("-")]
    if flags:
        raise Refused(prog, f"unrecognized option {flags[0]!r} (see {prog} --help)")
    parse_overrides(overrides, multirun=False)
    cfg = compose_config(overrides, prog)
    check_run_config(cfg, prog)
    adapter = instantiate(cfg.model, device=str(resolve_device(str(cfg.device))))
    return cfg, adapter, build_study(cfg, lambda: adapter), settings_from_config(cfg)


def default_out(cfg, overrides: list[str], name: str) -> Path:
    """Return outputs/<experiment>/<run_name>/<name>, run_name as dlik run derives it."""
    keys = {o: o.lstrip("+~").split("=")[0] for o in overrides}
    run = next((o.split("=", 1)[1] for o, k in keys.items() if k == "run_name"), None)
    excluded = excluded_keys()
    kept = sorted(o for o, k in keys.items() if k not in excluded)
    root = Path(cfg.paths.output_root)
    return root / str(cfg.experiment_name) / (run or run_name_from_overrides(",".join(kept))) / name


def provenance(cfg, adapter, settings) -> dict:
    """Return the provenance columns of these rows (as dlik run's, without config_hash)."""
    return {"experiment": str(cfg.experiment_name), "model_id": adapter.model_id,
            "checkpoint_hash": adapter.weights_hash(), **settings.solver.columns(),
            "seed": settings.seed, "dlik_version": dlik_version(), "git_commit": git_commit()}


def write_rows(rows: list[dict], prov: dict, out: Path) -> None:
    """Write rows, each under the provenance columns, as the CSV out."""
    out.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame([{**prov, **r} for r in rows])
    df.to_csv(out, index=False)
    bad = int((df["status"] != "ok").sum()) if "status" in df else 0
    print(f"[dlik] {len(df)} rows ({bad} not ok) -> {out}")
