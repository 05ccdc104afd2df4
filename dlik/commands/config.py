"""Hydra configs for the commands: the configs folder, the run-name resolver, and the objects a
composed config builds (device, score settings, solver presets, model, data and study).

With the command modules, the only code that sees a DictConfig."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(
    os.environ.get("DLIK_CONFIG_DIR", Path(__file__).resolve().parents[2] / "configs"))


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

    from ..engine.solve import SolverSpec
    from ..scoring.runner import ScoreSettings

    spec = SolverSpec.from_mapping(OmegaConf.to_container(cfg.solver, resolve=True))
    return ScoreSettings(solver=spec, seed=_int(cfg, "seed"), batch_size=_int(cfg, "batch_size"))


def solver_preset(name: str, **overrides):
    """Return the SolverSpec of configs/solver/<name>.yaml (over base.yaml), with overrides."""
    from dataclasses import replace

    from omegaconf import OmegaConf

    from ..engine.solve import SolverSpec

    names = sorted(p.stem for p in (CONFIG_DIR / "solver").glob("*.yaml"))
    if name not in names:
        raise ValueError(f"solver preset must be one of {names}, got {name!r}")
    def load(preset: str):  # the preset over its defaults (presets may build on presets)
        node = OmegaConf.load(CONFIG_DIR / "solver" / f"{preset}.yaml")
        parents = [d for d in node.pop("defaults", []) if d != "_self_"]
        return OmegaConf.merge(*(load(d) for d in parents), node)

    spec = SolverSpec.from_mapping(OmegaConf.to_container(load(name), resolve=True))
    return replace(spec, **overrides) if overrides else spec


def instantiate_group(group: str, node, **kw):
    """Return node instantiated, re-raising Hydra's wrapper as the error it wraps (ValueError
    and OSError get the group's name in front)."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate(node, **kw)
    except InstantiationException as exc:
        cause = exc.__cause__ or exc
        if isinstance(cause, (ValueError, OSError)):
            raise type(cause)(f"{group}: {cause}") from cause
        raise


def build_study(cfg, adapter: Callable[[], Any], build: Callable | None = None):
    """Return cfg.study built with cfg.data's data set (None without one), and with adapter()
    when the study class takes an adapter. build(group, node, **kw) instantiates a config
    group (default: hydra's instantiate; instantiate_group names the group in errors)."""
    import inspect

    from hydra.utils import get_class, instantiate

    build = build or (lambda group, node, **kw: instantiate(node, **kw))
    data = build("data", cfg.data) if cfg.get("data") and "_target_" in cfg.data else None
    study_cls = get_class(cfg.study["_target_"])
    extra = {"adapter": adapter()} if "adapter" in inspect.signature(study_cls).parameters else {}
    return build("study", cfg.study, data=data, **extra)
