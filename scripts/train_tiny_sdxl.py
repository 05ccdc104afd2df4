"""Train the shipped tiny SDXL-format model (dlik/assets/sdxl_tiny) on the embedded image sets.

    python scripts/train_tiny_sdxl.py                      # VAE, then UNet + text encoders
    python scripts/train_tiny_sdxl.py --resume             # continue from the checkpoint
    python scripts/train_tiny_sdxl.py --smoke              # a few steps into /tmp, to test

Data: the train splits of clevr_shapes and pacs_styles (64 x 64, captions as prompts).
Stage 1 trains the AutoencoderKL (MSE + a small KL), then freezes it; its scaling_factor is
set to 1 / std of the train latent means and latents (mean x scaling_factor) are cached.
Stage 2 trains the UNet and both CLIP text encoders with the epsilon-prediction DDPM loss
over the 1000 discrete timesteps of the scaled_linear schedule, 10% caption dropout to the
null condition (zero prompt embeddings and zero pooled embedding, as the likelihood
adapter's "unconditional"), micro-conditioning time ids (64, 64, 0, 0, 64, 64), and an EMA
of the weights (the EMA weights are saved). Fixed seed; progress and timing are printed;
a checkpoint (torch state dicts, loaded with weights_only=True) is written every
--ckpt-every seconds and at the end of each stage, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import copy
import csv
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dlik.data.image_sets import ShapesImageSet
from dlik.models.sdxl.tiny import SCHEDULER_CONFIG, tiny_pipeline_components

ASSET = Path(__file__).resolve().parents[1] / "dlik" / "assets" / "sdxl_tiny"
TIME_IDS = (64.0, 64.0, 0.0, 0.0, 64.0, 64.0)
SETS = ("clevr_shapes", "pacs_styles")


def load_train(n_per_set: int | None) -> tuple[torch.Tensor, list[str]]:
    """Return train images as a uint8 tensor [N, 3, 64, 64] and their prompts."""
    images, prompts = [], []
    for name in SETS:
        for item in ShapesImageSet(name, split="train", n_items=n_per_set).items():
            images.append(np.asarray(Image.open(item.payload["image_path"]).convert("RGB")))
            prompts.append(item.payload["prompt"])
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(), prompts


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Return uint8 images mapped to [-1, 1] floats."""
    return x.float() / 127.5 - 1.0


