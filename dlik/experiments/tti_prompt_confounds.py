"""Prompt confounds (paper Table 6): every image scored under every candidate prompt of each
attribute (that attribute's values, the other attribute held fixed), at each guidance scale
(diffusers' convention, the paper's grid 0 / 3 / 5), for the original image and for its
reconstruction through the ODE.

Reconstruction of an image at guidance scale s: its latent x0 is carried by the probability-
flow ODE from t_start to t_end (encode) and back (decode) at the same s, and the result is
scored like the original. `recon_prompt` says under which prompt the path runs:
- candidate: each candidate prompt's own reconstruction, scored under that candidate (the
  authors' code, pipeline_stable_diffusion_log_likelihood.py: the latent is copied once per
  candidate and each copy encoded and decoded under its candidate's embeddings): the paper's
  Table 6 setting;
- own: one reconstruction under the image's true prompt, scored under every candidate (dlik's
  controlled variant: every candidate scores the same latent, but the path favours the truth);
- null: one reconstruction under the null prompt (tells the path nothing about the answer).
t_start is the likelihood solver's (study.t_start = solver.t_start), checked against the
model's trained range. Listing jobs is cheap: the reconstruction of an (image, s, prompt) runs
when its first surviving job is staged and is cached for the image's other jobs; CLIP scores
(the optional baseline) likewise per image. Each attribute's candidate set is complete on its
own, so the image's own prompt is scored once per attribute (independent probes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..data.image_set_group import image_sets
from ..engine.solve import SolverSpec
from ..engine.transport import ode_path
from ..models.base import Job, require
from .base import StudyBase
from ..models.guidance import guidance_scale_list

SOURCES = ("original", "reconstruction")
RECON_PROMPTS = ("own", "null", "candidate")
RECON_SOLVER = {"method": "dopri5", "atol": 1e-3, "rtol": 1e-3}  # the paper's SDXL setting


def _check_choices(name: str, values: list, allowed: tuple) -> list:
    bad = [v for v in values if v not in allowed]
    if bad or not values:
        raise ValueError(f"{name} must be a non-empty list among {list(allowed)}, got "
                         f"{list(values)}")
    return list(dict.fromkeys(values))


class PromptConfoundsStudy(StudyBase):
    """Rows: (image, source, guidance_scale, attribute, candidate value)."""

    table = "prompt_confounds"

    key_columns = ["image_set", "attribute", "true_label", "candidate_label",
                   "is_true_prompt", "guidance_scale", "source", "true_prompt"]
    extra_columns = ["recon_prompt", "recon_rmse", "clip_cosine", "clip_model"]
    derived_columns = ["delta_bpd", "delta_bpd_se"]

    def __init__(self, data, adapter, guidance_scales: list[float] | None = None,
                 sources: list[str] | None = None,
                 attributes: Mapping[str, list[str]] | None = None,
                 recon_prompt: str = "own", recon_solver: Mapping[str, Any] | None = None,
                 clip_model: str | None = None, t_start: float | None = None) -> None:
        self.sets = image_sets(data)
        self.adapter = require(adapter, "image")
        self.guidance_scales = guidance_scale_list(guidance_scales, [0.0, 3.0, 5.0])
        self.t_start = self.adapter.check_t_start(
            self.adapter.t_min if t_start is None else t_start)
        self.sources = _check_choices("sources", list(sources or SOURCES), SOURCES)
        if recon_prompt not in RECON_PROMPTS:
            raise ValueError(f"recon_prompt must be one of {list(RECON_PROMPTS)}, got "
                             f"{recon_prompt!r}")
        self.recon_prompt = recon_prompt
        self.recon_solver = SolverSpec.from_mapping(
            {**RECON_SOLVER, "t_start": self.t_start, **dict(recon_solver or {})})
        self.adapter.check_t_start(self.recon_solver.t_start)
        self.attributes = self._attributes(attributes)
        from ..metrics.clip import load_clip

        self.clip = load_clip(clip_model, adapter.device)
        self.clip_model = "none" if self.clip is None else self.clip.model_id
        self._recon: dict[tuple, tuple[torch.Tensor, tuple, float]] = {}
        self._clip_cache: dict[str, dict[str, float]] = {}

    def _attributes(self, wanted: Mapping[str, list[str]] | None) -> dict[str, dict]:
        """Return {set: {attribute: values}} for the attributes swapped (default: all)."""
        unknown = sorted(set(wanted or {}) - set(self.sets))
        if unknown:
            raise ValueError(f"study.attributes names sets {unknown}; the data has "
                             f"{sorted(self.sets)}")
        out = {}
        for name, s in self.sets.items():
            have = s.attributes()
            pick = list((wanted or {}).get(name) or have)
            bad = [a for a in pick if a not in have]
            if bad:
                raise ValueError(f"study.attributes.{name} must be among {list(have)}, "
                                 f"got {bad}")
            out[name] = {a: have[a] for a in pick}
        return out

    def _recon_prompt(self, it, candidate: str) -> str | None:
        """Return the prompt the reconstruction path of a row runs under (None = null)."""
        return {"own": it.payload["prompt"], "null": None,
                "candidate": candidate}[self.recon_prompt]

    def _reconstruction(self, it, scale: float, prompt: str | None
                        ) -> tuple[torch.Tensor, tuple, float]:
        """Return (x_rec, original size, RMS of x_rec - x0) of one image at a guidance scale
        under a prompt (cached per image: its jobs are consecutive).

        Integrated at batch 1: an adaptive path's value moves with its batch neighbours' float
        rounding (measured: 0.017 max abs at 1e-3 when the three scales share a batch), so a
        reconstruction depends only on (image, scale, prompt), never on the study's list of
        scales or candidates."""
        key = (it.item_id, scale, prompt)
        if key not in self._recon:
            ad, spec = self.adapter, self.recon_solver
            x0, orig = ad.latent_of(it.payload, it.item_id)
            cond = {k: v[None] for k, v in ad.prompt_cond(prompt, scale, orig).items()}
            x1 = ode_path(ad.drift, x0[None], [spec.t_start, spec.t_end], cond=cond,
                          solver=spec)[-1]
            xr = ode_path(ad.drift, x1, [spec.t_end, spec.t_start], cond=cond,
                          solver=spec)[-1][0]
            rmse = float((xr.double() - x0.double()).pow(2).mean().sqrt())
            if any(k[0] != it.item_id for k in self._recon):
                self._recon = {}
            self._recon[key] = (xr, orig, rmse)
        return self._recon[key]

    def _clip_scores(self, it) -> dict[str, float]:
        """Return {prompt: CLIP cosine} for every candidate prompt of the image (cached)."""
        if it.item_id not in self._clip_cache:
            from ..data.images import load_image

            prompts = sorted({p for _, _, p in self._candidates(it)})
            scores = self.clip.scores(load_image(it.payload), prompts)
            self._clip_cache = {it.item_id: dict(zip(prompts, scores))}
        return self._clip_cache[it.item_id]

    def _candidates(self, it) -> list[tuple[str, str, str]]:
        """Return (attribute, candidate value, prompt) of every candidate of an image."""
        name = it.columns["image_set"]
        s, attrs = self.sets[name], {a: it.columns[a] for a in self.sets[name].attributes()}
        return [(a, v, s.caption(**{**attrs, a: v}))
                for a, values in self.attributes[name].items() for v in values]

    def _stage(self, it, source: str, scale: float, prompt: str) -> tuple[dict, dict]:
        cols: dict[str, Any] = {}
        if source == "reconstruction":
            xr, orig, rmse = self._reconstruction(it, scale, self._recon_prompt(it, prompt))
            payload = {"latent": xr, "prompt": prompt, "guidance_scale": scale,
                       "original_size": orig}
            cols["recon_rmse"] = rmse
        else:
            payload = {"image_path": it.payload["image_path"], "prompt": prompt,
                       "guidance_scale": scale}
            if self.clip is not None:
                cols["clip_cosine"] = self._clip_scores(it)[prompt]
        return payload, cols

    def _items(self) -> list:
        from ..data.image_set_group import ImageSetGroup

        return ImageSetGroup(self.sets).items()

    def _input(self, source: str, scale: float, prompt: str) -> str:
        """Return the job's input key: rows with one key score the same x0 (shared steps)."""
        if source == "original":
            return source
        if self.recon_prompt == "candidate":
            return f"{source}@{scale:g}|{prompt}"
        return f"{source}@{scale:g}"

    def jobs(self) -> list[Job]:
        """Return one job per (image, source, guidance scale, attribute, candidate), image by
        image."""
        jobs = []
        for it in self._items():
            name = it.columns["image_set"]
            for source in self.sources:
                for gs in self.guidance_scales:
                    for attr, value, prompt in self._candidates(it):
                        true = it.columns[attr]
                        cols = {"image_set": name, "attribute": attr, "true_label": true,
                                "candidate_label": value, "is_true_prompt": value == true,
                                "guidance_scale": gs, "source": source,
                                "true_prompt": it.payload["prompt"],
                                "clip_model": self.clip_model,
                                "recon_prompt": (self.recon_prompt if source != "original"
                                                 else None)}
                        jobs.append(Job(
                            it.item_id, f"{source}/gs={gs:g}/{attr}={value}", cols,
                            {"prompt": prompt, "guidance_scale": gs},
                            stage=lambda it=it, s=source, g=gs, p=prompt: self._stage(
                                it, s, g, p),
                            input=self._input(source, gs, prompt)))
        return jobs
