"""Several captioned image sets used by one study (the prompt-confound study scores CLEVR-like
and PACS-like images in one run): a name -> set mapping built from config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import Item


class ImageSetGroup:
    """Named image sets (each with items(), attributes(), caption()); items() joins them."""

    def __init__(self, sets: Mapping[str, Any]) -> None:
        if not sets:
            raise ValueError("data.sets must name at least one image set, got none")
        bad = [k for k, v in sets.items() if getattr(v, "name", None) != k]
        if bad:
            raise ValueError(f"data.sets keys must equal each set's name; mismatched: {bad} "
                             f"(names {[getattr(v, 'name', None) for v in sets.values()]})")
        self.sets = dict(sets)
        self.name = "+".join(self.sets)

    def items(self) -> list[Item]:
        """Return every set's items in order, each with an image_set column."""
        return [Item(it.item_id, it.payload, {"image_set": name, **it.columns})
                for name, s in self.sets.items() for it in s.items()]


def image_sets(data: Any) -> dict[str, Any]:
    """Return {set name: set} of a group, or of one image set given alone."""
    if data is None:
        raise ValueError("the study needs image sets: data=clevr_pacs (both) or one of "
                         "data=clevr_shapes / data=pacs_styles")
    if isinstance(data, ImageSetGroup):
        return data.sets
    return {data.name: data}
