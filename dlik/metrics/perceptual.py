"""Perceptual measures (optional extra dlik[perceptual]): DNSMOS P.835 (SIG, BAK, OVRL) and
P.808 from the ONNX models inside the speechmos wheel, wideband PESQ and STOI against a clean
reference, SSIM and MS-SSIM of an image against its clean one (torchmetrics).

A measure that cannot run on an input raises Unmeasurable with the reason; speech_measures /
image_measures turn that (or a missing package) into an empty cell and a line in the note.
"""

from __future__ import annotations

import importlib.metadata
import warnings

import numpy as np

SPEECH_COLUMNS = ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808", "pesq_wb", "stoi"]
IMAGE_COLUMNS = ["ssim", "ms_ssim"]
NOTE_COLUMN, VERSIONS_COLUMN = "perceptual_note", "perceptual_versions"
SPEECH_PACKAGES = ("speechmos", "onnxruntime", "pesq", "pystoi")
IMAGE_PACKAGES = ("torchmetrics",)
INSTALL_HINT = "pip install 'dlik[perceptual]'"
DNSMOS_SR, PESQ_SR = 16000, 16000
MS_SSIM_KERNEL, MS_SSIM_SCALES = 11, 5


class Unmeasurable(ValueError):
    """A measure cannot run on this input; the message is the reason written to the row."""


def versions(packages) -> str:
    """Return 'pkg=version;...' of the installed packages ('pkg=missing' when absent)."""
    out = []
    for p in packages:
        try:
            out.append(f"{p}={importlib.metadata.version(p)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{p}=missing")
    return ";".join(out)


