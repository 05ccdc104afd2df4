"""Train the shipped tiny SD3-format flow-matching model (dlik/assets/sd3_tiny) on the
embedded image sets, beside sdxl_tiny and on the same data.

    python scripts/train_tiny_sd3.py                       # transformer + text encoders
    python scripts/train_tiny_sd3.py --resume              # continue from the checkpoint
    python scripts/train_tiny_sd3.py --smoke               # a few steps into /tmp, to test

Data: the train splits of clevr_shapes and pacs_styles (64 x 64, captions as prompts), as
scripts/train_tiny_sdxl.py. The VAE is sdxl_tiny's, frozen (4 x 8 x 8 latents); its config
gets SD3's shift_factor (mean of the train latent means) and scaling_factor (1 / their std
after the shift), so the pipeline's (z - shift) x scale latents are centred and unit scale.
The SD3Transformer2DModel (patch 1: 64 image tokens) and two CLIPTextModelWithProjection
encoders are trained with the rectified-flow loss: x_t = (1 - t) x0 + t eps, t ~ U(0, 1),
target velocity eps - x0, the transformer called at timestep 1000 t (the scheduler's
convention); 10% caption dropout to the empty prompt "" (the pipeline's negative prompt and
the likelihood adapter's unconditional); no T5 (its tokens are max_sequence_length = 1 zero
vectors, as the pipeline builds them without text_encoder_3); EMA weights saved.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from train_tiny_sdxl import cache_latents, load_train, plot_loss, train_loop

from dlik.models.sd3.tiny import SD3_TINY_SIZES, sd3_text_parts, sd3_transformer
from dlik.models.sdxl.tiny import _sizes

ROOT = Path(__file__).resolve().parents[1] / "dlik" / "assets"
ASSET, SDXL = ROOT / "sd3_tiny", ROOT / "sdxl_tiny"
MAX_LENGTH = 16   # CLIP tokens (captions are at most 6 words)
T5_TOKENS = 1     # max_sequence_length: the zero "T5" tokens the pipeline appends
SHIFT = 1.0       # FlowMatchEulerDiscreteScheduler shift (a 64 x 64 model: no resolution shift)


def encode_text(parts: dict, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (prompt_embeds [B, L + T5_TOKENS, D1 + D2], pooled [B, P1 + P2]) as
    StableDiffusion3Pipeline.encode_prompt builds them without T5 (with grad)."""
    hidden, pooled = [], []
    for tok, enc in ((parts["tokenizer"], parts["text_encoder"]),
                     (parts["tokenizer_2"], parts["text_encoder_2"])):
        ids = tok(prompts, padding="max_length", max_length=tok.model_max_length,
                  truncation=True, return_tensors="pt").input_ids
        out = enc(ids, output_hidden_states=True)
        hidden.append(out.hidden_states[-2])
        pooled.append(out.text_embeds)
    clip = torch.cat(hidden, dim=-1)
    t5 = torch.zeros(len(prompts), T5_TOKENS, clip.shape[-1])
    return torch.cat([clip, t5], dim=1), torch.cat(pooled, dim=-1)


def train(parts: dict, latents: torch.Tensor, prompts: list[str], args, state: dict,
          work: Path, t_start: float) -> dict:
    """Train transformer + text encoders with the flow-matching loss; return EMA state dicts."""
    uniq = sorted(set(prompts)) + [""]
    prompt_idx = torch.tensor([uniq.index(p) for p in prompts])

    def loss(gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(0, len(latents), (args.batch,), generator=gen)
        t = torch.rand(args.batch, generator=gen)
        eps = torch.randn(args.batch, *latents.shape[1:], generator=gen)
        drop = torch.rand(args.batch, generator=gen) < args.cond_drop
        x0 = latents[idx]
        xt = (1 - t.view(-1, 1, 1, 1)) * x0 + t.view(-1, 1, 1, 1) * eps
        emb_all, pooled_all = encode_text(parts, uniq)  # every caption and "", with grad
        rows = torch.where(drop, len(uniq) - 1, prompt_idx[idx])
        pred = parts["transformer"](hidden_states=xt, timestep=1000 * t,
                                    encoder_hidden_states=emb_all[rows],
                                    pooled_projections=pooled_all[rows]).sample
        return torch.nn.functional.mse_loss(pred, eps - x0)

    modules = {k: parts[k] for k in ("transformer", "text_encoder", "text_encoder_2")}
    return train_loop(modules, loss, args, state, work, t_start, "flow", args.steps, "step")


def main() -> None:
    """Train (or resume) and save the pipeline with save_pretrained."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", default=str(ASSET))
    ap.add_argument("--work", default="outputs/train_tiny_sd3", help="checkpoint + loss log")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="tiny run into /tmp")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-per-set", type=int, default=None, help="train images per set")
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--budget-min", type=float, default=55.0, help="wall budget (minutes)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=6e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--ema", type=float, default=0.995)
    ap.add_argument("--cond-drop", type=float, default=0.1)
    ap.add_argument("--ckpt-every", type=float, default=120.0, help="seconds")
    args = ap.parse_args()
    if args.smoke:
        args.out, args.work = "/tmp/sd3_tiny_smoke", "/tmp/sd3_tiny_smoke_work"
        args.n_per_set, args.steps = 48, 3
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    state: dict = {}
    if args.resume and (work / "ckpt.pt").exists():
        state = torch.load(work / "ckpt.pt", weights_only=True)
        print(f"resumed at step {state.get('step', 0)}", flush=True)
    elif (work / "loss_log.csv").exists():
        (work / "loss_log.csv").unlink()
    t_start = time.time() - state.get("wall_s", 0.0)
    images, prompts = load_train(args.n_per_set)
    print(f"train images {len(images)}, unique prompts {len(set(prompts))}", flush=True)
    from diffusers import (AutoencoderKL, FlowMatchEulerDiscreteScheduler,
                           StableDiffusion3Pipeline)

    vae = AutoencoderKL.from_pretrained(SDXL, subfolder="vae").eval().requires_grad_(False)
    raw = cache_latents(vae, images)
    shift = float(raw.mean())
    scale = float(1.0 / (raw - shift).std())
    vae.register_to_config(shift_factor=shift, scaling_factor=scale)
    print(f"latents {tuple(raw.shape)}: shift_factor {shift:.5f}, scaling_factor {scale:.5f}",
          flush=True)
    s = _sizes({"max_length": MAX_LENGTH})
    parts = sd3_text_parts(s, args.seed)
    dim = s["text_hidden"] + s["text_hidden_2"]
    parts["transformer"] = sd3_transformer(raw.shape[-1], raw.shape[1], joint_dim=dim,
                                           pooled_dim=2 * s["projection_dim"], **SD3_TINY_SIZES)
    n = sum(p.numel() for k in ("transformer", "text_encoder", "text_encoder_2")
            for p in parts[k].parameters())
    print(f"trainable parameters {n:,}", flush=True)
    ema = train(parts, (raw - shift) * scale, prompts, args, state, work, t_start)
    for k, sd in ema.items():
        parts[k].load_state_dict(sd)
    pipe = StableDiffusion3Pipeline(vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=SHIFT),
                                    text_encoder_3=None, tokenizer_3=None, **parts)
    pipe.save_pretrained(args.out, safe_serialization=True)
    plot_loss(work / "loss_log.csv", Path(args.out) / "loss.png")
    (Path(args.out) / "train_log.csv").write_bytes((work / "loss_log.csv").read_bytes())
    print(f"saved {args.out}; total {(time.time() - t_start) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
