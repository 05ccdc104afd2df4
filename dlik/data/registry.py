"""Data sets by name, for code that is not config-driven (configs build theirs by `_target_`).

The registry imports the implementations (they never import it), so a new data set is its own
file and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from .base import Dataset
from .image_sets import SETS, ShapesImageSet
from .tts_corpus import LAYOUTS, TTSCorpus

DATASETS: dict[str, Callable[..., Dataset]] = {
    **{name: partial(ShapesImageSet, name) for name in SETS},
    **{layout: partial(TTSCorpus, layout) for layout in LAYOUTS},
}


def build_dataset(name: str, **kwargs: Any) -> Dataset:
    """Return the data set registered under name, built with kwargs."""
    if name not in DATASETS:
        raise ValueError(f"data set must be one of {sorted(DATASETS)}, got {name!r}")
    return DATASETS[name](**kwargs)
