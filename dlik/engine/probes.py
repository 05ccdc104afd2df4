"""Per-row probe seeds and Hutchinson probe vectors that never depend on batch neighbours."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import torch

from ..seeding import stable_seed

ESTIMATORS = ("rademacher", "gaussian", "exact")


def probe_seed(sample_id: str, condition_id: str, seed: int) -> int:
    """Return a 63-bit seed from sha256 of (sample_id, condition_id, seed): a fresh probe per
    row (probes=independent, the paper's protocol)."""
    return stable_seed(sample_id, condition_id, seed)


def shared_probe_seed(sample_id: str, seed: int) -> int:
    """Return a 63-bit seed from sha256 of (sample_id, seed): one probe set for every condition
    of a sample (probes=shared), so the probe noise cancels in their differences."""
    return stable_seed("shared", sample_id, seed)


def row_probe_seed(probes: str, sample_id: str, condition_id: str, seed: int) -> int:
    """Return the probe seed of one row under probes=shared|independent."""
    if probes == "shared":
        return shared_probe_seed(sample_id, seed)
    if probes == "independent":
        return probe_seed(sample_id, condition_id, seed)
    raise ValueError(f"probes must be one of ['shared', 'independent'], got {probes!r}")


def check_estimator(estimator: str) -> None:
    """Raise ValueError unless estimator names a known divergence estimator."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {list(ESTIMATORS)}, got {estimator!r}")


def make_probes(
    estimator: str,
    shape: Sequence[int],
    n_probes: int,
    seeds: Sequence[int],
    dtype: torch.dtype,
    device: torch.device | str,
) -> torch.Tensor | None:
    """Return probes shaped (B, K, *shape) drawn row by row from each row's seed, or None."""
    check_estimator(estimator)
    if estimator == "exact":
        return None
    if n_probes < 1:
        raise ValueError(f"n_probes must be >= 1, got {n_probes}")
    rows = []
    for seed in seeds:
        gen = torch.Generator(device="cpu").manual_seed(int(seed))
        if estimator == "rademacher":
            eps = torch.randint(0, 2, (n_probes, *shape), generator=gen).mul_(2).sub_(1)
        else:
            eps = torch.randn((n_probes, *shape), generator=gen, dtype=torch.float64)
        rows.append(eps.to(dtype))
    return torch.stack(rows).to(device)


_MASK64 = (1 << 64) - 1


def _splitmix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def stage_seed(row_seed: int, step: int, stage: int) -> int:
    """Return the 63-bit seed of the probes a row draws at (accepted step, stage): a hash of
    the three, so a replay on the same grid draws the same probes and distinct stages
    independent ones."""
    return _splitmix(_splitmix(_splitmix(int(row_seed)) ^ int(step)) ^ (int(stage) + 1)) >> 1


def _i64(c: int) -> int:
    return c - (1 << 64) if c >= 1 << 63 else c


def _lsr(x: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 bits (torch's >> is arithmetic)."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def _mix64(x: torch.Tensor) -> torch.Tensor:
    """splitmix64's finalizer on int64 tensors (multiplication wraps modulo 2^64)."""
    x = (x ^ _lsr(x, 30)) * _i64(0xBF58476D1CE4E5B9)
    x = (x ^ _lsr(x, 27)) * _i64(0x94D049BB133111EB)
    return x ^ _lsr(x, 31)


def hashed_probes(estimator: str, shape: Sequence[int], n_probes: int, seeds: Sequence[int],
                  dtype: torch.dtype, device: torch.device | str) -> torch.Tensor:
    """Return probes (b, K, *shape) from a counter-based hash of (row seed, element index), all
    rows at once: Rademacher signs from one bit, Gaussians by Box-Muller from two 26-bit
    uniforms. A row's probes depend on its seed alone (never on the batch)."""
    check_estimator(estimator)
    numel = n_probes * int(torch.Size(shape).numel())
    s = torch.tensor([_i64(int(v) & _MASK64) for v in seeds], dtype=torch.int64)
    j = torch.arange(numel, dtype=torch.int64)
    x = _mix64(_mix64(s)[:, None] + j[None, :] * _i64(0x9E3779B97F4A7C15))
    if estimator == "rademacher":
        eps = ((x & 1) * 2 - 1).to(torch.float64)
    else:
        u1 = (_lsr(x, 38).double() + 0.5) / 2.0 ** 26
        u2 = ((_lsr(x, 12) & ((1 << 26) - 1)).double() + 0.5) / 2.0 ** 26
        eps = torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * math.pi * u2)
    return eps.view(len(seeds), n_probes, *shape).to(device=device, dtype=dtype)


def stage_probes(estimator: str, shape: Sequence[int], n_probes: int, row_seeds: Sequence[int],
                 steps: Sequence[int], stage: int, dtype: torch.dtype,
                 device: torch.device | str) -> torch.Tensor:
    """Return fresh probes (b, K, *shape) for one stage of b rows: row i's from
    stage_seed(row_seeds[i], steps[i], stage)."""
    return hashed_probes(estimator, shape, n_probes,
                         [stage_seed(s, a, stage) for s, a in zip(row_seeds, steps)], dtype,
                         device)


def content_seed(x: torch.Tensor) -> int:
    """Return a 63-bit seed from sha256 of one row's float64 bytes: a row's default probes
    follow its content, never its position in a batch."""
    data = x.detach().to("cpu", torch.float64).contiguous().numpy().tobytes()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "little") & ((1 << 63) - 1)
