"""Fixed likelihood jobs whose values are pinned in golden.csv (written by the tree before the
second-modality refactor, so a refactor that moves code must reproduce them).

Runs with the runner API shared by both trees: ScoreSettings(solver=SolverSpec(...), batch_size)
and Runner(adapter, settings, sink).run(jobs). Regenerate only on purpose:
    python -m tests.golden.cases --write
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

HERE = Path(__file__).resolve().parent
VALUES = ["logp_nats", "bpd", "prior_logp", "divergence_integral", "n_dims", "nfe", "status"]


def _waves(out: Path) -> list[Path]:
    """Write two deterministic 22.05 kHz test signals (chirp + harmonics + seeded noise)."""
    import soundfile as sf

    paths = []
    for k, seconds in enumerate((0.9, 1.3)):
        t = np.arange(int(22050 * seconds)) / 22050
        f0 = 110 + 60 * k + 40 * t
        x = sum(np.sin(2 * np.pi * h * np.cumsum(f0) / 22050) / h for h in (1, 2, 3))
        x = 0.2 * x + 0.01 * np.random.default_rng(k).standard_normal(t.size)
        p = out / f"golden{k}.wav"
        sf.write(p, x.astype(np.float32), 22050, subtype="FLOAT")
        paths.append(p)
    return paths


def rows(tmp: Path, cases: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Return the golden cases' rows (case, sample_id, condition_id, VALUES), all cases or
    only those named."""
    from dlik.engine.solve import SolverSpec
    from dlik.models.base import Job
    from dlik.models.gaussian import GaussianAdapter
    from dlik.models.gradtts.adapter import GradTTSAdapter
    from dlik.scoring.runner import Runner, ScoreSettings

    torch.set_num_threads(1)
    out: list[dict] = []

    def run(case, adapter, jobs, spec, batch):
        if cases is not None and case not in cases:
            return
        got: list[dict] = []
        Runner(adapter, ScoreSettings(solver=spec, batch_size=batch), got.append,
               progress=False).run(jobs)
        out.extend({"case": case, "sample_id": r["sample_id"],
                    "condition_id": r["condition_id"], **{k: r.get(k) for k in VALUES}}
                   for r in got)

    gauss = GaussianAdapter(dim=16)
    gjobs = [Job(f"g{i}", "c") for i in range(12)]
    run("gaussian_dopri5_1e-5", gauss, gjobs,
        SolverSpec("dopri5", 1e-5, 1e-5, "batched", probes="independent"), 8)
    # pinned cases keep the probes they were recorded with: one per row (probes=independent)
    run("gaussian_rk4_h0.05", gauss, gjobs[:4],
        SolverSpec("rk4", step_size=0.05, probes="independent"), 4)

    tts = GradTTSAdapter(checkpoint="embedded:ljspeech")
    waves = _waves(tmp)
    texts = ["the quick brown fox", "", "a completely different sentence here"]
    tjobs = [Job(f"w{k}", f"text{i}", payload={"audio_path": str(w), "text": tx})
             for k, w in enumerate(waves) for i, tx in enumerate(texts)]
    run("gradtts_dopri5_1e-3", tts, tjobs,
        SolverSpec("dopri5", 1e-3, 1e-3, "batched", probes="independent", steps="own"), 3)
    run("gradtts_paper", tts, tjobs[:2], SolverSpec("dopri5", 1e-5, 1e-5, "torchdiffeq",
                                                    probes="independent", steps="own"), 1)
    return pd.DataFrame(out)


def _cpu_isa() -> list[str]:
    """Return the CPU's vector-ISA flags (avx*, amx*, fma, f16c) from /proc/cpuinfo: oneDNN
    picks float32 kernels by them, so two "AVX512" hosts can round differently."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines()
                  if ln.startswith("flags")), [])
    return sorted(f for f in flags if f.startswith(("avx", "amx")) or f in ("fma", "f16c"))


def fingerprint() -> dict:
    """Return what bitwise equality depends on: torch version, CPU kernel capability and the
    CPU's vector-ISA flags."""
    return {"torch": torch.__version__, "cpu": torch.backends.cpu.get_cpu_capability(),
            "isa": _cpu_isa()}


def main(argv: list[str] | None = None) -> int:
    """Write (--write) or print the golden rows."""
    import tempfile

    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        df = rows(Path(d))
    if args.write:
        df.to_csv(HERE / "golden.csv", index=False, float_format="%.17g")
        (HERE / "fingerprint.json").write_text(json.dumps(fingerprint()) + "\n")
    print(df.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
