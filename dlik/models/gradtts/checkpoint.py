"""Load and save Grad-TTS weights: official state dicts (.pt) and safetensors with config."""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from pathlib import Path

import torch

from .config import GradTTSConfig
from .model import GradTTS

META_KEY = "dlik_gradtts_config"


def checkpoint_hash(path: str | Path) -> str:
    """Return the first 16 hex digits of the file's sha256."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _refused(path: Path, exc: Exception) -> str:
    """Return the message for a checkpoint that weights_only loading refuses (or cannot parse)."""
    found = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)", str(exc))
    if not found:
        return (f"could not read Grad-TTS checkpoint {path}: UnpicklingError: "
                f"{str(exc).splitlines()[0]}")
    return (f"refused to load Grad-TTS checkpoint {path}: it holds pickled Python objects, not "
            f"only tensors (it calls {found.group(1)}), and dlik never unpickles code "
            "(torch.load weights_only=True). If you trust the file, save its state dict of "
            "tensors again (torch.save(model.state_dict(), ...)) or convert it to safetensors")


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Return (state dict, config dict from metadata or {}); raise ValueError on bad files."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Grad-TTS checkpoint {path} does not exist")
    meta: dict = {}
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                meta = json.loads((f.metadata() or {}).get(META_KEY, "{}"))
                state = {k: f.get_tensor(k) for k in f.keys()}
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ValueError(_refused(path, exc)) from None
    except Exception as exc:  # noqa: BLE001 - truncated/corrupt files raise many types
        raise ValueError(f"could not read Grad-TTS checkpoint {path}: {type(exc).__name__}: "
                         f"{exc}".splitlines()[0]) from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path} does not hold a state dict of tensors")
    return state, meta


def infer_config(state: dict[str, torch.Tensor]) -> dict:
    """Return the hyper-parameters readable from weight shapes (pe_scale is not)."""
    need = ["encoder.emb.weight", "encoder.proj_m.weight", "decoder.estimator.mlp.0.weight"]
    missing = [k for k in need if k not in state]
    if missing:
        raise ValueError(f"not a Grad-TTS state dict: missing keys {missing}")
    emb = state["encoder.emb.weight"]
    hp = {"n_vocab": emb.shape[0], "n_enc_channels": emb.shape[1],
          "n_feats": state["encoder.proj_m.weight"].shape[0],
          "dec_dim": state["decoder.estimator.mlp.0.weight"].shape[1]}
    layers = {int(m.group(1)) for k in state
              if (m := re.match(r"encoder\.encoder\.attn_layers\.(\d+)\.", k))}
    if layers:
        hp["n_enc_layers"] = max(layers) + 1
    if (w := state.get("encoder.encoder.ffn_layers.0.conv_1.weight")) is not None:
        hp["filter_channels"], hp["enc_kernel"] = w.shape[0], w.shape[2]
    if (w := state.get("encoder.proj_w.conv_1.weight")) is not None:
        hp["filter_channels_dp"] = w.shape[0]
    if (w := state.get("encoder.encoder.attn_layers.0.emb_rel_k")) is not None:
        hp["window_size"] = (w.shape[1] - 1) // 2
        hp["n_heads"] = emb.shape[1] // w.shape[2]
    if (w := state.get("spk_emb.weight")) is not None:
        hp["n_spks"], hp["spk_emb_dim"] = w.shape
    return {k: int(v) for k, v in hp.items()}


def _check_keys(model: GradTTS, state: dict, path: Path) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {missing[:5]}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {unexpected[:5]}")
        if shapes:
            parts.append(f"shape mismatches ({len(shapes)}): {shapes[:3]}")
        raise ValueError(f"{path} does not match the Grad-TTS architecture: " + "; ".join(parts))


def load_gradtts(path: str | Path, map_location: str = "cpu", **hparams) -> GradTTS:
    """Return a GradTTS (eval mode) with weights from path; hparams override inference."""
    path = Path(path).expanduser()
    state, meta = read_state_dict(path)
    cfg_dict = {**infer_config(state), **meta, **hparams}
    cfg = GradTTSConfig.from_dict(cfg_dict)
    model = GradTTS(cfg)
    _check_keys(model, state, path)
    model.load_state_dict(state)
    return model.to(map_location).eval()


def save_gradtts(model: GradTTS, path: str | Path) -> Path:
    """Write weights as safetensors with the config in the metadata; return the path."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={META_KEY: json.dumps(model.cfg.to_dict())})
    return path
