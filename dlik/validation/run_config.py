"""dlik run's composed config checked once, before any model loads: the experiment and its
groups, every `_target_` and its settings, top-level numbers, the solver (SolverSpec's own
checks, reworded), model/data/study fit, and local paths (paths.py)."""

from __future__ import annotations

import inspect
import math
import re
from typing import Any

from .refusal import Refused, choices
from .study_needs import DATA_KINDS, KIND_NAMES, SINGLE_SPEAKER_CHECKPOINTS, STUDIES, Needs

PROG = "dlik run"
HYDRA_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}
MAX_PROBES = 1024
MIN_ADAPTIVE_STEPS = 10
SOLVER_NUMBERS = ("atol", "rtol", "t_start", "t_end", "step_size", "max_steps", "n_probes")


def group_names(group: str) -> list[str]:
    """Return the config names of a group folder (configs/<group>/*.yaml)."""
    from ..commands.config import CONFIG_DIR

    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def check_run_config(cfg, prog: str = PROG) -> None:
    """Refuse (Refused, exit 2) a composed dlik run config that would fail or score wrongly."""
    from omegaconf import OmegaConf

    def refuse(msg: str):
        return Refused(prog, msg)

    if cfg.get("experiment_name") is None or cfg.get("study") is None:
        raise refuse(f"pick an experiment: experiment must be one of "
                     f"{choices(group_names('experiment'), 130)}")
    for group in ("study", "model", "data", "solver"):
        node = cfg.get(group)
        if not OmegaConf.is_dict(node):
            shown = " removed" if node is None else f"={node!r}"[:30]
            hint = "set by the experiment" if group == "study" else \
                f"one of {choices(group_names(group), 80)}"
            raise refuse(f"{group}{shown}: it must be a config group ({hint})")
    plain = _resolved(cfg, refuse)
    _check_numbers(plain, refuse)
    classes = {g: _target_class(g, plain[g], refuse) for g in ("study", "model", "data")
               if plain[g] or g != "data"}
    _check_fit(plain, classes, refuse)
    for g, cls in classes.items():
        _check_settings(g, plain[g], cls, refuse)
    _check_top_level(plain, refuse)
    _check_solver(plain["solver"], refuse)
    from .paths import check_paths

    check_paths(plain, refuse)


UNRESOLVED = ("run_name", "hydra", "paths")
"""Top-level keys left as written (their interpolations need Hydra's runtime)."""


def _resolved(cfg, refuse) -> dict:
    """Return cfg as plain containers, interpolations resolved (refused when one fails)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    plain: dict = {}
    for key in cfg.keys():
        if key in UNRESOLVED:
            continue
        try:
            node = cfg[key]
            plain[key] = OmegaConf.to_container(node, resolve=True) \
                if OmegaConf.is_config(node) else node
        except OmegaConfBaseException as exc:
            raise refuse(f"{key}: an interpolation does not resolve "
                         f"({str(exc).splitlines()[0][:80]})") from None
    return plain


def _walk(node: Any, path: str):
    """Yield (dotted key, value) of every leaf and container of a plain config."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


COUNT_KEY = re.compile(r"^(n|k)_[a-z_]+$")


