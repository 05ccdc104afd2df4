"""Which diffusers scheduler configs name a noise process dlik implements, and the one-line
refusal of those it does not.

A scheduler config says how the denoiser was trained: VP (discrete betas, x_t = a x0 + sigma
eps: DDPM, DDIM, Euler, DPM-Solver, ... all read the same betas; Karras / exponential / beta
sigma spacings only place the inference steps on that schedule, so they are accepted) or flow
matching (x_t = (1 - t) x0 + t eps, a fixed shift). EDM-preconditioned models (Playground v2.5's
EDMDPMSolverMultistepScheduler, EDMEulerScheduler, an Euler scheduler with
timestep_type='continuous') feed the network c_noise(sigma) and mix its output with the input
(c_skip, c_out): a different noise process that dlik does not implement, so they are refused
rather than scored as a VP schedule. Dynamic (resolution-dependent) shifting is refused too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

VP = "vp"
FLOW = "flow"
KINDS: dict[str, str] = {
    **dict.fromkeys((
        "DDPMScheduler", "DDIMScheduler", "DDPMParallelScheduler", "DDIMParallelScheduler",
        "PNDMScheduler", "LMSDiscreteScheduler", "EulerDiscreteScheduler",
        "EulerAncestralDiscreteScheduler", "HeunDiscreteScheduler", "KDPM2DiscreteScheduler",
        "KDPM2AncestralDiscreteScheduler", "DPMSolverMultistepScheduler",
        "DPMSolverSinglestepScheduler", "DPMSolverSDEScheduler", "UniPCMultistepScheduler",
        "DEISMultistepScheduler", "LCMScheduler", "TCDScheduler"), VP),
    **dict.fromkeys(("FlowMatchEulerDiscreteScheduler", "FlowMatchHeunDiscreteScheduler"),
                    FLOW),
}
"""diffusers scheduler class -> the noise process its config describes."""
WHAT = {VP: "VP (beta-schedule) models: model=sdxl / sd / sdxl_tiny",
        FLOW: "flow-matching models: model=sd3 / sd3_tiny"}
# settings that change the noise process itself (not only where inference steps fall)
REFUSED_SETTINGS: dict[str, dict[str, Any]] = {
    VP: {"timestep_type": ("continuous", "EDM-style continuous timesteps (c_noise of sigma, "
                                         "EDM preconditioning)")},
    FLOW: {"use_dynamic_shifting": (True, "resolution-dependent (dynamic) shifting"),
           "invert_sigmas": (True, "inverted sigmas")},
}


def check_scheduler(config: Mapping[str, Any], kind: str, default: str) -> str:
    """Return the config's scheduler class, raising in one line when it is not a `kind`
    ('vp' | 'flow') scheduler dlik implements or sets what dlik does not implement."""
    cls = str(config.get("_class_name", default))
    have = KINDS.get(cls)
    supported = sorted(c for c, k in KINDS.items() if k == kind)
    if have is None:
        edm = " (an EDM / Karras-preconditioned schedule)" if "EDM" in cls else ""
        raise ValueError(f"scheduler {cls!r}{edm} is not a noise process dlik implements; "
                         f"{WHAT[kind]} need one of {supported}")
    if have != kind:
        raise ValueError(f"scheduler {cls!r} is a {have} scheduler, not {kind}: it belongs to "
                         f"{WHAT[have]}")
    for key, (bad, what) in REFUSED_SETTINGS[kind].items():
        if config.get(key) == bad:
            raise ValueError(f"scheduler {cls!r} sets {key}={bad!r} ({what}), which dlik does "
                             f"not implement; {WHAT[kind]} need {key} unset or "
                             f"{'discrete' if key == 'timestep_type' else False!r}")
    return cls
