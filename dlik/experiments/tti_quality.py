"""TTI quality study: each image clean (level 0) and degraded at levels, under its own prompt.

The image is first fitted to the model's size (resize + centre crop, as the adapter does), then
perturbed there (dlik/data/image_perturbations.py), so levels are in pixels of the scored
image; the perturbation's noise is seeded by (item, perturbation, level, seed). t_start is the
likelihood solver's (study.t_start = solver.t_start), checked against the model's trained range.
"""

from __future__ import annotations

import math

from ..data.image_perturbations import image_perturbation, perturb
from ..metrics.perceptual import image_measures
from ..models.base import Job, require
from ..seeding import stable_int
from .base import StudyBase
from .perceptual_rows import IMAGE_EXTRA

CLEAN_LEVEL = 0.0


def _check_levels(perturbations: dict) -> dict[str, list[float]]:
    """Return {name: [float levels]} after checking every name and level on a tiny image."""
    from PIL import Image

    if not perturbations:
        raise ValueError("study.perturbations must name at least one perturbation")
    probe = Image.new("RGB", (8, 8), (128, 64, 32))
    out = {}
    for name, levels in perturbations.items():
        image_perturbation(name)
        vals = [float(v) for v in (levels or [])]
        if not vals or not all(math.isfinite(v) for v in vals):
            raise ValueError(f"study.perturbations.{name} must be a non-empty list of finite "
                             f"levels, got {levels}")
        for v in vals:
            perturb(probe, name, v)  # raises naming the accepted levels
        out[name] = vals
    return out


class TTIQualityStudy(StudyBase):
    """Rows: (image, perturbation, level); 'clean' (level 0) is the reference condition.

    perceptual=true adds SSIM and MS-SSIM of each scored image against the fitted clean one.
    """

    table = "tti_quality"

    key_columns = ["perturbation", "level", "level_unit"]
    extra_columns: list[str] = []

    def __init__(self, data, adapter, perturbations: dict[str, list[float]],
                 seed: int = 0, t_start: float | None = None, perceptual: bool = False) -> None:
        self.perturbations = _check_levels(dict(perturbations))
        self.perceptual = bool(perceptual)
        self.extra_columns = list(IMAGE_EXTRA) if self.perceptual else []
        self.data, self.adapter, self.seed = data, require(adapter, "image"), seed
        self.t_start = self.adapter.check_t_start(
            self.adapter.t_min if t_start is None else t_start)

    def fitted(self, it):
        """Return the item's clean image fitted to the model's size."""
        from ..data.images import fit, load_image

        return fit(load_image(it.payload), tuple(self.adapter.image_size))

    def perturbed(self, it, name: str, level: float):
        """Return the item's image fitted to the model's size and perturbed (seeded)."""
        return perturb(self.fitted(it), name, level,
                       seed=stable_int(it.item_id, name, level, self.seed))

    def _stage(self, it, name: str, level: float) -> tuple[dict, dict]:
        img = self.perturbed(it, name, level)
        cols = image_measures(img, self.fitted(it)) if self.perceptual else {}
        return {"image": img}, cols

    def jobs(self) -> list[Job]:
        """Return the clean job and one job per (perturbation, level) for each image (cheap)."""
        jobs = []
        for it in self.data.items():
            clean = ((lambda it=it: ({}, image_measures(self.fitted(it), self.fitted(it))))
                     if self.perceptual else None)
            jobs.append(Job(it.item_id, "clean", {"perturbation": "clean", "level": CLEAN_LEVEL,
                                                  "level_unit": None}, dict(it.payload),
                            stage=clean))
            for name, levels in self.perturbations.items():
                unit = image_perturbation(name).unit
                for level in levels:
                    jobs.append(Job(
                        it.item_id, f"{name}@{level:g}",
                        {"perturbation": name, "level": level, "level_unit": unit},
                        {"prompt": it.payload["prompt"]},
                        stage=lambda it=it, n=name, v=level: self._stage(it, n, v),
                        input=f"{name}@{level:g}"))
        return jobs
