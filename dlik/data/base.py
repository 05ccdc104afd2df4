"""What a study needs from a data set: items with a stable id, a payload and metadata columns.

Speech corpora and image sets both implement `Dataset`; studies iterate `items()` and never
name a concrete corpus class. Data sets are built from config by `_target_` (Hydra), or by
name through `data/registry.py` (`build_dataset`) for code that is not config-driven.
"""

from __future__ import annotations

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
