"""Train the embedded small Grad-TTS on the synthetic corpus (single- or multi-speaker).

    python scripts/train_gradtts.py --corpus ljspeech --minutes 40
    python scripts/train_gradtts.py --corpus libritts --minutes 40

Writes dlik/assets/gradtts_<corpus>_synth.safetensors (weights + config metadata), a loss
log CSV, a loss-curve PNG and a model card (MODEL_CARD_<corpus>.md) with held-out bpd.
Deterministic given the corpus, seed and number of steps (CPU).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch

from dlik.data.audio import load_audio, mel_spectrogram
from dlik.data.corpus_readers import read_libritts, read_ljspeech
from dlik.data.speech_corpus import ensure_corpus
from dlik.models.gradtts.checkpoint import load_gradtts, save_gradtts
from dlik.models.gradtts.config import GradTTSConfig
from dlik.models.gradtts.default_weights import ASSETS, EMBEDDED
from dlik.models.gradtts.model import GradTTS
from dlik.text import CMUDict, text_to_ids

CORPORA = {"ljspeech": ("ljspeech_synth", read_ljspeech),
           "libritts": ("libritts_synth", read_libritts)}
SMALL = dict(n_enc_channels=96, filter_channels=384, filter_channels_dp=128, n_heads=2,
             n_enc_layers=4, enc_kernel=3, enc_dropout=0.1, window_size=4, n_feats=80,
             dec_dim=24, beta_min=0.05, beta_max=20.0, pe_scale=1000, spk_emb_dim=64)


def load_items(utts, dictionary) -> list[dict]:
    """Return [{ids, mel, spk}] for utterances (mel [80, T] float32)."""
    items = []
    for u in utts:
        mel = mel_spectrogram(torch.from_numpy(load_audio(str(u.wav_path))))
        items.append({"ids": torch.tensor(text_to_ids(u.text, dictionary)), "mel": mel,
                      "spk": int(u.speaker_index), "id": u.utt_id})
    return items


def collate(batch: list[dict]) -> dict:
    """Return padded tensors x [B, Tx], x_len, y [B, 80, Ty], y_len, spk [B]."""
    tx = max(len(b["ids"]) for b in batch)
    ty = max(b["mel"].shape[1] for b in batch)
    x = torch.zeros(len(batch), tx, dtype=torch.long)
    y = torch.zeros(len(batch), 80, ty)
    for i, b in enumerate(batch):
        x[i, : len(b["ids"])] = b["ids"]
        y[i, :, : b["mel"].shape[1]] = b["mel"]
    return {"x": x, "x_len": torch.tensor([len(b["ids"]) for b in batch]), "y": y,
            "y_len": torch.tensor([b["mel"].shape[1] for b in batch]),
            "spk": torch.tensor([b["spk"] for b in batch])}


def heldout_bpd(weights: Path, utts, n: int, noise_snr: float = 10.0) -> dict:
    """Return mean bpd on n held-out utterances: clean, white noise at 10 dB, time-reversed."""
    from dlik.data.perturbations import white_noise
    from dlik.engine.solve import SolverSpec
    from dlik.models.base import Job
    from dlik.models.gradtts.adapter import GradTTSAdapter
    from dlik.scoring.runner import Runner, ScoreSettings

    ad = GradTTSAdapter(checkpoint=str(weights))
    multi = ad.cfg.n_spks > 1
    jobs = []
    for u in utts[:n]:
        base = {"audio_path": str(u.wav_path), "text": u.text}
        if multi:
            base["speaker"] = int(u.speaker_index)
        jobs += [Job(u.utt_id, "clean", {}, base),
                 Job(u.utt_id, "noise10", {}, {**base, "wave_transform":
                     lambda w: white_noise(w, 22050, noise_snr, seed=0)}),
                 Job(u.utt_id, "reversed", {}, {**base, "mel_transform":
                     lambda m: torch.flip(m, dims=[1])})]
    rows: list[dict] = []
    settings = ScoreSettings(solver=SolverSpec("dopri5", 1e-3, 1e-3), batch_size=8)
    Runner(ad, settings, rows.append, progress=False).run(jobs)
    out = {}
    for cond in ("clean", "noise10", "reversed"):
        vals = [r["bpd"] for r in rows if r["condition_id"] == cond and r["status"] == "ok"]
        out[cond] = float(np.mean(vals)) if vals else float("nan")
    return out


def plot_losses(log_path: Path, png: Path) -> None:
    """Write the loss-curve PNG from the CSV log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(open(log_path)))
    steps = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for key in ("dur_loss", "prior_loss", "diff_loss"):
        ax.plot(steps, [float(r[key]) for r in rows], label=key)
    ax.set_xlabel("step")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def main() -> None:
    """Train, save weights, log, plot, evaluate, write the model card."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", choices=sorted(CORPORA), default="ljspeech")
    ap.add_argument("--minutes", type=float, default=40.0, help="wall-clock budget")
    ap.add_argument("--max-steps", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=12)
    ap.add_argument("--out-size", type=int, default=96, help="decoder segment (frames)")
    ap.add_argument("--save-every-min", type=float, default=5.0, help="periodic snapshot")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--eval-utts", type=int, default=3)
    ap.add_argument("--resume", action="store_true",
                    help="continue from the saved weights (fresh Adam state), appending to the log")
    ap.add_argument("--card-only", action="store_true",
                    help="skip training; evaluate saved weights and write the model card")
    args = ap.parse_args()
    if args.card_only:
        torch.set_num_threads(args.threads)
        return card_from_saved(args)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    name, reader = CORPORA[args.corpus]
    root = ensure_corpus(name)
    dictionary = CMUDict.default()
    train = reader(root, split="train")
    items = load_items(train, dictionary)
    n_spks = 1 + max(i["spk"] for i in items) if args.corpus == "libritts" else 1
    cfg = GradTTSConfig(**SMALL, n_spks=n_spks)
    out = args.out or EMBEDDED[args.corpus]
    model = load_gradtts(out) if args.resume else GradTTS(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    log_path = ASSETS / f"train_log_{args.corpus}.csv"
    ASSETS.mkdir(parents=True, exist_ok=True)
    step, done_s = last_logged(log_path) if args.resume else (0, 0.0)
    logf = open(log_path, "a" if args.resume else "w", newline="")
    log = csv.writer(logf)
    if not args.resume:
        log.writerow(["step", "elapsed_s", "dur_loss", "prior_loss", "diff_loss"])
    start = time.time()
    last_save = start
    order = list(range(len(items)))
    rng = random.Random(args.seed + step)
    print(f"[train] {args.corpus}: {len(items)} utts, {n_params / 1e6:.2f} M params, "
          f"{n_spks} speakers")
    model.train()
    while step < args.max_steps and time.time() - start < args.minutes * 60:
        rng.shuffle(order)
        for i in range(0, len(order) - args.batch_size + 1, args.batch_size):
            b = collate([items[j] for j in order[i: i + args.batch_size]])
            spk = b["spk"] if n_spks > 1 else None
            dur, prior, diff = model.compute_loss(b["x"], b["x_len"], b["y"], b["y_len"],
                                                  spk=spk, out_size=args.out_size)
            loss = dur + prior + diff
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            dur, prior, diff = (float(v.detach()) for v in (dur, prior, diff))
            if step % 10 == 0:
                log.writerow([step, round(done_s + time.time() - start, 1), dur, prior, diff])
                logf.flush()
            if step % 100 == 0:
                print(f"[train] step {step} {time.time() - start:.0f}s dur {dur:.3f} "
                      f"prior {prior:.3f} diff {diff:.3f}", flush=True)
            if time.time() - last_save > args.save_every_min * 60:
                model.eval()
                save_gradtts(model, out)
                model.train()
                last_save = time.time()
            if step >= args.max_steps or time.time() - start > args.minutes * 60:
                break
    logf.close()
    model.eval()
    save_gradtts(model, out)
    write_card(args, name, cfg, n_params, len(items), step,
               (done_s + time.time() - start) / 60, out)


def last_logged(log_path: Path) -> tuple[int, float]:
    """Return (step, elapsed seconds) of the last row of a loss log."""
    last = list(csv.DictReader(open(log_path)))[-1]
    return int(last["step"]), float(last["elapsed_s"])


def write_card(args, name: str, cfg: GradTTSConfig, n_params: int, n_items: int, step: int,
               minutes: float, out: Path) -> None:
    """Plot the loss curve, score held-out speech and write MODEL_CARD_<corpus>.md."""
    log_path = ASSETS / f"train_log_{args.corpus}.csv"
    plot_losses(log_path, log_path.with_suffix(".png"))
    _, reader = CORPORA[args.corpus]
    root = ensure_corpus(name)
    held = reader(root, split="valid") or reader(root, split="test")
    bpd = heldout_bpd(out, held, args.eval_utts)
    card = ASSETS / f"MODEL_CARD_{args.corpus}.md"
    resumed = (" (resumed from saved weights with --resume; the loss log holds the whole run)"
               if getattr(args, "resume", False) else "")
    card.write_text(
        f"# Embedded Grad-TTS ({args.corpus}, synthetic corpus)\n\n"
        f"- data: `{name}` (espeak-ng synthetic, {n_items} training utterances, "
        f"{cfg.n_spks} speaker(s)); built by scripts/make_speech_corpus.py\n"
        f"- config: `{json.dumps(cfg.to_dict())}`\n"
        f"- parameters: {n_params} ({out.stat().st_size / 1e6:.1f} MB safetensors)\n"
        f"- training: {step} steps, batch {args.batch_size}, segment {args.out_size} frames, "
        f"Adam lr {args.lr}, grad clip 1, seed {args.seed}, {args.threads} CPU threads, "
        f"{minutes:.1f} min\n"
        f"- loss log: `{log_path.name}`, curve: `{log_path.with_suffix('.png').name}`\n"
        f"- held-out bpd ({args.eval_utts} utts, batched dopri5 atol=rtol=1e-3, N(mu, I)): "
        f"clean {bpd['clean']:.4f}, white noise 10 dB {bpd['noise10']:.4f}, "
        f"time-reversed mel {bpd['reversed']:.4f}\n"
        f"- reproduce: `python scripts/train_gradtts.py --corpus {args.corpus} "
        f"--minutes {args.minutes} --seed {args.seed}`{resumed}\n")
    print(card.read_text())
    if not math.isfinite(bpd["clean"]):
        raise SystemExit("held-out evaluation failed")


def card_from_saved(args) -> None:
    """--card-only: rebuild the model card from the saved weights and the loss log."""
    name, _ = CORPORA[args.corpus]
    out = args.out or EMBEDDED[args.corpus]
    model = load_gradtts(out)
    step, done_s = last_logged(ASSETS / f"train_log_{args.corpus}.csv")
    items = CORPORA[args.corpus][1](ensure_corpus(name), split="train")
    write_card(args, name, model.cfg, sum(p.numel() for p in model.parameters()), len(items),
               step, done_s / 60, out)

if __name__ == "__main__":
    main()
