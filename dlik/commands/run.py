"""dlik run experiment=NAME [overrides]: score a study into outputs/<experiment>/<run_name>/
(Hydra composes the config; --help lists the config groups)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .config import (CONFIG_DIR, build_study, experiments, instantiate_group, register_resolvers,
                     resolve_device, settings_from_config)

SCIENTIFIC_KEYS = ("experiment_name", "study", "model", "data", "solver", "seed")


def run_from_config(cfg, out_dir: Path):
    """Instantiate model, data and study from cfg and run the study into out_dir."""
    from omegaconf import OmegaConf

    from ..io.lock import hold, lock_path
    from ..io.provenance import config_hash
    from ..scoring.runner import parse_shard
    from ..scoring.study_run import results_name, run_study

    if cfg.experiment_name is None or cfg.study is None:
        raise ValueError(f"pick an experiment: experiment must be one of {experiments()}")
    device = resolve_device(str(cfg.device))
    settings = settings_from_config(cfg)
    shard = parse_shard(cfg.shard)
    # take the results file's lock before loading anything: a second run is refused at once
    with hold(lock_path(out_dir / results_name(shard))):
        adapter = instantiate_group("model", cfg.model, device=str(device))
        study = build_study(cfg, lambda: adapter, instantiate_group)
        sci = {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k])
               else cfg[k] for k in SCIENTIFIC_KEYS}
        return run_study(study, adapter, settings, out_dir, str(cfg.experiment_name),
                         config_hash(sci), resume=bool(cfg.resume), shard=shard,
                         progress=bool(cfg.progress),
                         config_yaml=OmegaConf.to_yaml(cfg, resolve=True))


def _command() -> str:
    """Return the dlik run command line of this process, quoted for a shell."""
    import shlex

    return shlex.join(["dlik", "run", *sys.argv[1:]])


def main(argv: list[str]) -> int:
    """CLI: dlik run experiment=NAME [overrides] (Hydra); returns the exit code."""
    import hydra
    from hydra.core.hydra_config import HydraConfig

    from ..validation.compose import precheck_run
    from ..validation.refusal import one_line
    from ..validation.run_config import check_run_config

    register_resolvers()
    if not CONFIG_DIR.is_dir():
        raise SystemExit(f"dlik: config dir {CONFIG_DIR} not found (set DLIK_CONFIG_DIR)")
    checked = precheck_run(argv)  # refuses a bad config in one line, exit 2, before Hydra

    @hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
    def _main(cfg) -> None:
        from ..io.lock import LockHeld
        from ..io.writer import ResultsWriteError
        from ..scoring.study_run import RunInterrupted

        if not checked:  # a multirun's job: its config is checked here, once
            check_run_config(cfg)
        try:
            run_from_config(cfg, Path(HydraConfig.get().runtime.output_dir))
        except RunInterrupted as exc:
            print(f"dlik: {exc}:\n  {_command()}", file=sys.stderr)
            raise SystemExit(128 + exc.signum) from None
        except KeyboardInterrupt:
            print("dlik: interrupted before scoring began; nothing was written",
                  file=sys.stderr)
            raise SystemExit(130) from None
        except (ValueError, OSError, LockHeld, ResultsWriteError) as exc:
            if os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            raise SystemExit(one_line(f"dlik: error: {exc}", 400)) from None

    sys.argv = ["dlik run", *argv]
    _main()
    return 0
