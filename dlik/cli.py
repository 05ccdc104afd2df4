"""dlik command line: run (Hydra), tables, merge, bench. The only place that sees DictConfig."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

CONFIG_DIR = Path(
    os.environ.get("DLIK_CONFIG_DIR", Path(__file__).resolve().parents[1] / "configs"))
SCIENTIFIC_KEYS = ("experiment_name", "study", "model", "data", "solver", "seed")


def run_name_from_overrides(override_dirname: str) -> str:
    """Return 'default' for no overrides, else a filesystem-safe name (hashed when long)."""
    if not override_dirname:
        return "default"
    slug = re.sub(r"[^A-Za-z0-9_.,=+-]+", "_", override_dirname)
    if len(slug) <= 80:
        return slug
    return slug[:60] + "-" + hashlib.sha256(override_dirname.encode()).hexdigest()[:12]


def register_resolvers() -> None:
    """Register dlik's OmegaConf resolvers (idempotent)."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("dlik_run_name"):
        OmegaConf.register_new_resolver("dlik_run_name", run_name_from_overrides)


def resolve_device(name: str):
    """Return a torch.device for 'auto' | 'cpu' | 'cuda[:N]' (auto = cuda when available)."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", str(name)):
        raise ValueError(f"device must be one of auto, cpu, cuda, cuda:N, mps; got {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={name!r} but CUDA is not available; use device=auto or cpu")
    return torch.device(name)


def experiments() -> list[str]:
    """Return the experiment names found in configs/experiment."""
    return sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))


def _int(cfg, key: str) -> int:
    try:
        return int(cfg[key])
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be an integer, got {cfg[key]!r}") from None


def settings_from_config(cfg):
    """Return ScoreSettings from the solver group and top-level keys of a DictConfig."""
    from omegaconf import OmegaConf

    from .engine.solve import SolverSpec
    from .runner import ScoreSettings

    spec = SolverSpec.from_mapping(OmegaConf.to_container(cfg.solver, resolve=True))
    return ScoreSettings(solver=spec, seed=_int(cfg, "seed"), batch_size=_int(cfg, "batch_size"))


def solver_preset(name: str, **overrides):
    """Return the SolverSpec of configs/solver/<name>.yaml (over base.yaml), with overrides."""
    from dataclasses import replace

    from omegaconf import OmegaConf

    from .engine.solve import SolverSpec

    names = sorted(p.stem for p in (CONFIG_DIR / "solver").glob("*.yaml"))
    if name not in names:
        raise ValueError(f"solver preset must be one of {names}, got {name!r}")
    node = OmegaConf.load(CONFIG_DIR / "solver" / f"{name}.yaml")
    parents = [d for d in node.pop("defaults", []) if d != "_self_"]
    merged = OmegaConf.merge(*(OmegaConf.load(CONFIG_DIR / "solver" / f"{d}.yaml")
                               for d in parents), node)
    spec = SolverSpec.from_mapping(OmegaConf.to_container(merged, resolve=True))
    return replace(spec, **overrides) if overrides else spec


def _build(group: str, node, **kw):
    """Instantiate a config group, re-raising Hydra's wrapper as the error it wraps."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate(node, **kw)
    except InstantiationException as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, (ValueError, OSError)):
            raise type(cause)(f"{group}: {cause}") from cause
        raise


def run_from_config(cfg, out_dir: Path):
    """Instantiate model, data and study from cfg and run the study into out_dir."""
    import inspect

    from hydra.utils import get_class
    from omegaconf import OmegaConf

    from .io.lock import hold, lock_path
    from .io.provenance import config_hash
    from .run_study import results_name, run_study
    from .runner import parse_shard

    if cfg.experiment_name is None or cfg.study is None:
        raise ValueError(f"pick an experiment: experiment must be one of {experiments()}")
    device = resolve_device(str(cfg.device))
    settings = settings_from_config(cfg)
    shard = parse_shard(cfg.shard)
    # take the results file's lock before loading anything: a second run is refused at once
    with hold(lock_path(out_dir / results_name(shard))):
        adapter = _build("model", cfg.model, device=str(device))
        data = _build("data", cfg.data) if cfg.data and "_target_" in cfg.data else None
        study_cls = get_class(cfg.study["_target_"])
        extra = ({"adapter": adapter} if "adapter" in inspect.signature(study_cls).parameters
                 else {})
        study = _build("study", cfg.study, data=data, **extra)
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


def _hydra_run(argv: list[str]) -> int:
    import hydra
    from hydra.core.hydra_config import HydraConfig

    register_resolvers()
    if not CONFIG_DIR.is_dir():
        raise SystemExit(f"dlik: config dir {CONFIG_DIR} not found (set DLIK_CONFIG_DIR)")

    @hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
    def _main(cfg) -> None:
        from .io.lock import LockHeld
        from .io.writer import ResultsWriteError
        from .run_study import RunInterrupted

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
            raise SystemExit(f"dlik: error: {exc}") from None

    sys.argv = ["dlik run", *argv]
    _main()
    return 0


def _tables(argv: list[str]) -> int:
    from .analysis.cli import main as tables_main

    return tables_main(argv)


def _merge(argv: list[str]) -> int:
    from .io.merge import main as merge_main

    return merge_main(argv)


def _report(argv: list[str]) -> int:
    from .analysis.report import main as report_main

    return report_main(argv)


def _bench(argv: list[str]) -> int:
    from .bench import main as bench_main

    return bench_main(argv)


def _attribute(argv: list[str]) -> int:
    from .beyond_cli import main_attribute

    return main_attribute(argv)


def _elbo(argv: list[str]) -> int:
    from .beyond_cli import main_elbo

    return main_elbo(argv)


COMMANDS = {
    "run": (_hydra_run, "run an experiment: dlik run experiment=NAME [overrides] (--help)"),
    "tables": (_tables, "paper tables from results CSVs: dlik tables --help"),
    "merge": (_merge, "join sharded results: dlik merge DIR [--out results.csv]"),
    "report": (_report, "markdown + HTML report with plots from run dirs: dlik report DIR..."),
    "bench": (_bench, "engine benchmark, paper protocol vs fast path: dlik bench --help"),
    "attribute": (_attribute, "time-resolved attribution of a study: dlik attribute --help"),
    "elbo": (_elbo, "ELBO ranker on a study's candidates: dlik elbo --help"),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the dlik command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        lines = [f"  {name:<7} {help_}" for name, (_, help_) in COMMANDS.items()]
        print("usage: dlik COMMAND [args]\n\ncommands:\n" + "\n".join(lines))
        print("\nexperiments: " + ", ".join(experiments()))
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\ndlik: error: command must be one of {list(COMMANDS)}, got {argv[0]!r}")
            return 2
        return 0
    fn, _ = COMMANDS[argv[0]]
    return fn(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
