"""Per-row probe seeds and Hutchinson probe vectors that never depend on batch neighbours."""

from __future__ import annotations

import hashlib
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


def stage_probes(estimator: str, shape: Sequence[int], n_probes: int, row_seeds: Sequence[int],
                 steps: Sequence[int], stage: int, dtype: torch.dtype,
                 device: torch.device | str) -> torch.Tensor:
    """Return fresh probes (b, K, *shape) for one stage of b rows: row i's from
    stage_seed(row_seeds[i], steps[i], stage)."""
    return make_probes(estimator, shape, n_probes,
                       [stage_seed(s, a, stage) for s, a in zip(row_seeds, steps)], dtype, device)


def content_seed(x: torch.Tensor) -> int:
    """Return a 63-bit seed from sha256 of one row's float64 bytes: a row's default probes
    follow its content, never its position in a batch."""
    data = x.detach().to("cpu", torch.float64).contiguous().numpy().tobytes()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "little") & ((1 << 63) - 1)
