"""Write the manifest.csv that ShapesImageSet(root=...) reads, from real CLEVR or PACS folders.

PACS (Li et al. 2017) as distributed: <root>/<domain>/<class>/<image>, domains art_painting,
cartoon, photo, sketch; classes dog, elephant, giraffe, guitar, horse, house, person (7, as
the authors' code uses). The domain becomes the set's `style` (art_painting -> "painting", the
authors' prompt word), the class its `class`; prompt "a {style} of a {class}".
CLEVR (Johnson et al. 2017): <root>/images/<split>/*.png and <root>/scenes/CLEVR_<split>_
scenes.json; images with exactly `objects` objects (default 1) are kept, colour = the object's
color, shape its shape; prompt "a {colour} {shape}".
Every row gets split `split` (default test); paths are relative to root (the manifest is
written there unless `out` names another folder, then paths are absolute).

    python -m dlik.data.manifest_convert pacs /data/PACS [--split test] [--out DIR]
    python -m dlik.data.manifest_convert clevr /data/CLEVR_v1.0 --clevr-split val
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

from .image_sets import BASE_COLUMNS, SETS, caption

PACS_STYLE = {"art_painting": "painting", "cartoon": "cartoon", "photo": "photo",
              "sketch": "sketch"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def _rel(path: Path, root: Path, out: Path) -> str:
    return path.relative_to(root).as_posix() if out == root else str(path.resolve())


def pacs_rows(root: Path, out: Path, split: str = "test") -> list[dict[str, str]]:
    """Return the manifest rows of a PACS folder (<domain>/<class>/<image>)."""
    rows = []
    for domain, style in PACS_STYLE.items():
        ddir = root / domain
        if not ddir.is_dir():
            raise ValueError(f"PACS folder {root} lacks the domain folder {domain!r} (needs "
                             f"{list(PACS_STYLE)})")
        for cdir in sorted(p for p in ddir.iterdir() if p.is_dir()):
            for img in sorted(p for p in cdir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
                attrs = {"style": style, "class": cdir.name}
                rows.append({"id": f"pacs_{domain}_{cdir.name}_{img.stem}", "split": split,
                             "path": _rel(img, root, out),
                             "prompt": caption("pacs_styles", **attrs), **attrs})
    if not rows:
        raise ValueError(f"PACS folder {root} has no images under <domain>/<class>/")
    return rows


def clevr_rows(root: Path, out: Path, clevr_split: str = "val", split: str = "test",
               objects: int = 1) -> list[dict[str, str]]:
    """Return the manifest rows of the CLEVR images with exactly `objects` objects."""
    scenes = root / "scenes" / f"CLEVR_{clevr_split}_scenes.json"
    if not scenes.is_file():
        raise ValueError(f"CLEVR folder {root} lacks {scenes.relative_to(root)} (the scene "
                         "annotations give each object's colour and shape)")
    rows = []
    for scene in json.loads(scenes.read_text())["scenes"]:
        objs = scene["objects"]
        if len(objs) != objects:
            continue
        attrs = {"colour": objs[0]["color"], "shape": objs[0]["shape"]}
        img = root / "images" / clevr_split / scene["image_filename"]
        rows.append({"id": f"clevr_{Path(scene['image_filename']).stem}", "split": split,
                     "path": _rel(img, root, out), "prompt": caption("clevr_shapes", **attrs),
                     **attrs})
    if not rows:
        raise ValueError(f"{scenes} has no scene with exactly {objects} object(s)")
    return rows


def write_manifest(rows: list[dict[str, str]], name: str, out: Path) -> Path:
    """Write rows as out/manifest.csv (atomically) with the set's columns; return its path."""
    out.mkdir(parents=True, exist_ok=True)
    tmp, path = out / "manifest.csv.tmp", out / "manifest.csv"
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=[*BASE_COLUMNS, *SETS[name]])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Convert a PACS or CLEVR folder; print the manifest's path and row count."""
    ap = argparse.ArgumentParser(prog="python -m dlik.data.manifest_convert",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("kind", choices=["pacs", "clevr"])
    ap.add_argument("root", type=Path)
    ap.add_argument("--out", type=Path, default=None, help="manifest folder (default: root)")
    ap.add_argument("--split", default="test", help="the split every row gets")
    ap.add_argument("--clevr-split", default="val", help="CLEVR's own split folder")
    ap.add_argument("--objects", type=int, default=1, help="CLEVR: objects per kept image")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    out = (args.out or root).resolve()
    if args.kind == "pacs":
        rows, name = pacs_rows(root, out, args.split), "pacs_styles"
    else:
        rows = clevr_rows(root, out, args.clevr_split, args.split, args.objects)
        name = "clevr_shapes"
    print(f"{write_manifest(rows, name, out)}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
