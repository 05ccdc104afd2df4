"""Captioned image sets for text-to-image studies: the embedded CLEVR-like and PACS-like sets.

clevr_shapes: one object, 8 colours x 3 shapes, caption "a {colour} {shape}".
pacs_styles: one object, 4 styles (the PACS domains) x 6 classes, caption "a {style} of a {class}".
The embedded sets are rendered procedurally (dlik/data/image_render.py, bitwise
reproducible) on first use and cached under `$DLIK_DATA_DIR` or ~/.cache/dlik/data as
`<data_dir>/<name>/images/*.png` plus `manifest.csv`. Image i of a split has attribute
combination i mod 24 (every prefix of a split is balanced over each attribute).

A real folder (e.g. converted CLEVR or PACS) works through the same class with `root=`: it
needs a `manifest.csv` with columns
  id      unique item id (str)
  split   train / test / ... (the `split` argument selects rows)
  path    image file, relative to root (or absolute); any size, read as RGB
  prompt  the image's own caption
and the set's attribute columns: `colour`, `shape` (clevr_shapes) or `style`, `class`
(pacs_styles). Candidate prompts for confound studies come from `caption(**attrs)` with
one attribute swapped; `attributes()` lists the values each attribute takes.

`template` (config: data.template) sets the captions: a format string over the set's
attributes, e.g. the authors' CLEVR "a picture of a {colour}{shape}" (their sdxl_clevr.py, no
space: "a picture of a redsphere") or the corrected "a picture of a {colour} {shape}". With a
template, an item's own prompt is the template of its attributes too (the manifest's prompt
column is then not used); null keeps the default template and the manifest's prompts.
Real CLEVR / PACS folders become manifests with dlik/data/manifest_convert.py.
"""

from __future__ import annotations

import csv
import functools
import math
import os
import shutil
import string
import sys
from pathlib import Path

from .base import Item
from .image_render import render
from .speech_corpus import data_dir

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
SPLIT_SIZES = {"test": 48, "train": 2400}
SPLIT_START_GAP = 100_000
SPLIT_START = {"test": 0, "train": SPLIT_START_GAP}  # image k of a split: index start + k
BASE_COLUMNS = ("id", "split", "path", "prompt")


def caption_words() -> list[str]:
    """Return every word that a caption of the embedded sets can contain, in a fixed order."""
    words = ["a", "of"]
    for attrs in SETS.values():
        for values in attrs.values():
            words += values
    return list(dict.fromkeys(words))


def _check_name(name: str) -> None:
    if name not in SETS:
        raise ValueError(f"image set must be one of {sorted(SETS)}, got {name!r}")


def check_template(name: str, template: str | None) -> str:
    """Return the caption template of set name (None = the default), raising unless its
    fields are exactly the set's attributes."""
    _check_name(name)
    if template is None:
        return TEMPLATES[name]
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ValueError(f"data.template {template!r} is not a format string: {exc}") from exc
    if sorted(set(fields)) != sorted(SETS[name]):
        need = ", ".join("{" + a + "}" for a in SETS[name])
        raise ValueError(f"data.template for {name} must use each of {need} and no other "
                         f"field, got {template!r} (fields {fields})")
    return template


def caption(name: str, template: str | None = None, **attrs: str) -> str:
    """Return the caption of set name for the given attribute values (all of them), by the
    template (None = the set's default)."""
    tpl = check_template(name, template)
    if set(attrs) != set(SETS[name]):
        raise ValueError(f"{name} captions need attributes {sorted(SETS[name])}, "
                         f"got {sorted(attrs)}")
    return tpl.format(**attrs)


def combination(name: str, i: int) -> dict[str, str]:
    """Return the attribute values of image i of a split: combination i mod (n_a * n_b),
    ordered so that every prefix is balanced over each attribute."""
    _check_name(name)
    (ka, va), (kb, vb) = SETS[name].items()
    lcm = len(va) * len(vb) // math.gcd(len(va), len(vb))
    shift = (i % (len(va) * len(vb))) // lcm
    return {ka: va[i % len(va)], kb: vb[(i + shift) % len(vb)]}


def render_index(split: str, k: int) -> int:
    """Return the render index (the stable_rng key) of image k of a split of an embedded set."""
    if split not in SPLIT_START:
        raise ValueError(f"split must be one of {list(SPLIT_START)}, got {split!r}")
    if not 0 <= k < SPLIT_START_GAP:
        raise ValueError(f"image index must be in [0, {SPLIT_START_GAP}), got {k}")
    return SPLIT_START[split] + k


