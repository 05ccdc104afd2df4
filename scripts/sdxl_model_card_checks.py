"""Measure a shipped tiny text-to-image model (sdxl_tiny, or sd3_tiny with --family sd3)
and write its model card.

    python scripts/sdxl_model_card_checks.py                  # everything, writes README.md
    python scripts/sdxl_model_card_checks.py --family sd3     # the same for sd3_tiny
    python scripts/sdxl_model_card_checks.py --skip-bpd       # no likelihood ODEs (faster)
    python scripts/sdxl_model_card_checks.py --bpd-only       # only bpd, into checks.json
    python scripts/sdxl_model_card_checks.py --reuse-bpd      # card with checks.json's bpd

Writes into the model folder (default dlik/assets/<family>_tiny): samples.png (pipeline samples,
first column a real held-out render of the prompt), loss.png (from train_log.csv),
checks.json (every number below) and README.md (the model card, whose text
scripts/sdxl_model_card.py writes from checks.json's numbers). Measured:
  - VAE reconstruction MSE on the held-out test renders;
  - conditional check: samples asked for each clevr colour x shape (and pacs style x class)
    judged by simple classifiers (dlik/data/render_classifier.py for clevr; a 1-nearest-
    neighbour on 16 x 16 thumbnails of the train renders for pacs), with each classifier's
    accuracy on the real held-out renders and chance;
  - held-out bpd through dlik's engine (the family's adapter + Runner, dopri5 at 1e-3 as the
    paper's SDXL protocol): each test image under its own prompt, a prompt with each
    attribute swapped, a random other prompt of its set, and the null prompt (SDXL: zero
    embeddings; SD3: the empty prompt). bpd depends only on the denoiser, text encoders and
    VAE encoder; --reuse-bpd checks a hash of those, so the card can be rewritten after a
    decoder-only change without the ODEs.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dlik.data.image_sets import SETS, ShapesImageSet, caption
from dlik.data.render_classifier import classify_colour, classify_shape
from dlik.models.sdxl.families import FAMILIES
from dlik.models.sdxl.loader import embedded_dir
from dlik.seeding import stable_rng

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sd3_model_card import write_card as write_sd3_card  # noqa: E402 - card text per family
from sdxl_model_card import write_card as write_sdxl_card  # noqa: E402
from train_tiny_sdxl import plot_loss  # noqa: E402 - the training script's own plot

TEST = {name: ShapesImageSet(name, split="test") for name in SETS}


@dataclass(frozen=True)
class CardFamily:
    """What the checks do differently per shipped model family."""

    pipeline: str
    """The diffusers pipeline class that loads and samples the folder."""
    write_card: Callable[[Path, dict], None]
    load_kw: dict = field(default_factory=dict)
    """Extra from_pretrained arguments (SD3: the absent T5)."""
    call_kw: dict = field(default_factory=dict)
    """Extra pipeline-call arguments (sd3_tiny was trained with one zero "T5" token)."""


CARD_FAMILIES = {
    "sdxl": CardFamily("StableDiffusionXLPipeline", write_sdxl_card),
    "sd3": CardFamily("StableDiffusion3Pipeline", write_sd3_card,
                      load_kw={"text_encoder_3": None, "tokenizer_3": None},
                      call_kw={"max_sequence_length": 1}),
}


def n_params(module: torch.nn.Module) -> int:
    """Return the number of parameters of module."""
    return sum(p.numel() for p in module.parameters())


def train_summary(folder: Path) -> dict:
    """Return steps, wall time and first / final losses of each stage in the model's
    train_log.csv (vae, unet or flow, decoder)."""
    rows: dict[tuple[str, int], dict] = {}
    for r in csv.DictReader(open(folder / "train_log.csv")):
        rows[(r["stage"], int(r["step"]))] = r  # a resumed run re-logs a few steps: keep last
    loss = {st: [float(r["loss"]) for (s, _), r in sorted(rows.items()) if s == st]
            for st in ("vae", "unet", "flow", "decoder")}
    wall = {st: max((float(r["wall_s"]) for (s, _), r in rows.items() if s == st), default=0.0)
            for st in loss}
    out: dict = {"decoder_steps": len(loss["decoder"])}
    if loss["vae"]:
        out.update(vae_steps=len(loss["vae"]), vae_wall_min=wall["vae"] / 60,
                   vae_final_mse=float(np.mean(loss["vae"][-25:])))
    for st in ("unet", "flow"):  # the denoiser stage: epsilon (UNet) or velocity (flow)
        if loss[st]:
            out.update({f"{st}_steps": len(loss[st]), "wall_min": wall[st] / 60,
                        f"{st}_final_loss": float(np.mean(loss[st][-100:])),
                        f"{st}_first_loss": float(np.mean(loss[st][:25]))})
    if loss["decoder"]:  # decoder-only fine-tune after the UNet stage (its wall_s continues)
        dec = loss["decoder"]
        out.update(decoder_first_mse=float(np.mean(dec[:25])),
                   decoder_final_mse=float(np.mean(dec[-25:])),
                   decoder_wall_min=(wall["decoder"] - wall["unet"]) / 60)
    return out


def load_rgb(path: str) -> np.ndarray:
    """Return the image at path as a uint8 H x W x 3 array."""
    return np.asarray(Image.open(path).convert("RGB"))


@torch.no_grad()
def reconstructions(pipe, images: np.ndarray) -> np.ndarray:
    """Return VAE(mean) reconstructions of uint8 images [N, H, W, 3] as uint8."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    rec = pipe.vae.decode(pipe.vae.encode(x).latent_dist.mean).sample
    return ((rec.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def sample(pipe, prompts: list[str], guidance: float, seed: int, steps: int,
           **pipe_kw) -> np.ndarray:
    """Return pipeline samples (uint8 [N, 64, 64, 3]) for prompts."""
    out = pipe(prompt=prompts, num_inference_steps=steps, guidance_scale=guidance,
               generator=torch.Generator().manual_seed(seed), output_type="np", height=64,
               width=64, **pipe_kw)
    return (np.clip(out.images, 0, 1) * 255).round().astype(np.uint8)


class ThumbNN:
    """1-nearest-neighbour on 16 x 16 RGB thumbnails of the train renders of a set."""

    def __init__(self, name: str) -> None:
        items = ShapesImageSet(name, split="train").items()
        self.feats = np.stack([self.feat(load_rgb(it.payload["image_path"])) for it in items])
        self.labels = [{k: it.columns[k] for k in SETS[name]} for it in items]

    @staticmethod
    def feat(img: np.ndarray) -> np.ndarray:
        """Return the flattened 16 x 16 box-downsampled thumbnail in [0, 1]."""
        return np.asarray(Image.fromarray(img).resize((16, 16), Image.BOX),
                          dtype=np.float32).ravel() / 255.0

    def __call__(self, img: np.ndarray) -> dict[str, str]:
        """Return the attribute values of the nearest train render."""
        d = ((self.feats - self.feat(img)) ** 2).sum(1)
        return self.labels[int(d.argmin())]


def classifiers(name: str):
    """Return {attribute: image -> value} for set name."""
    if name == "clevr_shapes":
        return {"colour": classify_colour, "shape": classify_shape}
    nn = ThumbNN(name)
    return {a: (lambda img, a=a: nn(img)[a]) for a in SETS[name]}


def accuracy(clf, images: np.ndarray, targets: list[dict]) -> dict[str, float]:
    """Return per-attribute accuracy of classifiers clf on images against targets."""
    return {a: float(np.mean([f(img) == t[a] for img, t in zip(images, targets)]))
            for a, f in clf.items()}


def conditional_check(pipe, args) -> tuple[dict, dict]:
    """Return (numbers, sample grids) of the classifier check on real renders and samples."""
    out, grids = {}, {}
    for name, ds in TEST.items():
        items = ds.items()
        real = np.stack([load_rgb(it.payload["image_path"]) for it in items])
        truth = [{a: it.columns[a] for a in SETS[name]} for it in items]
        clf = classifiers(name)
        combos = [truth[i] for i in range(24)]  # test items 0..23 cover every combination
        prompts = [caption(name, **c) for c in combos for _ in range(args.per_prompt)]
        targets = [c for c in combos for _ in range(args.per_prompt)]
        rec = reconstructions(pipe, real)
        res = {"real_renders": accuracy(clf, real, truth),
               "vae_reconstructions": accuracy(clf, rec, truth),
               "vae_recon_mse": float(np.mean((rec / 127.5 - real / 127.5) ** 2)),
               "chance": {a: 1 / len(v) for a, v in SETS[name].items()},
               "n_samples": len(prompts)}
        for g in args.guidance:
            t0 = time.time()
            imgs = sample(pipe, prompts, g, args.seed, args.steps,
                          **CARD_FAMILIES[args.family].call_kw)
            res[f"samples_guidance_{g:g}"] = accuracy(clf, imgs, targets)
            print(f"{name} guidance {g:g}: {res[f'samples_guidance_{g:g}']} "
                  f"({time.time() - t0:.0f} s)", flush=True)
            grids[(name, g)] = (real[:6], imgs.reshape(24, args.per_prompt, 64, 64, 3)[:6],
                                prompts[:: args.per_prompt][:6])
        out[name] = res
    return out, grids


def save_grid(grids: dict, path: Path, guidance: float, label: str = "SDXL") -> None:
    """Write samples.png: per set 6 prompts, a real render then samples."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(r, s, p) for (name, g), (reals, samp, prompts) in grids.items() if g == guidance
            for r, s, p in zip(reals, samp, prompts)]
    ncol = 1 + rows[0][1].shape[0]
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.1 * ncol + 1.6, 1.1 * len(rows)))
    for i, (real, samp, prompt) in enumerate(rows):
        for j, img in enumerate([real, *samp]):
            ax = axes[i, j]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(prompt, rotation=0, ha="right", va="center", fontsize=7)
            if i == 0:
                ax.set_title("real" if j == 0 else f"sample {j}", fontsize=7)
    fig.suptitle(f"tiny {label} samples, guidance_scale {guidance:g}, {len(rows)} prompts",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def swapped_prompts(name: str, attrs: dict, sample_id: str) -> dict[str, str]:
    """Return {condition_id: prompt} with each attribute swapped to a seeded other value."""
    out = {}
    for a, values in SETS[name].items():
        others = [v for v in values if v != attrs[a]]
        out[f"swap_{a}"] = caption(name, **{**attrs, a: stable_rng("swap", sample_id, a)
                                            .choice(others)})
    return out


def random_prompt(name: str, true_prompt: str, sample_id: str) -> str:
    """Return a seeded random caption of set name other than true_prompt."""
    (ka, va), (kb, vb) = SETS[name].items()
    others = [caption(name, **{ka: a, kb: b}) for a in va for b in vb]
    return stable_rng("random_prompt", sample_id).choice([c for c in others if c != true_prompt])


def latent_model_hash(folder: Path) -> str:
    """Return a sha256 over what held-out bpd depends on: the denoiser (UNet or transformer),
    text encoder and tokenizer files, the scheduler config and the VAE *encoder* tensors and
    latent factors (not the decoder)."""
    import hashlib

    from safetensors.torch import load_file

    h = hashlib.sha256()
    denoiser = "unet" if (folder / "unet").is_dir() else "transformer"
    for sub in (denoiser, "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2",
                "scheduler"):
        for f in sorted((folder / sub).iterdir()):
            h.update(f"{sub}/{f.name}".encode() + f.read_bytes())
    vae = load_file(str(folder / "vae" / "diffusion_pytorch_model.safetensors"))
    for k in sorted(k for k in vae if k.startswith(("encoder.", "quant_conv."))):
        h.update(k.encode() + vae[k].numpy().tobytes())
    cfg = json.loads((folder / "vae" / "config.json").read_text())
    h.update(str(cfg["scaling_factor"]).encode())
    if cfg.get("shift_factor") is not None:
        h.update(str(cfg["shift_factor"]).encode())
    return h.hexdigest()[:16]


def bpd_check(folder: Path, args) -> dict:
    """Return mean held-out bpd per condition and how often the own prompt is most likely."""
    import dlik
    from dlik.engine.solve import SolverSpec
    from dlik.models.base import Job
    from dlik.scoring.runner import Runner, ScoreSettings

    adapter = dlik.load_model(f"{args.family}_tiny", device="cpu", path=str(folder))
    spec = SolverSpec(method="dopri5", atol=args.atol, rtol=args.atol, integrator="batched")
    out = {"solver": f"batched dopri5 atol=rtol={args.atol}, t_start {spec.t_start:g}",
           "per_set": args.bpd_items,
           "latent_model_hash": latent_model_hash(folder)}
    for name in SETS:
        jobs = []
        for it in ShapesImageSet(name, split="test", n_items=args.bpd_items).items():
            attrs = {a: it.columns[a] for a in SETS[name]}
            conds = {"true": it.payload["prompt"], **swapped_prompts(name, attrs, it.item_id),
                     "random": random_prompt(name, it.payload["prompt"], it.item_id),
                     "null": None}
            jobs += [Job(it.item_id, c, {"prompt_text": p},
                         {"image_path": it.payload["image_path"], "prompt": p})
                     for c, p in conds.items()]
        rows: list[dict] = []
        t0 = time.time()
        Runner(adapter, ScoreSettings(solver=spec, batch_size=args.bpd_batch), rows.append,
               progress=False).run(jobs)
        bad = [r for r in rows if r["status"] != "ok"]
        if bad:
            raise RuntimeError(f"bpd rows failed: {bad[0].get('error') or bad[0]['status']}")
        by = {(r["sample_id"], r["condition_id"]): r for r in rows}
        ids = sorted({r["sample_id"] for r in rows})
        conds = list(dict.fromkeys(r["condition_id"] for r in rows))
        res = {c: {"latent_bpd": float(np.mean([by[(i, c)]["bpd"] for i in ids])),
                   # checks.json keeps the key pixel_bpd; the row column was renamed
                   "pixel_bpd": float(np.mean([by[(i, c)]["latent_bits_per_pixel_dim"]
                                               for i in ids]))}
               for c in conds}
        for c in conds:
            if c != "true":
                res[c]["true_lower_frac"] = float(np.mean(
                    [by[(i, "true")]["bpd"] < by[(i, c)]["bpd"] for i in ids]))
        res["mean_nfe"] = float(np.mean([r["nfe"] for r in rows]))
        res["wall_s"] = time.time() - t0
        res["s_per_row"] = res["wall_s"] / len(rows)
        print(f"{name} bpd: {res}", flush=True)
        out[name] = res
    return out


def reused_bpd(folder: Path) -> dict:
    """Return the bpd section of folder/checks.json, raising unless it was measured on the
    same UNet, text encoders and VAE encoder (a decoder-only change keeps it valid)."""
    path = folder / "checks.json"
    old = json.loads(path.read_text()).get("bpd") if path.exists() else None
    if not old:
        raise ValueError(f"--reuse-bpd: {path} has no bpd section; run with --bpd-only first")
    now = latent_model_hash(folder)
    if old.get("latent_model_hash") != now:
        raise ValueError(f"--reuse-bpd: {path} bpd was measured on latent model "
                         f"{old.get('latent_model_hash')!r}, the folder is now {now!r}; rerun")
    return old


def main() -> None:
    """Run the checks and write checks.json, samples.png, loss.png and README.md."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--family", choices=sorted(CARD_FAMILIES), default="sdxl",
                    help="sdxl = sdxl_tiny (UNet, epsilon) | sd3 = sd3_tiny (flow matching)")
    ap.add_argument("--model", default=None, help="model folder (default: the family's "
                    "embedded one, dlik/assets/<family>_tiny)")
    ap.add_argument("--per-prompt", type=int, default=4, help="samples per prompt")
    ap.add_argument("--guidance", type=float, nargs="+", default=[1.0, 3.0],
                    help="pipeline guidance_scale values (1 = no guidance)")
    ap.add_argument("--steps", type=int, default=30, help="sampler steps")
    ap.add_argument("--seed", type=int, default=0)
    bpd = ap.add_mutually_exclusive_group()
    bpd.add_argument("--skip-bpd", action="store_true", help="no likelihood ODEs")
    bpd.add_argument("--bpd-only", action="store_true",
                     help="only the bpd check, merged into checks.json (no card)")
    bpd.add_argument("--reuse-bpd", action="store_true",
                     help="take bpd from checks.json (same UNet / text / VAE encoder only)")
    ap.add_argument("--bpd-items", type=int, default=24, help="test images per set")
    ap.add_argument("--bpd-batch", type=int, default=8)
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(args.model) if args.model else embedded_dir(FAMILIES[args.family])
    if args.bpd_only:
        t0 = time.time()
        path = folder / "checks.json"
        checks = json.loads(path.read_text()) if path.exists() else {}
        checks["bpd"] = bpd_check(folder, args)
        checks["bpd"]["total_wall_min"] = (time.time() - t0) / 60
        checks["bpd_args"] = vars(args)
        path.write_text(json.dumps(checks, indent=1))
        print(f"wrote bpd into {path}", flush=True)
        return
    import diffusers

    t0 = time.time()
    fam = CARD_FAMILIES[args.family]
    pipe = getattr(diffusers, fam.pipeline).from_pretrained(str(folder), **fam.load_kw)
    pipe.set_progress_bar_config(disable=True)
    denoiser = FAMILIES[args.family].denoiser[0]
    checks = {"params": {k: n_params(getattr(pipe, k)) for k in
                         (denoiser, "vae", "text_encoder", "text_encoder_2")},
              "train": train_summary(folder),
              "vae_scaling_factor": pipe.vae.config.scaling_factor,
              "vae_shift_factor": pipe.vae.config.shift_factor,
              "vocab_size": len(pipe.tokenizer)}
    checks["conditional"], grids = conditional_check(pipe, args)
    checks["conditional_wall_min"] = (time.time() - t0) / 60
    save_grid(grids, folder / "samples.png", args.guidance[-1], FAMILIES[args.family].label)
    if args.reuse_bpd:
        checks["bpd"] = reused_bpd(folder)
    elif not args.skip_bpd:
        t1 = time.time()
        checks["bpd"] = bpd_check(folder, args)
        checks["bpd"]["total_wall_min"] = (time.time() - t1) / 60
    checks["args"] = vars(args)
    plot_loss(folder / "train_log.csv", folder / "loss.png")
    (folder / "README.md").write_text("")  # counted in size_mb; rewritten below
    checks["size_mb"] = folder_mb(folder)
    (folder / "checks.json").write_text(json.dumps(checks, indent=1))
    fam.write_card(folder, checks)
    checks["size_mb"] = folder_mb(folder)
    (folder / "checks.json").write_text(json.dumps(checks, indent=1))
    fam.write_card(folder, checks)
    print(f"wrote {folder / 'README.md'}; folder {checks['size_mb']:.2f} MB", flush=True)


def folder_mb(folder: Path) -> float:
    """Return the size of every file under folder in MB (1e6 bytes)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


if __name__ == "__main__":
    main()
