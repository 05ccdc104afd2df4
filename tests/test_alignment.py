"""MAS paths identical to the monotonic-alignment-search package (reference of the official)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dlik.models.gradtts.alignment import maximum_path

mas = pytest.importorskip("monotonic_alignment_search",
                          reason="reference `monotonic-alignment-search` not installed")


def _batch(seed, lengths, nx, ny, ties=False):
    g = torch.Generator().manual_seed(seed)
    value = torch.randn(len(lengths), nx, ny, generator=g)
    if ties:
        value = value.round()
    mask = torch.zeros(len(lengths), nx, ny)
    for i, (tx, ty) in enumerate(lengths):
        mask[i, :tx, :ty] = 1
    return value, mask


@pytest.mark.parametrize("seed,lengths,nx,ny,ties", [
    (0, [(5, 12)], 5, 12, False),
    (1, [(7, 30), (3, 9), (7, 7), (1, 5)], 7, 30, False),
    (2, [(10, 40), (6, 25)], 12, 44, True),
    (3, [(20, 100), (15, 60), (19, 99)], 20, 100, False),
])
def test_paths_identical_to_reference(seed, lengths, nx, ny, ties):
    value, mask = _batch(seed, lengths, nx, ny, ties)
    ref = mas.maximum_path(value.clone(), mask.clone())
    mine = maximum_path(value, mask)
    assert torch.equal(mine, ref.to(mine.dtype))
    # a valid path: every frame assigned to exactly one token, monotonic
    for i, (tx, ty) in enumerate(lengths):
        p = mine[i, :tx, :ty]
        assert torch.equal(p.sum(0), torch.ones(ty))
        idx = p.argmax(0)
        assert (idx[1:] - idx[:-1]).ge(0).all() and int(idx[0]) == 0 and int(idx[-1]) == tx - 1


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="T_x, T_y"):
        maximum_path(torch.zeros(2, 3), torch.ones(2, 3))


def test_speed_smoke():
    value, mask = _batch(4, [(150, 800)] * 8, 150, 800)
    out = maximum_path(value, mask)
    assert out.sum() == 8 * 800
    assert np.isfinite(out.numpy()).all()
