"""Load a latent-diffusion pipeline's components from a local diffusers folder (never from a
hub): SDXL, or SD 1.x / 2.x (families.py says which components each needs).

A folder is what `huggingface-cli download stabilityai/stable-diffusion-xl-base-1.0` (or a
pipeline's `save_pretrained`) writes: unet/, vae/, text_encoder/, text_encoder_2/,
tokenizer/, tokenizer_2/, scheduler/ (SD 1.x / 2.x: one text encoder and tokenizer).
Weights must be safetensors (plain or the fp16 variant); pickled .bin weights are refused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .families import FAMILIES, Family

ASSETS = Path(__file__).resolve().parents[2] / "assets"
EMBEDDED_NAMES = ("embedded", "embedded:tiny")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _weight_stem(component: str) -> str:
    """Return the weights file stem of a component (diffusers' or transformers' name)."""
    return ("diffusion_pytorch_model" if component in ("unet", "transformer", "vae")
            else "model")


@dataclass
class Parts:
    """The loaded components of one diffusers folder, plus the files that define them."""

    unet: Any
    """The denoising network: a UNet2DConditionModel, or SD3's SD3Transformer2DModel."""
    vae: Any
    text_encoders: tuple[Any, ...]
    tokenizers: tuple[Any, ...]
    scheduler_config: dict[str, Any]
    files: list[Path]


def embedded_dir(family: Family) -> Path:
    """Return the folder of a family's shipped tiny model (raising if it ships none)."""
    if family.embedded is None:
        shipped = [f.name for f in FAMILIES.values() if f.embedded]
        raise ValueError(f"no embedded {family.label} model is shipped (families with one: "
                         f"{shipped}): pass model.path=/path/to/an {family.label} diffusers "
                         f"folder; {family.hint}")
    return ASSETS / family.embedded


def resolve_path(path: str | os.PathLike | None, family: Family = FAMILIES["sdxl"]) -> Path:
    """Return the folder of `path` ('embedded' = the family's shipped tiny model), raising if
    absent."""
    hint = family.hint
    if path is None or str(path) in ("", "???"):
        tiny = family.embedded or FAMILIES["sdxl"].embedded  # configs/model/<name>.yaml
        raise ValueError(f"model.path is not set: pass model.path=/path/to/an {family.label} "
                         f"diffusers folder, or model={tiny} for the shipped tiny model; {hint}")
    if str(path) in EMBEDDED_NAMES:
        folder = embedded_dir(family)
        if not (folder / family.denoiser[0]).is_dir():
            raise FileNotFoundError(
                f"the embedded tiny {family.label} model is not in {folder}; build it with "
                f"`python {family.train_script}` (CPU), or pass model.path=/path/to/an "
                f"{family.label} diffusers folder")
        return folder
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{family.label} model folder {folder} does not exist; {hint}")
    return folder


def _weight_files(folder: Path, component: str, family: Family = FAMILIES["sdxl"]
                  ) -> tuple[list[Path], str | None]:
    """Return (safetensors files, variant) of one weighted component, raising if none."""
    stem, hint, label = _weight_stem(component), family.hint, family.label
    sub = folder / component
    for variant in (None, "fp16"):
        name = stem if variant is None else f"{stem}.{variant}"
        single, index = sub / f"{name}.safetensors", sub / f"{name}.safetensors.index.json"
        if single.is_file():
            return [single], variant
        if index.is_file():
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            missing = [s for s in shards if not (sub / s).is_file()]
            if missing:
                raise FileNotFoundError(f"{label} component {component!r} in {folder} lacks the "
                                        f"weight shards {missing}; {hint}")
            return [index, *(sub / s for s in shards)], variant
    found = sorted(p.name for p in sub.iterdir()) if sub.is_dir() else []
    bin_hint = " (.bin weights are refused: convert them to safetensors)" if any(
        n.endswith(".bin") for n in found) else ""
    raise FileNotFoundError(
        f"{label} component {component!r} in {folder} has no weights: expected {component}/"
        f"{stem}.safetensors (or its .fp16 variant or a sharded index), found {found}"
        f"{bin_hint}; {hint}")


def check_folder(folder: Path, family: Family = FAMILIES["sdxl"]
                 ) -> tuple[dict[str, str | None], list[Path]]:
    """Return ({weighted component: variant}, defining files) of a folder, raising on a gap."""
    hint, name = family.hint, family.label
    missing = [c for c in family.components if not (folder / c).is_dir()]
    if missing:
        raise FileNotFoundError(f"{name} folder {folder} is missing the component folder(s) "
                                f"{missing} (needs {list(family.components)}); {hint}")
    files: list[Path] = []
    variants: dict[str, str | None] = {}
    for comp in (family.denoiser[0], "vae", *(c for c, _ in family.encoders)):
        cfg = folder / comp / "config.json"
        if not cfg.is_file():
            raise FileNotFoundError(f"{name} component {comp!r} in {folder} lacks config.json;"
                                    f" {hint}")
        weights, variants[comp] = _weight_files(folder, comp, family)
        files += [cfg, *weights]
    for tok in family.tokenizers:
        sub = folder / tok
        if (sub / "tokenizer.json").is_file():
            files.append(sub / "tokenizer.json")
        elif (sub / "vocab.json").is_file() and (sub / "merges.txt").is_file():
            files += [sub / "vocab.json", sub / "merges.txt"]
        else:
            raise FileNotFoundError(f"{name} component {tok!r} in {folder} needs tokenizer.json"
                                    f" or vocab.json + merges.txt; {hint}")
        files += [p for p in (sub / "tokenizer_config.json",) if p.is_file()]
    sched = folder / "scheduler" / "scheduler_config.json"
    if not sched.is_file():
        raise FileNotFoundError(f"{name} component 'scheduler' in {folder} lacks "
                                f"scheduler_config.json; {hint}")
    return variants, [*files, sched]


