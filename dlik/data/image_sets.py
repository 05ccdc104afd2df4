"""Procedurally rendered captioned image sets (placeholder: attributes only)."""

from __future__ import annotations

SETS: dict[str, dict[str, list[str]]] = {
    "clevr_shapes": {
        "colour": ["red", "green", "blue", "yellow", "purple", "cyan", "brown", "gray"],
        "shape": ["cube", "sphere", "cylinder"],
    },
    "pacs_styles": {
        "style": ["photo", "painting", "cartoon", "sketch"],
        "class": ["house", "tree", "car", "fish", "star", "flower"],
    },
}
TEMPLATES = {"clevr_shapes": "a {colour} {shape}", "pacs_styles": "a {style} of a {class}"}


def caption_words() -> list[str]:
    """Return every word that a caption of the embedded sets can contain, in a fixed order."""
    words = ["a", "of"]
    for attrs in SETS.values():
        for values in attrs.values():
            words += values
    return list(dict.fromkeys(words))
