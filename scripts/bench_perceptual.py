"""Wall time each perceptual measure adds to one study row (one thread): HiFi-GAN vocoding of a
2.5 s mel, DNSMOS, PESQ-WB, STOI, SSIM of a 64x64 image, MS-SSIM of a 256x256 one. Prints one
JSON line per measure: wall and CPU seconds of the first call (model load / JIT included)
and the medians of the rest (CPU seconds are the ones a busy shared machine does not inflate).

    python scripts/bench_perceptual.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

torch.set_num_threads(1)


def _time(fn, repeats: int) -> dict:
    """Return the wall and CPU seconds of the first call and the medians of the next ones."""
    out = []
    for _ in range(repeats + 1):
        w, c = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - w, time.process_time() - c))
    rest = np.array(out[1:])
    return {"first_wall_s": round(out[0][0], 4), "first_cpu_s": round(out[0][1], 4),
            "median_wall_s": round(float(np.median(rest[:, 0])), 4),
            "median_cpu_s": round(float(np.median(rest[:, 1])), 4), "repeats": repeats}


def main() -> None:
    """Print the per-row wall time of each measure as JSON lines."""
    from dlik.data.audio import mel_spectrogram
    from dlik.experiments.perceptual_rows import VocodedSpeech
    from dlik.metrics import perceptual as P

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    sr, n = 22050, int(2.5 * 22050)
    t = np.arange(n) / sr
    ref = 0.3 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    deg = ref + 0.05 * rng.standard_normal(n)
    mel = mel_spectrogram(torch.from_numpy(deg.astype(np.float32)))
    voc = VocodedSpeech()
    img = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    big = Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8))
    cases = {
        "vocode_hifigan_2.5s": lambda: voc.vocode(mel),
        "dnsmos_2.5s": lambda: P.dnsmos(deg, sr),
        "pesq_wb_2.5s": lambda: P.pesq_wb(ref, deg, sr),
        "stoi_2.5s": lambda: P.stoi(ref, deg, sr),
        "ssim_64px": lambda: P.ssim(img, img),
        "ms_ssim_256px": lambda: P.ms_ssim(big, big),
    }
    for name, fn in cases.items():
        print(json.dumps({"measure": name, **_time(fn, args.repeats)}), flush=True)


if __name__ == "__main__":
    main()