def _hash_cache_dir() -> Path:
    return Path(os.environ.get("DLIK_CACHE_DIR", "~/.cache/dlik")).expanduser() / "sha256"


def file_sha256(path: Path, cache_above: int = 64 << 20) -> str:
    """Return a file's sha256: a Hugging Face cache blob's name when it is one (no read), else
    read once; files over cache_above bytes remember it by (path, size, mtime) in
    $DLIK_CACHE_DIR/sha256 (default ~/.cache/dlik) so a 7 GB SDXL folder is read only once."""
    real = path.resolve()
    if real != path.absolute() and _HEX64.match(real.name):
        return real.name
    st = real.stat()
    memo = None
    if st.st_size > cache_above:
        key = hashlib.sha256(f"{real}\x1f{st.st_size}\x1f{st.st_mtime_ns}".encode()).hexdigest()
        memo = _hash_cache_dir() / key
        if memo.is_file() and _HEX64.match(memo.read_text().strip()):
            return memo.read_text().strip()
    h = hashlib.sha256()
    with open(real, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    digest = h.hexdigest()
    if memo is not None:
        try:
            memo.parent.mkdir(parents=True, exist_ok=True)
            memo.write_text(digest)
        except OSError:  # a read-only home only costs a re-read next time
            pass
    return digest


def files_hash(folder: Path, files: list[Path]) -> str:
    """Return sha256 over (relative name, sha256) of every file that defines the model."""
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f"{f.relative_to(folder).as_posix()}\x1f{file_sha256(f)}\n".encode())
    return h.hexdigest()


def read_zero_null(folder: Path, family: Family) -> bool:
    """Return whether the folder's unconditional prompt is all zeros: model_index.json's
    force_zeros_for_empty_prompt when it sets one (SDXL pipelines do), else the family's."""
    index = folder / "model_index.json"
    if not index.is_file():
        return family.zero_null
    value = json.loads(index.read_text()).get("force_zeros_for_empty_prompt", family.zero_null)
    if not isinstance(value, bool):
        raise ValueError(f"{index}: force_zeros_for_empty_prompt must be true or false, got "
                         f"{value!r}")
    return value


def load_parts(folder: Path, device: torch.device, unet_dtype: torch.dtype,
               family: Family = FAMILIES["sdxl"], text_dtype: torch.dtype = torch.float32,
               vae_dtype: torch.dtype = torch.float32) -> Parts:
    """Return the components of a checked folder: the denoiser in unet_dtype, the text
    encoders in text_dtype, the VAE in vae_dtype (float32 by default)."""
    import diffusers
    import transformers
    from diffusers import AutoencoderKL
    from transformers import CLIPTokenizer

    from transformers.utils import logging as hf_logging

    variants, files = check_folder(folder, family)
    common = {"local_files_only": True, "use_safetensors": True}
    # diffusers warns on every load when its default low_cpu_mem_usage lacks accelerate
    low_mem = {"low_cpu_mem_usage": importlib.util.find_spec("accelerate") is not None}

    def load(cls, comp: str, dtype: torch.dtype, key: str, extra: dict) -> Any:
        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # transformers' per-load "Loading weights" bar
        try:
            model = cls.from_pretrained(folder, subfolder=comp, variant=variants[comp],
                                        **{key: dtype}, **common, **extra)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            raise ValueError(f"cannot load {family.label} component {comp!r} from {folder}: "
                             f"{exc}") from exc
        finally:
            if bar:
                hf_logging.enable_progress_bar()
        return model.to(device).eval().requires_grad_(False)

    parts = Parts(
        unet=load(getattr(diffusers, family.denoiser[1]), family.denoiser[0], unet_dtype,
                  "torch_dtype", low_mem),
        vae=load(AutoencoderKL, "vae", vae_dtype, "torch_dtype", low_mem),
        text_encoders=tuple(load(getattr(transformers, cls), comp, text_dtype, "dtype", {})
                            for comp, cls in family.encoders),
        tokenizers=tuple(CLIPTokenizer.from_pretrained(folder, subfolder=tok,
                                                       local_files_only=True)
                         for tok in family.tokenizers),
        scheduler_config=json.loads((folder / "scheduler" / "scheduler_config.json").read_text()),
        files=files)
    added = parts.unet.config.get("addition_embed_type")
    if family.micro_conditioning and added != "text_time":
        raise ValueError(f"{folder}/unet has addition_embed_type={added!r}; an SDXL UNet "
                         "needs 'text_time' (pooled text + micro-conditioning time ids)")
    if not family.micro_conditioning and added is not None:
        raise ValueError(f"{folder}/unet has addition_embed_type={added!r}, which "
                         f"{family.label} pipelines do not feed; for SDXL use model=sdxl")
    return parts
