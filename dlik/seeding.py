"""Seeds from sha256 of a key (never Python's hash or a global RNG): one place for all of them."""

from __future__ import annotations

import hashlib
import random


def stable_digest(*parts: object) -> bytes:
    """Return sha256 of the parts joined by the unit separator \\x1f."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


def stable_int(*parts: object, bits: int = 32) -> int:
    """Return the leading `bits` (a multiple of 4) of sha256(parts) as a big-endian int."""
    if bits % 4 or not 4 <= bits <= 256:
        raise ValueError(f"bits must be a multiple of 4 in [4, 256], got {bits}")
    return int(stable_digest(*parts).hex()[: bits // 4], 16)


def stable_frac(*parts: object) -> float:
    """Return a number in [0, 1) from the leading 32 bits of sha256(parts)."""
    return stable_int(*parts, bits=32) / 16**8


def stable_seed(*parts: object) -> int:
    """Return a 63-bit seed (little-endian leading 8 bytes of sha256(parts), top bit cleared)."""
    return int.from_bytes(stable_digest(*parts)[:8], "little") & ((1 << 63) - 1)


def stable_rng(*parts: object) -> random.Random:
    """Return a random.Random seeded from sha256 of parts."""
    return random.Random(int.from_bytes(stable_digest(*parts)[:8], "little"))
