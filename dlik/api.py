"""dlik from Python: load a model by the names `dlik run model=...` takes, and score inputs
under conditions into a DataFrame with the CLI's columns (one row per input x condition).

    import dlik
    model = dlik.load_model("sdxl_tiny")
    df = dlik.score(model, [image], ["a red cube", "a blue sphere"], solver="dopri5_1e-3")

The conditions of one input share probes and steps (the paired default), so their
differences carry neither the probe noise nor the solver's error (README, Paired likelihoods).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from .engine.solve import SolverSpec
from .models.base import INPUT_KINDS, Adapter, Job

CONDITION_KEY = {"image": "prompt", "mel": "text", "vector": "condition"}
"""The payload key a condition string fills, by input kind (SDXL prompt, Grad-TTS text,
Gaussian condition name)."""


def load_model(name_or_config: str | Mapping[str, Any] = "gaussian", device: str = "auto",
               **overrides: Any) -> Adapter:
    """Return the adapter of configs/model/<name>.yaml (the names of `dlik run model=`), or of
    a mapping with a `_target_`, with its keys overridden (path=, checkpoint=, dtype=, ...);
    device: auto (CUDA when present) | cpu | cuda[:N]. Errors name the bad key or value."""
    import inspect

    from hydra.utils import get_class
    from omegaconf import OmegaConf

    from .commands.config import CONFIG_DIR, instantiate_group, resolve_device

    if isinstance(name_or_config, str):
        names = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))
        if name_or_config not in names:
            raise ValueError(f"model must be one of {names}, got {name_or_config!r}")
        node = OmegaConf.load(CONFIG_DIR / "model" / f"{name_or_config}.yaml")
    else:
        node = OmegaConf.create(dict(name_or_config))
        if "_target_" not in node:
            raise ValueError("a model config mapping needs '_target_' (an adapter class path)")
    keys = set(node) | set(inspect.signature(get_class(node["_target_"])).parameters)
    unknown = sorted(set(overrides) - keys)
    if unknown:
        name = name_or_config if isinstance(name_or_config, str) else node["_target_"]
        raise ValueError(f"model {name} has no key(s) {unknown}; its keys are "
                         f"{sorted(keys - {'_target_', 'device', 'self'})}")
    node = OmegaConf.merge(node, overrides)
    return instantiate_group("model", node, device=str(resolve_device(device)))


def _kind(adapter: Adapter) -> str:
    """Return the adapter's declared input kind (models.base.INPUT_KINDS)."""
    kind = getattr(adapter, "input_kind", None)
    if kind not in INPUT_KINDS:
        raise ValueError(f"{type(adapter).__name__} declares input_kind={kind!r}; an adapter "
                         f"scored from Python must declare one of {list(INPUT_KINDS)}")
    return kind


def _input_payload(kind: str, item: Any) -> dict[str, Any]:
    """Return the payload of one input: a path (image or audio file), a PIL image or array
    (image), a 22.05 kHz wave (audio), or a vector (the Gaussian)."""
    if isinstance(item, (str, Path)):
        key = {"image": "image_path", "mel": "audio_path"}.get(kind)
        if key is None:
            raise ValueError("this model scores vectors: pass arrays or tensors, not paths")
        if not Path(item).exists():
            raise FileNotFoundError(f"input {item} does not exist")
        return {key: str(item)}
    return {{"image": "image", "mel": "wave", "vector": "x0"}[kind]: item}


def _condition_payload(kind: str, cond: Any) -> dict[str, Any]:
    if cond is None:
        return {"null_condition": True, CONDITION_KEY[kind]: None if kind == "image" else ""}
    if isinstance(cond, Mapping):
        return dict(cond)
    return {CONDITION_KEY[kind]: str(cond)}


def _solver(solver: str | SolverSpec, adapter: Adapter, overrides: dict[str, Any]) -> SolverSpec:
    from .commands.config import solver_preset

    spec = solver_preset(solver) if isinstance(solver, str) else solver
    if "image" not in adapter.capabilities:  # t_min / check_t_start come with 'image'
        return replace(spec, **overrides) if overrides else spec
    if "t_start" not in overrides:
        overrides = {**overrides, "t_start": max(spec.t_start, adapter.t_min)}
    spec = replace(spec, **overrides)
    adapter.check_t_start(spec.t_start)
    return spec


def score(model: Adapter, inputs: Sequence[Any], conditions: Sequence[Any], *,
          solver: str | SolverSpec = "base", batch_size: int = 8, seed: int = 0,
          names: Sequence[str] | None = None, progress: bool = False,
          **solver_overrides: Any) -> pd.DataFrame:
    """Return one row per (input, condition) with the CLI's columns (bpd, bpd_se, logp_nats,
    nfe, status, error, ...) plus `condition` and `delta_bpd` / `delta_bpd_se` (against the
    input's first condition, paired over probes); sample_id names the input (its file stem,
    or inputN).

    inputs: image paths or PIL images (SDXL-family), audio paths or 22.05 kHz waves
    (Grad-TTS), vectors (the Gaussian). conditions: prompts / texts / condition names, a
    payload mapping (e.g. {"text": "...", "speaker": 3} or {"prompt": p, "guidance_scale":
    5}), or None for the model's null condition. solver: a preset name
    (configs/solver/<name>.yaml) or a SolverSpec, with keyword overrides (n_probes=2, ...);
    image models start at their first trained timestep unless t_start is given. A bad input
    gives its rows status 'error' with the reason, as in a run.
    """
    from .scoring.runner import Runner, ScoreSettings

    if not inputs or not conditions:
        raise ValueError("score needs at least one input and one condition")
    names = list(names) if names is not None else [
        Path(x).stem if isinstance(x, (str, Path)) else f"input{i}" for i, x in enumerate(inputs)]
    if len(names) != len(inputs) or len(set(names)) != len(names):
        raise ValueError(f"names must be {len(inputs)} distinct strings, one per input")
    kind = _kind(model)
    jobs = [Job(name, f"c{j}", {"condition": None if c is None else str(c)},
                {**_input_payload(kind, x), **_condition_payload(kind, c)})
            for name, x in zip(names, inputs) for j, c in enumerate(conditions)]
    settings = ScoreSettings(solver=_solver(solver, model, solver_overrides), seed=seed,
                             batch_size=batch_size)
    rows: list[dict[str, Any]] = []
    Runner(model, settings, rows.append, progress=progress).run(jobs)
    order = {(j.sample_id, j.condition_id): k for k, j in enumerate(jobs)}
    rows.sort(key=lambda r: order[(r["sample_id"], r["condition_id"])])
    df = pd.DataFrame(rows)
    provenance = {"model_id": model.model_id, **settings.solver.columns()}
    # a row's own record wins (steps: own where a replay fell back to its own steps)
    df = df.assign(**{k: v for k, v in provenance.items() if k not in df.columns})
    return _with_deltas(df)


def _with_deltas(df: pd.DataFrame) -> pd.DataFrame:
    """Return df with delta_bpd = bpd - bpd of the input's first condition, and its paired
    Monte-Carlo standard error delta_bpd_se (NaN with one probe)."""
    from .derived.paired import reference_rows, with_difference_se

    ref = reference_rows(df, df["condition_id"] == "c0")
    base = df["bpd"].where(df["status"] == "ok")
    df = df.assign(delta_bpd=base - ref.map(lambda i: base.get(i, float("nan"))))
    return with_difference_se(df, ref, "delta_bpd_se")
