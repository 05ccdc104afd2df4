"""TTI generative path (paper Tables 4, 5, 7): SDXL samples and reconstructions at guidance
scale s, saved as PNGs beside the CSV and scored under their prompt, with the real image as
reference.

Rows per prompt (data item) and guidance scale s in `guidance_scales` (diffusers' convention,
the paper's 0 / 3 / 5 / 7), all scored by the likelihood ODE at s:
- real: the held-out image itself;
- sample: x1 ~ N(0, I / temperature^2) (the same draw for every s of a prompt), the reverse
  guided PF-ODE from t = 1 to t_min under the prompt at s, VAE-decoded to an 8-bit image;
- reconstruction: the real image's latent, forward ODE to t = 1 under the prompt at
  `recon_encode_guidance_scale` (default 0: the model's own flow; null = s), then the reverse
  ODE at s, decoded.
t_min is the likelihood solver's t_start (study.t_min = solver.t_start), checked against the
model's trained range.
Samples and reconstructions are scored as the saved PNG (decode -> 8 bits -> VAE encode), the
file that FID and CLIP score see; the real image is saved too (fitted to the model's size), for
the labelled image grid of `dlik tables tti_generative_path --out`. Listing jobs is cheap; the
ODE paths of a prompt (every scale in one batched call) run when its first surviving generated
job is staged, and are cached for its other rows (on resume, a prompt with any row left is
generated whole again).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..engine.transport import ode_path
from ..models.base import Job, require
from ..models.guidance import check_guidance_scale, guidance_scale_list
from ..seeding import stable_seed
from .base import StudyBase
from .image_measures import IMAGE_MEASURE_COLUMNS, ImageMeasures

KINDS = ("real", "sample", "reconstruction")


class TTIGenerativePathStudy(StudyBase):
    """For each prompt and guidance scale: the real image, a sample and a reconstruction."""

    table = "tti_generative_path"

    key_columns = ["kind", "guidance_scale"]
    extra_columns = [*IMAGE_MEASURE_COLUMNS]

    def __init__(self, data, adapter, guidance_scales: list[float] | None = None,
                 kinds: list[str] | None = None, temperature: float = 1.0, seed: int = 0,
                 atol: float = 1e-5, rtol: float = 1e-5, t_min: float | None = None,
                 recon_encode_guidance_scale: float | None = 0.0,
                 measures: dict | None = None) -> None:
        self.guidance_scales = guidance_scale_list(guidance_scales, [0.0, 3.0, 5.0, 7.0])
        self.kinds = list(kinds or KINDS)
        bad = [k for k in self.kinds if k not in KINDS]
        if bad:
            raise ValueError(f"kinds must be among {list(KINDS)}, got {bad}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.data, self.adapter = data, require(require(adapter, "sample"), "image")
        self.temperature, self.seed, self.atol, self.rtol = temperature, seed, atol, rtol
        t_min = self.adapter.t_min if t_min is None else float(t_min)
        if not 0 < t_min < 1:
            raise ValueError(f"t_min must be in (0, 1) (sigma(0) = 0), got {t_min}")
        self.t_min = self.adapter.check_t_start(t_min)
        self.recon_encode_guidance_scale = (None if recon_encode_guidance_scale is None else
                                            check_guidance_scale(recon_encode_guidance_scale))
        self.measures = ImageMeasures(**(measures or {}))
        self._cache: dict[tuple, object] = {}
        self._cache_item: str | None = None

    # --- cached per item: its jobs are consecutive --------------------------------------
    def _cached(self, it, key: tuple, make):
        if self._cache_item != it.item_id:
            self._cache, self._cache_item = {}, it.item_id
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _conds(self, prompt: str, scales: list[float], orig: tuple[int, int]) -> dict:
        """Return the prompt's cond at each guidance scale, batched [len(scales), ...]."""
        one = [self.adapter.prompt_cond(prompt, s, orig) for s in scales]
        return {k: torch.stack([c[k] for c in one]) for k in one[0]}

    def _solve(self, x: torch.Tensor, times: list[float], cond: dict) -> torch.Tensor:
        return ode_path(self.adapter.drift, x, times, cond=cond, atol=self.atol,
                        rtol=self.rtol)[-1]

    def _generate(self, it) -> dict[tuple[str, float], object]:
        """Return {(kind, guidance scale): decoded PIL image} of the item's samples and
        reconstructions, every scale in one batched ODE call (each row keeps its own step
        control)."""
        ad, prompt, scales = self.adapter, it.payload["prompt"], self.guidance_scales
        n = len(scales)
        out: dict[tuple[str, float], object] = {}
        if "sample" in self.kinds:
            gen = torch.Generator().manual_seed(stable_seed("tti_sample", it.item_id, self.seed))
            start = ad.sample_prior(Job(it.item_id, "sample", payload=self._payload(it, 0.0)),
                                    gen, self.temperature)
            x1 = start.x0[None].repeat(n, 1, 1, 1)  # the same draw for every scale
            x0 = self._solve(x1, [1.0, self.t_min], self._conds(prompt, scales, ad.image_size))
            out.update({("sample", s): ad.decode(x) for s, x in zip(scales, x0)})
        if "reconstruction" in self.kinds:
            z, orig = ad.latent_of(it.payload, it.item_id)
            enc = (scales if self.recon_encode_guidance_scale is None
                   else [self.recon_encode_guidance_scale])
            x1 = self._solve(z[None].repeat(len(enc), 1, 1, 1), [self.t_min, 1.0],
                             self._conds(prompt, enc, orig))
            x1 = x1 if len(enc) == n else x1.repeat(n, 1, 1, 1)
            x0 = self._solve(x1, [1.0, self.t_min], self._conds(prompt, scales, orig))
            out.update({("reconstruction", s): ad.decode(x) for s, x in zip(scales, x0)})
        return out

    # --- stages ---------------------------------------------------------------------------
    def _file(self, sub: str, name: str) -> Path | None:
        return None if self.out_dir is None else Path(self.out_dir) / sub / name

    def _real_stage(self, it) -> tuple[dict, dict]:
        from ..data.images import fit, load_image

        def measure():
            img = fit(load_image(it.payload), self.adapter.image_size)
            return {"image_file": self._save(img, f"{it.item_id}__real"),
                    **self.measures.measure(img, it.payload["prompt"],
                                            self._file("features", f"{it.item_id}__real.npy"))}
        return {}, self._cached(it, ("real_measures",), measure)

    def _save(self, img, stem: str) -> str | None:
        """Return the PNG's path relative to the CSV's folder after saving img in images/
        (None outside a run)."""
        png = self._file("images", f"{stem}.png")
        if png is None:
            return None
        png.parent.mkdir(parents=True, exist_ok=True)
        img.save(png)
        return f"images/{png.name}"

    def _generated_stage(self, it, kind: str, scale: float) -> tuple[dict, dict]:
        img = self._cached(it, ("generated",), lambda: self._generate(it))[(kind, scale)]
        stem = f"{it.item_id}__{kind}_gs{scale:g}"
        rel = self._save(img, stem)
        cols = self.measures.measure(img, it.payload["prompt"],
                                     self._file("features", f"{stem}.npy"))
        return {"image": img}, {"image_file": rel, **cols}

    def _payload(self, it, scale: float) -> dict:
        return {"prompt": it.payload["prompt"], "guidance_scale": scale}

    def jobs(self) -> list[Job]:
        """Return, per prompt and guidance scale, the real, sample and reconstruction rows
        (cheap)."""
        jobs = []
        for it in self.data.items():
            for gs in self.guidance_scales:
                for kind in self.kinds:
                    cols = {"kind": kind, "guidance_scale": gs}
                    cid = f"{kind}@gs={gs:g}"
                    if kind == "real":
                        jobs.append(Job(it.item_id, cid, cols,
                                        {**it.payload, "guidance_scale": gs},
                                        stage=lambda it=it: self._real_stage(it)))
                    else:
                        jobs.append(Job(it.item_id, cid, cols, self._payload(it, gs),
                                        stage=lambda it=it, k=kind, g=gs:
                                        self._generated_stage(it, k, g), input=cid))
        return jobs