def build_image_set(name: str, out: str | Path, sizes: dict[str, int] | None = None) -> Path:
    """Render set name into out (images/*.png + manifest.csv); return out."""
    _check_name(name)
    sizes = SPLIT_SIZES if sizes is None else sizes
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    columns = list(BASE_COLUMNS) + list(SETS[name])
    rows = []
    for split, size in sizes.items():
        for k in range(size):
            attrs = combination(name, k)
            item_id = f"{name}_{split}_{k:05d}"
            rel = f"images/{item_id}.png"
            render(name, render_index(split, k), attrs).save(out / rel)
            rows.append({"id": item_id, "split": split, "path": rel,
                         "prompt": caption(name, **attrs), **attrs})
    with open(out / "manifest.csv.tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(out / "manifest.csv.tmp", out / "manifest.csv")
    return out


def ensure_image_set(name: str, data_dir_: str | Path | None = None, force: bool = False) -> Path:
    """Return the embedded set's dir, rendering it on first use (atomic rename of a temp dir)."""
    _check_name(name)
    root = data_dir(data_dir_)
    final = root / name
    if (final / "manifest.csv").exists() and not force:
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"[dlik] rendering the {name} image set -> {final}", file=sys.stderr)
    build_image_set(name, tmp)
    if force and final.exists():
        shutil.rmtree(final)
    try:
        tmp.rename(final)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def read_manifest(root: str | Path, attributes: list[str]) -> list[dict[str, str]]:
    """Return the rows of root/manifest.csv, checking it has the base and attribute columns."""
    path = Path(root) / "manifest.csv"
    if not path.exists():
        raise ValueError(f"image set root {str(root)!r} has no manifest.csv (columns "
                         f"{list(BASE_COLUMNS) + attributes})")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in list(BASE_COLUMNS) + attributes if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path} lacks columns {missing}; needs "
                             f"{list(BASE_COLUMNS) + attributes}, has {reader.fieldnames}")
        rows, line_of = [], {}
        for n, row in enumerate(reader, start=2):
            if row["id"] in line_of:
                raise ValueError(f"{path} repeats id {row['id']!r} (lines {line_of[row['id']]} "
                                 f"and {n}); ids must be unique")
            line_of[row["id"]] = n
            rows.append(row)
        return rows


def balanced(rows: list[dict[str, str]], attributes: list[str]) -> list[dict[str, str]]:
    """Return rows reordered to take one row per attribute combination in turn (stable)."""
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault(tuple(row[a] for a in attributes), []).append(row)
    out, queues = [], list(groups.values())
    for k in range(max((len(q) for q in queues), default=0)):
        out += [q[k] for q in queues if k < len(q)]
    return out


class ShapesImageSet:
    """The first n_items of a split of an image set, balanced over attribute combinations;
    root=None uses the embedded rendered set, a path a folder with the same manifest.csv."""

    def __init__(self, name: str = "clevr_shapes", split: str = "test",
                 n_items: int | None = None, root: str | None = None,
                 template: str | None = None) -> None:
        _check_name(name)
        check_template(name, template)
        self.template = template
        if n_items is not None and n_items < 1:
            raise ValueError(f"data.n_items must be >= 1 or null, got {n_items}")
        self.name, self.split, self.n_items = name, split, n_items
        self.root = Path(root) if root is not None else None

    @functools.cached_property
    def _rows(self) -> list[dict[str, str]]:
        root = self.root if self.root is not None else ensure_image_set(self.name)
        attrs = list(SETS[self.name])
        rows = [r for r in read_manifest(root, attrs) if r["split"] == self.split]
        if not rows:
            raise ValueError(f"{root}/manifest.csv has no rows with split {self.split!r}")
        rows = balanced(rows, attrs)
        rows = rows if self.n_items is None else rows[: self.n_items]
        for r in rows:
            r["image_path"] = str((Path(root) / r["path"]).resolve())
        return rows

    def items(self) -> list[Item]:
        """Return the items: payload image_path and prompt; columns prompt and the attributes."""
        attrs = list(SETS[self.name])
        items = []
        for r in self._rows:
            values = {a: r[a] for a in attrs}
            prompt = r["prompt"] if self.template is None else self.caption(**values)
            items.append(Item(r["id"], {"image_path": r["image_path"], "prompt": prompt},
                              {"prompt": prompt, **values}))
        return items

    def attributes(self) -> dict[str, list[str]]:
        """Return each attribute's values: the embedded set's, or those a real manifest uses."""
        if self.root is None:
            return {k: list(v) for k, v in SETS[self.name].items()}
        out = {}
        for a, known in SETS[self.name].items():
            seen = {r[a] for r in read_manifest(self.root, list(SETS[self.name]))}
            out[a] = [v for v in known if v in seen] + sorted(seen - set(known))
        return out

    def caption(self, **attrs: str) -> str:
        """Return the caption for attribute values (e.g. one attribute of an item swapped)."""
        return caption(self.name, self.template, **attrs)

