"""Render the embedded captioned image sets (clevr_shapes, pacs_styles) ahead of time.

    python scripts/make_shapes_dataset.py                  # both, into the data dir
    python scripts/make_shapes_dataset.py --out /tmp/d --set clevr_shapes --force

dlik renders them lazily on first use, so this script is only needed to prepare a data dir
ahead of time. The data dir is --out, $DLIK_DATA_DIR or ~/.cache/dlik/data. An existing set
is left alone (--force re-renders it). Rendering is deterministic: --check renders each set
a second time into a temporary dir and compares the files byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import tempfile
import time
from collections import Counter
from pathlib import Path

from dlik.data.image_sets import SETS, build_image_set, ensure_image_set


def _same_files(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in (a / "images").iterdir())
    if names != sorted(p.name for p in (b / "images").iterdir()):
        return False
    _, mismatch, errors = filecmp.cmpfiles(a / "images", b / "images", names, shallow=False)
    return not mismatch and not errors and filecmp.cmp(a / "manifest.csv", b / "manifest.csv",
                                                       shallow=False)


def main() -> None:
    """Build the requested image sets and print their split and attribute counts."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--set", choices=sorted(SETS), nargs="+", default=sorted(SETS))
    ap.add_argument("--out", default=None, help="data dir (default $DLIK_DATA_DIR or ~/.cache)")
    ap.add_argument("--force", action="store_true", help="re-render existing sets")
    ap.add_argument("--check", action="store_true", help="re-render and compare bytes")
    args = ap.parse_args()
    for name in args.set:
        t0 = time.time()
        root = ensure_image_set(name, args.out, force=args.force)
        with open(root / "manifest.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        splits = Counter(r["split"] for r in rows)
        print(f"{name}: {root} images={len(rows)} splits={dict(splits)} ({time.time() - t0:.1f} s)")
        for attr in SETS[name]:
            test = Counter(r[attr] for r in rows if r["split"] == "test")
            print(f"  test {attr}: {dict(test)}")
        if args.check:
            with tempfile.TemporaryDirectory() as tmp:
                same = _same_files(root, build_image_set(name, tmp))
            print(f"  re-render bitwise identical: {same}")
            if not same:
                raise SystemExit(f"{name}: re-render differs from {root}")


if __name__ == "__main__":
    main()