def encode_text(parts: dict, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (prompt_embeds [B, L, D1 + D2], pooled [B, P]) as the SDXL pipeline computes them."""
    embeds, pooled = [], None
    for tok, enc in ((parts["tokenizer"], parts["text_encoder"]),
                     (parts["tokenizer_2"], parts["text_encoder_2"])):
        ids = tok(prompts, padding="max_length", max_length=tok.model_max_length,
                  truncation=True, return_tensors="pt").input_ids
        out = enc(ids, output_hidden_states=True)
        if out[0].ndim == 2:
            pooled = out[0]
        embeds.append(out.hidden_states[-2])
    return torch.cat(embeds, dim=-1), pooled


def log_row(path: Path, row: dict) -> None:
    """Append one row to the CSV loss log (header on first write)."""
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def train_vae(parts: dict, images: torch.Tensor, args, state: dict, work: Path,
              t_start: float) -> None:
    """Train the VAE for args.vae_steps steps (resuming from state), in place."""
    vae = parts["vae"]
    opt = torch.optim.Adam(vae.parameters(), lr=args.vae_lr)
    if "vae_opt" in state:
        opt.load_state_dict(state["vae_opt"])
    gen = torch.Generator().manual_seed(args.seed + 1)
    if "vae_gen" in state:
        gen.set_state(state["vae_gen"])
    step, t0, last_ckpt = state.get("vae_step", 0), time.time(), time.time()
    first = step
    vae.train()
    while step < args.vae_steps:
        idx = torch.randint(0, len(images), (args.vae_batch,), generator=gen)
        x = to_unit(images[idx])
        post = vae.encode(x).latent_dist
        z = post.mean + post.std * torch.randn(post.mean.shape, generator=gen)
        rec = vae.decode(z).sample
        mse = torch.nn.functional.mse_loss(rec, x)
        kl = post.kl().mean()
        loss = mse + args.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        log_row(work / "loss_log.csv", {"stage": "vae", "step": step, "loss": f"{mse.item():.6f}",
                                        "kl": f"{kl.item():.3f}",
                                        "wall_s": f"{time.time() - t_start:.1f}"})
        if step % 25 == 0 or step == args.vae_steps:
            print(f"vae step {step}/{args.vae_steps} mse {mse.item():.5f} kl {kl.item():.1f} "
                  f"{(time.time() - t0) / max(step - first, 1):.2f} s/step",
                  flush=True)
        if time.time() - last_ckpt > args.ckpt_every:
            state.update(vae=vae.state_dict(), vae_opt=opt.state_dict(), vae_step=step,
                         vae_gen=gen.get_state(), wall_s=time.time() - t_start)
            save_state(state, work)
            last_ckpt = time.time()
    vae.eval()
    state.update(vae=vae.state_dict(), vae_step=step)
    for key in ("vae_opt", "vae_gen"):
        state.pop(key, None)


@torch.no_grad()
def cache_latents(vae, images: torch.Tensor, batch: int = 128) -> torch.Tensor:
    """Return VAE posterior means of all images (unscaled)."""
    return torch.cat([vae.encode(to_unit(images[i:i + batch])).latent_dist.mean
                      for i in range(0, len(images), batch)])


def alphas_cumprod() -> torch.Tensor:
    """Return alpha-bar of the scaled_linear schedule (1000 steps) in float64."""
    c = SCHEDULER_CONFIG
    betas = torch.linspace(c["beta_start"] ** 0.5, c["beta_end"] ** 0.5,
                           c["num_train_timesteps"], dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def train_loop(modules: dict, loss_fn, args, state: dict, work: Path, t_start: float,
               stage: str, max_steps: int, step_key: str) -> dict:
    """Train modules (the denoiser and text encoders, in place) and return their EMA state
    dicts: AdamW at args.lr with args.warmup linear warm-up steps, grad clip 1, EMA up to
    args.ema, one loss-log row per step (stage), progress every 25 steps, a checkpoint every
    args.ckpt_every seconds and at the end (state keys: each module, ema, opt, step_key, gen,
    wall_s), until max_steps or the args.budget_min wall budget. loss_fn(gen) draws its batch
    from gen (seeded args.seed + 2, resumed from the checkpoint) and returns the loss."""
    params = [p for m in modules.values() for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    ema = {k: copy.deepcopy(m.state_dict()) for k, m in modules.items()}
    if step_key in state:
        for k, m in modules.items():
            m.load_state_dict(state[k])
        ema = state["ema"]
        opt.load_state_dict(state["opt"])
    step = state.get(step_key, 0)
    gen = torch.Generator().manual_seed(args.seed + 2)
    if "gen" in state:
        gen.set_state(state["gen"])
    for m in modules.values():
        m.train()

    def checkpoint() -> None:
        state.update({k: m.state_dict() for k, m in modules.items()}, ema=ema,
                     opt=opt.state_dict(), gen=gen.get_state(), wall_s=time.time() - t_start,
                     **{step_key: step})
        save_state(state, work)

    t0, last_ckpt, done0 = time.time(), time.time(), step
    while step < max_steps and (time.time() - t_start) < args.budget_min * 60:
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / args.warmup)
        loss = loss_fn(gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for k, m in modules.items():
                for name, v in m.state_dict().items():
                    if v.dtype.is_floating_point:
                        ema[k][name].mul_(decay).add_(v, alpha=1 - decay)
        log_row(work / "loss_log.csv", {"stage": stage, "step": step, "loss": f"{loss.item():.6f}",
                                        "kl": "", "wall_s": f"{time.time() - t_start:.1f}"})
        if step % 25 == 0:
            rate = (time.time() - t0) / (step - done0)
            print(f"{stage} step {step}/{max_steps} loss {loss.item():.4f} {rate:.2f} s/step "
                  f"elapsed {(time.time() - t_start) / 60:.1f} min", flush=True)
        if time.time() - last_ckpt > args.ckpt_every:
            checkpoint()
            last_ckpt = time.time()
    checkpoint()
    print(f"{stage} stopped at step {step} after {(time.time() - t_start) / 60:.1f} min",
          flush=True)
    return ema


def train_unet(parts: dict, latents: torch.Tensor, prompts: list[str], args, state: dict,
               work: Path, t_start: float) -> dict:
    """Train UNet + text encoders with the epsilon loss; return the EMA state dicts."""
    abar = alphas_cumprod().float()
    uniq = sorted(set(prompts))
    prompt_idx = torch.tensor([uniq.index(p) for p in prompts])
    time_ids = torch.tensor([TIME_IDS]).repeat(args.batch, 1)

    def loss(gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, len(latents), (args.batch,), generator=gen)
        t = torch.randint(0, 1000, (args.batch,), generator=gen)
        eps = torch.randn(args.batch, *latents.shape[1:], generator=gen)
        keep = (torch.rand(args.batch, generator=gen) >= args.cond_drop).float()
        x0 = latents[idx]
        a = abar[t].view(-1, 1, 1, 1)
        xt = a.sqrt() * x0 + (1 - a).sqrt() * eps
        emb_all, pooled_all = encode_text(parts, uniq)  # all unique prompts, with grad
        emb = emb_all[prompt_idx[idx]] * keep.view(-1, 1, 1)
        pooled = pooled_all[prompt_idx[idx]] * keep.view(-1, 1)
        pred = parts["unet"](xt, t, emb, added_cond_kwargs={"text_embeds": pooled,
                                                            "time_ids": time_ids}).sample
        return torch.nn.functional.mse_loss(pred, eps)

    modules = {k: parts[k] for k in ("unet", "text_encoder", "text_encoder_2")}
    return train_loop(modules, loss, args, state, work, t_start, "unet", args.unet_steps,
                      "unet_step")


def train_decoder(vae, images: torch.Tensor, latents: torch.Tensor, args, state: dict,
                  work: Path, t_start: float) -> None:
    """Fine-tune the VAE decoder alone on the cached (frozen-encoder) latents, in place: the
    latents the UNet models do not change. Inputs get N(0, args.dec_noise^2) noise in scaled
    latent units so the decoder tolerates imperfect generated latents."""
    dec = [vae.post_quant_conv, vae.decoder]
    params = [p for m in dec for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.Adam(params, lr=args.dec_lr)
    if "dec_opt" in state:
        opt.load_state_dict(state["dec_opt"])
    gen = torch.Generator().manual_seed(args.seed + 3)
    if "dec_gen" in state:
        gen.set_state(state["dec_gen"])
    step, t0, last_ckpt = state.get("dec_step", 0), time.time(), time.time()
    first, scale = step, vae.config.scaling_factor
    for m in dec:
        m.train()
    while step < args.decoder_steps and time.time() - t0 < args.decoder_min * 60:
        idx = torch.randint(0, len(images), (args.vae_batch,), generator=gen)
        z = latents[idx] + args.dec_noise / scale * torch.randn(latents[idx].shape, generator=gen)
        mse = torch.nn.functional.mse_loss(vae.decode(z).sample, to_unit(images[idx]))
        opt.zero_grad(set_to_none=True)
        mse.backward()
        opt.step()
        step += 1
        log_row(work / "loss_log.csv", {"stage": "decoder", "step": step,
                                        "loss": f"{mse.item():.6f}", "kl": "",
                                        "wall_s": f"{time.time() - t_start:.1f}"})
        if step % 25 == 0:
            print(f"decoder step {step}/{args.decoder_steps} mse {mse.item():.5f} "
                  f"{(time.time() - t0) / (step - first):.2f} s/step", flush=True)
        if time.time() - last_ckpt > args.ckpt_every:
            state.update(vae=vae.state_dict(), dec_opt=opt.state_dict(), dec_step=step,
                         dec_gen=gen.get_state(), wall_s=time.time() - t_start)
            save_state(state, work)
            last_ckpt = time.time()
    vae.eval().requires_grad_(False)
    state.update(vae=vae.state_dict(), dec_opt=opt.state_dict(), dec_step=step,
                 dec_gen=gen.get_state(), wall_s=time.time() - t_start)
    save_state(state, work)
    print(f"decoder stopped at step {step}", flush=True)


def save_state(state: dict, work: Path) -> None:
    """Write the checkpoint atomically (torch.save of tensors and plain containers)."""
    tmp = work / "ckpt.pt.tmp"
    torch.save(state, tmp)
    tmp.replace(work / "ckpt.pt")


def plot_loss(log: Path, out: Path) -> None:
    """Write the loss curves (VAE MSE, UNet epsilon MSE, decoder fine-tune MSE if logged;
    each with a running mean) of a loss log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    last = {(r["stage"], int(r["step"])): r for r in csv.DictReader(open(log))}
    rows = [last[k] for k in sorted(last)]  # a resumed run re-logs a few steps: keep the last
    titles = {"vae": "VAE reconstruction MSE", "unet": "UNet epsilon MSE",
              "decoder": "decoder fine-tune MSE", "flow": "transformer velocity MSE"}
    stages = [k for k in titles if any(r["stage"] == k for r in rows)]
    fig, axes = plt.subplots(1, len(stages), figsize=(4.5 * len(stages), 3.2), squeeze=False)
    for ax, stage in zip(axes[0], stages):
        title = titles[stage]
        y = np.array([float(r["loss"]) for r in rows if r["stage"] == stage])
        ax.plot(np.arange(1, len(y) + 1), y, lw=0.5, alpha=0.4)
        k = max(1, min(50, len(y) // 10))
        ax.plot(np.arange(k, len(y) + 1), np.convolve(y, np.ones(k) / k, "valid"), lw=1.5)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    """Train (or resume) and save the pipeline with save_pretrained."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=str(ASSET))
    ap.add_argument("--work", default="outputs/train_tiny_sdxl", help="checkpoint + loss log")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="tiny run into /tmp")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-per-set", type=int, default=None, help="train images per set")
    ap.add_argument("--vae-steps", type=int, default=250)
    ap.add_argument("--vae-batch", type=int, default=16)
    ap.add_argument("--vae-lr", type=float, default=1e-3)
    ap.add_argument("--kl-weight", type=float, default=1e-6)
    ap.add_argument("--unet-steps", type=int, default=4000)
    ap.add_argument("--budget-min", type=float, default=50.0,
                    help="wall budget of VAE + UNet stages")
    ap.add_argument("--decoder-steps", type=int, default=1000, help="decoder fine-tune steps")
    ap.add_argument("--decoder-min", type=float, default=15.0, help="decoder wall budget")
    ap.add_argument("--dec-lr", type=float, default=1e-3)
    ap.add_argument("--dec-noise", type=float, default=0.1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--cond-drop", type=float, default=0.1)
    ap.add_argument("--ckpt-every", type=float, default=120.0, help="seconds")
    args = ap.parse_args()
    if args.smoke:
        args.out, args.work = "/tmp/sdxl_tiny_smoke", "/tmp/sdxl_tiny_smoke_work"
        args.n_per_set, args.vae_steps, args.unet_steps, args.decoder_steps = 48, 3, 3, 3
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    state: dict = {}
    if args.resume and (work / "ckpt.pt").exists():
        state = torch.load(work / "ckpt.pt", weights_only=True)
        print(f"resumed: vae step {state.get('vae_step', 0)}, unet step "
              f"{state.get('unet_step', 0)}", flush=True)
    elif (work / "loss_log.csv").exists():
        (work / "loss_log.csv").unlink()
    t_start = time.time() - state.get("wall_s", 0.0)
    images, prompts = load_train(args.n_per_set)
    print(f"train images {len(images)}, unique prompts {len(set(prompts))}", flush=True)
    parts = tiny_pipeline_components(seed=args.seed)
    if "vae" in state:
        parts["vae"].load_state_dict(state["vae"])
    if state.get("vae_step", 0) < args.vae_steps:
        train_vae(parts, images, args, state, work, t_start)
        state["wall_s"] = time.time() - t_start
        save_state(state, work)
    vae = parts["vae"].eval().requires_grad_(False)
    raw = cache_latents(vae, images)
    scale = float(1.0 / raw.std())
    vae.register_to_config(scaling_factor=scale)
    print(f"latents {tuple(raw.shape)} std {raw.std():.4f} -> scaling_factor {scale:.5f} "
          f"({(time.time() - t_start) / 60:.1f} min)", flush=True)
    ema = train_unet(parts, raw * scale, prompts, args, state, work, t_start)
    if state.get("dec_step", 0) < args.decoder_steps:
        train_decoder(vae, images, raw, args, state, work, t_start)
    for k, sd in ema.items():
        parts[k].load_state_dict(sd)
    from diffusers import StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline(**parts, force_zeros_for_empty_prompt=True)
    pipe.save_pretrained(args.out, safe_serialization=True)
    plot_loss(work / "loss_log.csv", Path(args.out) / "loss.png")
    (Path(args.out) / "train_log.csv").write_bytes((work / "loss_log.csv").read_bytes())
    print(f"saved {args.out}; total {(time.time() - t_start) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