def _check_numbers(plain: dict, refuse) -> None:
    """Refuse non-finite numbers anywhere, empty selections, and counts < 1 in study/data."""
    for key, value in _walk(plain, ""):
        if isinstance(value, float) and not math.isfinite(value):
            raise refuse(f"{key}={value}: must be a finite number")
    for group in ("study", "data"):
        for key, value in _walk(plain[group], group):
            leaf = key.rsplit(".", 1)[-1]
            if isinstance(value, (list, dict)) and not value and "." in key:
                from .study_needs import study_choices

                known = study_choices(leaf)
                hint = f"; give one or more of {choices(known, 90)}" if known else \
                    "; give at least one, or drop the override for the default"
                raise refuse(f"{key}={'[]' if isinstance(value, list) else '{}'} selects "
                             f"nothing{hint}")
            if COUNT_KEY.match(leaf) and value is not None and not (
                    isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise refuse(f"{key}={value!r}: must be an integer >= 1 (or null where the "
                             "config says so)")
            if leaf == "max_seconds" and value is not None and not (
                    isinstance(value, (int, float)) and value > 0):
                raise refuse(f"{key}={value!r}: must be > 0 seconds, or null for no limit")


def _target_class(group: str, node: dict, refuse):
    """Return the class a group's _target_ names (refused when it does not import)."""
    target = node.get("_target_")
    if not isinstance(target, str) or not target:
        raise refuse(f"{group}._target_={target!r}: {group} needs a _target_ class path")
    try:
        return import_class(target)
    except Exception as exc:  # any import failure is the user's path
        pick = "experiment" if group == "study" else group
        raise refuse(f"{group}._target_={target!r} does not import "
                     f"({type(exc).__name__}); {pick} must be one of "
                     f"{choices(group_names(pick), 70)}") from None


def import_class(target: str):
    """Return the class at dotted path target (ImportError / AttributeError when absent)."""
    from importlib import import_module

    module, _, name = target.rpartition(".")
    if not module:
        raise ImportError(f"{target!r} is not a dotted path")
    cls = getattr(import_module(module), name)
    if not inspect.isclass(cls):
        raise TypeError(f"{target!r} is not a class")
    return cls


def _params(cls) -> tuple[set[str], bool]:
    """Return (parameter names of cls's constructor and its bases', open to any keyword)."""
    names: set[str] = set()
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names - {"self"}, False
    return names - {"self"}, True


def _check_settings(group: str, node: dict, cls, refuse) -> None:
    """Refuse keys of a group that its class does not take, and values whose type its
    constructor's annotation rules out (text for a number, a fraction for a count)."""
    names, open_kw = _params(cls)
    for key, value in node.items():
        if key in HYDRA_KEYS:
            continue
        if key not in names and not open_kw:
            raise refuse(f"{group}.{key} is not a setting of {cls.__name__}; accepted: "
                         f"{choices(sorted(names - {'data', 'adapter', 'device'}), 100)}")
        kinds = _annotation(cls, key)
        if kinds and _kind(value) not in kinds and not (_kind(value) == "int" and "float" in kinds):
            raise refuse(f"{group}.{key}={value!r}: must be {' or '.join(sorted(kinds))}")


SIMPLE = {"int": "int", "float": "float", "str": "str", "bool": "bool", "None": "None",
          "list": "list", "tuple": "list", "dict": "dict", "Sequence": "list", "Mapping": "dict"}


def _annotation(cls, key: str) -> set[str]:
    """Return the simple kinds a constructor parameter is annotated with ({} when the
    annotation names anything else, e.g. a path or torch type: then no check)."""
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        param = inspect.signature(init).parameters.get(key)
        if param is None:
            continue
        note = param.annotation
        if note is inspect.Parameter.empty:
            return set()
        text = note if isinstance(note, str) else getattr(note, "__name__", str(note))
        parts = [p.strip().split("[", 1)[0].rsplit(".", 1)[-1] for p in text.split("|")]
        if "Optional" in text or any(p not in SIMPLE for p in parts):
            return set()
        return {SIMPLE[p] for p in parts}
    return set()


def _kind(value: Any) -> str:
    """Return the simple kind of a plain config value."""
    if value is None:
        return "None"
    for kind, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"),
                       (list, "list"), (dict, "dict")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _int_at_least(plain: dict, key: str, low: int, refuse, high: int = 2**63 - 1) -> None:
    value = plain.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise refuse(f"{key}={value!r}: must be an integer in {low}..{high}")


def _check_top_level(plain: dict, refuse) -> None:
    """Refuse bad seed, batch_size, booleans, shard and device."""
    _int_at_least(plain, "seed", 0, refuse)
    _int_at_least(plain, "batch_size", 1, refuse, 1_000_000)
    for key in ("resume", "progress"):
        if not isinstance(plain.get(key), bool):
            raise refuse(f"{key}={plain.get(key)!r}: must be true or false")
    if plain.get("shard") is not None:
        from ..scoring.runner import parse_shard

        try:
            parse_shard(plain["shard"])
        except (ValueError, TypeError) as exc:
            raise refuse(f"shard={plain['shard']!r}: {exc}") from None
    _check_device(str(plain.get("device")), refuse)


def _check_device(name: str, refuse) -> None:
    """Refuse a device name that is unknown or not available on this machine."""
    import torch

    if name == "auto":
        return
    if not re.fullmatch(r"cpu|cuda(:\d+)?|mps", name):
        raise refuse(f"device={name!r}: must be one of auto, cpu, cuda, cuda:N, mps")
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= count:
            raise refuse(f"device={name!r}: this machine has {count} CUDA device(s); use "
                         "device=auto or cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise refuse("device='mps': MPS is not available on this machine; use device=auto or "
                     "cpu")


def _check_solver(node: dict, refuse) -> None:
    """Refuse solver settings: non-finite or absurd numbers here, the rest by SolverSpec."""
    from ..engine.solve import SolverSpec

    for key in SOLVER_NUMBERS:
        value = node.get(key)
        if isinstance(value, bool) or (value is not None and not isinstance(value, (int, float))):
            raise refuse(f"solver.{key}={value!r}: must be a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise refuse(f"solver.{key}={value}: must be a finite number")
    try:
        spec = SolverSpec.from_mapping(node)
    except (ValueError, TypeError) as exc:
        raise refuse(f"solver: {exc}") from None
    if spec.n_probes > MAX_PROBES:
        raise refuse(f"solver.n_probes={spec.n_probes}: must be in 1..{MAX_PROBES} (probes are "
                     "held in memory together)")
    if spec.step_size is None and spec.estimator != "exact" and spec.max_steps < MIN_ADAPTIVE_STEPS:
        raise refuse(f"solver.max_steps={spec.max_steps}: an adaptive solve needs >= "
                     f"{MIN_ADAPTIVE_STEPS} steps (every row would stop at max_steps)")
    if spec.step_size is not None and spec.time_change == "none":
        need = math.ceil((spec.t_end - spec.t_start) / spec.step_size - 1e-9)
        if need > spec.max_steps:
            raise refuse(f"solver.step_size={spec.step_size} takes {need} steps over "
                         f"[{spec.t_start}, {spec.t_end}] > solver.max_steps={spec.max_steps}")


def _check_fit(plain: dict, classes: dict, refuse) -> None:
    """Refuse a model or data set of another modality than the study's, or lacking what the
    study needs (capabilities, several speakers)."""
    needs: Needs | None = STUDIES.get(plain["study"]["_target_"])
    if needs is None:
        return
    model = classes["model"]
    kind = getattr(model, "input_kind", None)
    exp = plain.get("experiment_name")
    if kind is not None and kind != needs.kind:
        raise refuse(f"experiment={exp} scores {KIND_NAMES[needs.kind]} inputs but model "
                     f"{model.__name__} scores {KIND_NAMES.get(kind, kind)}: pick a "
                     f"{KIND_NAMES[needs.kind]} model")
    have = getattr(model, "capabilities", None)
    for cap in needs.capabilities:
        if have is not None and cap not in have:
            raise refuse(f"experiment={exp} needs a model with {cap!r}; {model.__name__} "
                         f"declares {sorted(have)}")
    data_target = plain["data"].get("_target_") if plain["data"] else None
    data_kind = DATA_KINDS.get(data_target) if data_target else None
    if data_kind is not None and data_kind != needs.kind:
        raise refuse(f"experiment={exp} scores {KIND_NAMES[needs.kind]} inputs but data "
                     f"{data_target.rsplit('.', 1)[-1]} holds {KIND_NAMES[data_kind]} items")
    if needs.speakers and plain["model"].get("checkpoint") in SINGLE_SPEAKER_CHECKPOINTS:
        raise refuse(f"experiment={exp} compares speaker ids but model.checkpoint="
                     f"{plain['model']['checkpoint']} has one speaker: use model=gradtts_multi")
