"""What a study needs from a data set: items with a stable id, a payload and metadata columns.

Speech corpora and image sets both implement `Dataset`; studies iterate `items()` and never
name a concrete corpus class. Data sets are built from config by `_target_` (Hydra), or by
name through `DATASETS` / `build_dataset` for code that is not config-driven.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Item:
    """One data item: `payload` is what an adapter reads, `columns` what the CSV records."""

    item_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)


class Dataset(Protocol):
    """A finite, deterministic, ordered collection of items."""

    name: str

    def items(self) -> list[Item]:
        """Return the items in a fixed order (cheap: no model work)."""


DATASETS: dict[str, Callable[..., Dataset]] = {}


def register_dataset(name: str) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    """Return a decorator that registers a data set factory under name."""

    def deco(factory: Callable[..., Dataset]) -> Callable[..., Dataset]:
        if name in DATASETS:
            raise ValueError(f"data set {name!r} is already registered")
        DATASETS[name] = factory
        return factory

    return deco


def build_dataset(name: str, **kwargs: Any) -> Dataset:
    """Return the data set registered under name, built with kwargs."""
    from . import image_sets, tts_corpus  # noqa: F401 - registration side effect

    if name not in DATASETS:
        raise ValueError(f"data set must be one of {sorted(DATASETS)}, got {name!r}")
    return DATASETS[name](**kwargs)
