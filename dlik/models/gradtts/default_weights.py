"""Embedded Grad-TTS weights shipped with dlik, and resolution of checkpoint names."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EMBEDDED = {
    "ljspeech": ASSETS / "gradtts_ljspeech_synth.safetensors",
    "libritts": ASSETS / "gradtts_libritts_synth.safetensors",
}


def resolve_checkpoint(checkpoint: str | None) -> Path:
    """Return the file of 'embedded:NAME' or of a local path; raise naming what is accepted."""
    if checkpoint is None or str(checkpoint).startswith("embedded:"):
        name = "ljspeech" if checkpoint is None else str(checkpoint).split(":", 1)[1]
        if name not in EMBEDDED:
            raise ValueError(f"embedded checkpoint must be one of "
                             f"{['embedded:' + k for k in EMBEDDED]}, got {checkpoint!r}")
        path = EMBEDDED[name]
        if not path.exists():
            raise FileNotFoundError(f"embedded weights {path} are missing: train them with "
                                    f"scripts/train_gradtts.py --corpus {name}")
        return path
    path = Path(checkpoint).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    return path