def resample(wave: np.ndarray, sr: int, to: int) -> np.ndarray:
    """Return wave (float64) resampled from sr to `to` Hz (polyphase, exact ratio)."""
    from math import gcd

    from scipy.signal import resample_poly

    w = np.asarray(wave, dtype=np.float64)
    if sr == to:
        return w
    g = gcd(int(sr), int(to))
    return resample_poly(w, to // g, sr // g)


def _playable(wave: np.ndarray) -> np.ndarray:
    w = np.asarray(wave, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise Unmeasurable(f"needs a non-empty mono wave, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise Unmeasurable("wave has non-finite samples")
    return np.clip(w, -1.0, 1.0)  # as a player would


class _Dnsmos:
    """speechmos' DNSMOS on one onnxruntime thread (the model files of the wheel)."""

    _model = None

    @classmethod
    def model(cls):
        if cls._model is None:
            import os

            import onnxruntime as ort
            from speechmos import dnsmos

            here = os.path.join(os.path.dirname(dnsmos.__file__), "dnsmos_models")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = opts.inter_op_num_threads = 1
            m = dnsmos.DNSMOS.__new__(dnsmos.DNSMOS)
            m.primary_model_path = os.path.join(here, "sig_bak_ovr.onnx")
            m.onnx_sess = ort.InferenceSession(m.primary_model_path, opts,
                                               providers=["CPUExecutionProvider"])
            m.p808_onnx_sess = ort.InferenceSession(os.path.join(here, "model_v8.onnx"), opts,
                                                    providers=["CPUExecutionProvider"])
            cls._model = m
        return cls._model


def dnsmos(wave: np.ndarray, sr: int) -> dict[str, float]:
    """Return dnsmos_sig, dnsmos_bak, dnsmos_ovrl (P.835) and dnsmos_p808 of a wave (clipped
    to [-1, 1], resampled to 16 kHz; speechmos tiles clips under 9.01 s)."""
    w = resample(_playable(wave), sr, DNSMOS_SR)
    if np.max(np.abs(w)) == 0:
        raise Unmeasurable("silent wave")
    r = _Dnsmos.model()(np.clip(w, -1, 1).astype(np.float32), DNSMOS_SR, False)
    out = {"dnsmos_sig": r["sig_mos"], "dnsmos_bak": r["bak_mos"],
           "dnsmos_ovrl": r["ovrl_mos"], "dnsmos_p808": r["p808_mos"]}
    if not all(np.isfinite(float(v)) for v in out.values()):
        raise Unmeasurable(f"non-finite DNSMOS output {out}")
    return {k: float(v) for k, v in out.items()}


def pesq_wb(ref: np.ndarray, deg: np.ndarray, sr: int) -> float:
    """Return wideband PESQ (MOS-LQO, at most 4.644) of deg against ref, both at 16 kHz."""
    from pesq import PesqError, pesq

    r, d = (resample(_playable(x), sr, PESQ_SR) for x in (ref, deg))
    try:
        return float(pesq(PESQ_SR, r, d, "wb"))
    except PesqError as exc:
        msg = exc.args[0] if exc.args else exc
        msg = msg.decode() if isinstance(msg, bytes) else str(msg)
        raise Unmeasurable(f"{type(exc).__name__}: {msg}") from None


def stoi(ref: np.ndarray, deg: np.ndarray, sr: int) -> float:
    """Return STOI (0-1) of deg against the time-aligned ref of the same length."""
    from pystoi import stoi as _stoi

    r, d = _playable(ref), _playable(deg)
    if len(r) != len(d):
        raise Unmeasurable(f"needs time-aligned waves of one length, got {len(r)} and "
                           f"{len(d)} samples")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        v = float(_stoi(r, d, sr, extended=False))
    short = [w for w in caught if "Not enough STFT frames" in str(w.message)]
    if short:  # pystoi then returns a placeholder 1e-5, not a score
        raise Unmeasurable("too short: fewer than 30 non-silent 384 ms frames at 10 kHz")
    return v


def _measure_all(fns: dict, packages) -> dict:
    """Return the columns of every measure in fns (name -> () -> dict of columns) plus the
    note (empty cells' reasons) and the packages' versions."""
    cols, reasons = {}, []
    for name, (columns, fn) in fns.items():
        try:
            cols.update(fn())
        except (Unmeasurable, ImportError) as exc:
            reason = (f"not installed ({exc.name or exc}; {INSTALL_HINT})"
                      if isinstance(exc, ImportError) else str(exc))
            cols.update(dict.fromkeys(columns))
            reasons.append(f"{name}: {reason}")
    return {**cols, NOTE_COLUMN: "; ".join(reasons) or "ok",
            VERSIONS_COLUMN: versions(packages)}


def speech_measures(wave: np.ndarray, sr: int, ref: np.ndarray | None = None) -> dict:
    """Return SPEECH_COLUMNS of wave (PESQ and STOI against ref; empty without one), the note
    and the versions."""
    def need_ref(fn):
        def run():
            if ref is None:
                raise Unmeasurable("no time-aligned clean reference for this row")
            return fn()
        return run

    return _measure_all({
        "dnsmos": (SPEECH_COLUMNS[:4], lambda: dnsmos(wave, sr)),
        "pesq_wb": (["pesq_wb"], need_ref(lambda: {"pesq_wb": pesq_wb(ref, wave, sr)})),
        "stoi": (["stoi"], need_ref(lambda: {"stoi": stoi(ref, wave, sr)})),
    }, SPEECH_PACKAGES)


def _tensor(img):
    import torch

    a = np.asarray(img.convert("RGB") if hasattr(img, "convert") else img, dtype=np.float64)
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3:
        raise Unmeasurable(f"needs an H x W (x C) image, got shape {a.shape}")
    return torch.from_numpy(a / 255.0).permute(2, 0, 1)[None]


def ssim(ref, img) -> float:
    """Return SSIM (Gaussian 11-tap window, sigma 1.5, 8-bit range) of img against ref."""
    from torchmetrics.functional.image import structural_similarity_index_measure as f

    r, x = _tensor(ref), _tensor(img)
    if r.shape != x.shape:
        raise Unmeasurable(f"image sizes differ: {tuple(r.shape[2:])} vs {tuple(x.shape[2:])}")
    if min(r.shape[2:]) < MS_SSIM_KERNEL:
        raise Unmeasurable(f"image {tuple(r.shape[2:])} is smaller than the 11-pixel window")
    return float(f(x, r, data_range=1.0))


def ms_ssim(ref, img) -> float:
    """Return 5-scale MS-SSIM (Wang 2003 weights) of img against ref."""
    from torchmetrics.functional.image import (
        multiscale_structural_similarity_index_measure as f)

    r, x = _tensor(ref), _tensor(img)
    need = (MS_SSIM_KERNEL - 1) * 2 ** (MS_SSIM_SCALES - 1)
    if r.shape != x.shape:
        raise Unmeasurable(f"image sizes differ: {tuple(r.shape[2:])} vs {tuple(x.shape[2:])}")
    if min(r.shape[2:]) <= need:
        raise Unmeasurable(f"image {r.shape[2]}x{r.shape[3]} is too small: 5 scales of the "
                           f"11-pixel window need both sides > {need}")
    return float(f(x, r, data_range=1.0))


def image_measures(img, ref) -> dict:
    """Return IMAGE_COLUMNS of img against the clean ref, the note and the versions."""
    return _measure_all({
        "ssim": (["ssim"], lambda: {"ssim": ssim(ref, img)}),
        "ms_ssim": (["ms_ssim"], lambda: {"ms_ssim": ms_ssim(ref, img)}),
    }, IMAGE_PACKAGES)
