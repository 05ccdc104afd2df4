"""TTI generative path (paper Tables 4, 5, 7): SDXL samples and reconstructions at CFG w,
saved as PNGs beside the CSV and scored under their prompt, with the real image as reference.

Rows per prompt (data item) and guidance w in `cfgs`, all scored by the likelihood ODE at w:
- real: the held-out image itself;
- sample: x1 ~ N(0, I / temperature^2) (the same draw for every w of a prompt), the reverse
  guided PF-ODE from t = 1 to t_min under the prompt at w, VAE-decoded to an 8-bit image;
- reconstruction: the real image's latent, forward ODE to t = 1 under the prompt at
  `recon_encode_cfg` (default 0: the model's own flow; null = w), then the reverse ODE at w,
  decoded.
Samples and reconstructions are scored as the saved PNG (decode -> 8 bits -> VAE encode), the
file that FID and CLIP score see. Listing jobs is cheap; the ODE paths of a prompt (every w
in one batched call) run when its first surviving generated job is staged, and are cached
for its other rows (on resume, a prompt with any row left is generated whole again).
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..engine.transport import ode_path
from ..models.base import Job, require
from ..seeding import stable_seed
from .base import StudyBase
from .image_measures import IMAGE_MEASURE_COLUMNS, ImageMeasures

KINDS = ("real", "sample", "reconstruction")


class TTIGenerativePathStudy(StudyBase):
    """For each prompt and cfg: the real image, a sample and a reconstruction, scored."""

    table = "tti_generative_path"

    key_columns = ["kind", "cfg"]
    extra_columns = [*IMAGE_MEASURE_COLUMNS]

    def __init__(self, data, adapter, cfgs: list[float] | None = None,
                 kinds: list[str] | None = None, temperature: float = 1.0, seed: int = 0,
                 atol: float = 1e-5, rtol: float = 1e-5, t_min: float = 1e-5,
                 recon_encode_cfg: float | None = 0.0, measures: dict | None = None) -> None:
        self.cfgs = [float(c) for c in (cfgs if cfgs is not None else [0, 3, 5, 7])]
        if not self.cfgs or len(set(self.cfgs)) != len(self.cfgs):
            raise ValueError(f"cfgs must be a non-empty list of distinct floats, got {cfgs}")
        self.kinds = list(kinds or KINDS)
        bad = [k for k in self.kinds if k not in KINDS]
        if bad:
            raise ValueError(f"kinds must be among {list(KINDS)}, got {bad}")
        if not 0 < t_min < 1:
            raise ValueError(f"t_min must be in (0, 1) (sigma(0) = 0), got {t_min}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.data, self.adapter = data, require(require(adapter, "sample"), "image")
        self.temperature, self.seed, self.atol, self.rtol = temperature, seed, atol, rtol
        self.t_min = float(t_min)
        self.recon_encode_cfg = None if recon_encode_cfg is None else float(recon_encode_cfg)
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

    def _conds(self, prompt: str, cfgs: list[float], orig: tuple[int, int]) -> dict:
        """Return the prompt's cond at each of cfgs, batched [len(cfgs), ...]."""
        one = [self.adapter.prompt_cond(prompt, c, orig) for c in cfgs]
        return {k: torch.stack([c[k] for c in one]) for k in one[0]}

    def _solve(self, x: torch.Tensor, times: list[float], cond: dict) -> torch.Tensor:
        return ode_path(self.adapter.drift, x, times, cond=cond, atol=self.atol,
                        rtol=self.rtol)[-1]

    def _generate(self, it) -> dict[tuple[str, float], object]:
        """Return {(kind, cfg): decoded PIL image} of the item's samples and reconstructions,
        every cfg in one batched ODE call (each row keeps its own step control)."""
        ad, prompt, n = self.adapter, it.payload["prompt"], len(self.cfgs)
        out: dict[tuple[str, float], object] = {}
        if "sample" in self.kinds:
            gen = torch.Generator().manual_seed(stable_seed("tti_sample", it.item_id, self.seed))
            start = ad.sample_prior(Job(it.item_id, "sample", payload=self._payload(it, 0.0)),
                                    gen, self.temperature)
            x1 = start.x0[None].repeat(n, 1, 1, 1)  # the same draw for every cfg
            x0 = self._solve(x1, [1.0, self.t_min], self._conds(prompt, self.cfgs,
                                                                 ad.image_size))
            out.update({("sample", c): ad.decode(x) for c, x in zip(self.cfgs, x0)})
        if "reconstruction" in self.kinds:
            z, orig = ad.latent_of(it.payload, it.item_id)
            enc = self.cfgs if self.recon_encode_cfg is None else [self.recon_encode_cfg]
            x1 = self._solve(z[None].repeat(len(enc), 1, 1, 1), [self.t_min, 1.0],
                             self._conds(prompt, enc, orig))
            x1 = x1 if len(enc) == n else x1.repeat(n, 1, 1, 1)
            x0 = self._solve(x1, [1.0, self.t_min], self._conds(prompt, self.cfgs, orig))
            out.update({("reconstruction", c): ad.decode(x) for c, x in zip(self.cfgs, x0)})
        return out

    # --- stages ---------------------------------------------------------------------------
    def _file(self, sub: str, name: str) -> Path | None:
        return None if self.out_dir is None else Path(self.out_dir) / sub / name

    def _real_stage(self, it) -> tuple[dict, dict]:
        from ..data.images import fit, load_image

        def measure():
            img = fit(load_image(it.payload), self.adapter.image_size)
            return self.measures.measure(img, it.payload["prompt"],
                                         self._file("features", f"{it.item_id}__real.npy"))
        return {}, {"image_file": None, **self._cached(it, ("real_measures",), measure)}

    def _generated_stage(self, it, kind: str, cfg: float) -> tuple[dict, dict]:
        img = self._cached(it, ("generated",), lambda: self._generate(it))[(kind, cfg)]
        stem = f"{it.item_id}__{kind}_cfg{cfg:g}"
        png = self._file("images", f"{stem}.png")
        if png is not None:
            png.parent.mkdir(parents=True, exist_ok=True)
            img.save(png)
        cols = self.measures.measure(img, it.payload["prompt"],
                                     self._file("features", f"{stem}.npy"))
        rel = None if png is None else f"images/{png.name}"
        return {"image": img}, {"image_file": rel, **cols}

    def _payload(self, it, cfg: float) -> dict:
        return {"prompt": it.payload["prompt"], "cfg": cfg}

    def jobs(self) -> list[Job]:
        """Return, per prompt and cfg, the real, sample and reconstruction rows (cheap)."""
        jobs = []
        for it in self.data.items():
            for cfg in self.cfgs:
                for kind in self.kinds:
                    cols = {"kind": kind, "cfg": cfg}
                    cid = f"{kind}@cfg={cfg:g}"
                    if kind == "real":
                        jobs.append(Job(it.item_id, cid, cols,
                                        {**it.payload, "cfg": cfg},
                                        stage=lambda it=it: self._real_stage(it)))
                    else:
                        jobs.append(Job(it.item_id, cid, cols, self._payload(it, cfg),
                                        stage=lambda it=it, k=kind, c=cfg:
                                        self._generated_stage(it, k, c)))
        return jobs
