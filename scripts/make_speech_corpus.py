"""Build the embedded synthetic speech corpora offline with espeak-ng.

    python scripts/make_speech_corpus.py                       # both, into the data dir
    python scripts/make_speech_corpus.py --corpus ljspeech_synth --data-dir /tmp/d

dlik runs the same builder lazily on first use, so this script is only needed to prepare
a data dir ahead of time (e.g. on a cluster login node). The data dir is --data-dir,
$DLIK_DATA_DIR or ~/.cache/dlik/data. An existing corpus is left alone (--rebuild replaces it).
"""

from __future__ import annotations

import argparse
import json
import shutil

from dlik.data.speech_corpus import BUILDERS, data_dir, ensure_corpus


def main() -> None:
    """Build the requested corpora and print their manifest summaries."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", choices=sorted(BUILDERS), nargs="+", default=sorted(BUILDERS))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--rebuild", action="store_true", help="delete and rebuild")
    args = ap.parse_args()
    for name in args.corpus:
        if args.rebuild:
            shutil.rmtree(data_dir(args.data_dir) / name, ignore_errors=True)
        root = ensure_corpus(name, args.data_dir)
        manifest = json.loads((root / "manifest.json").read_text())
        splits = {s: len((root / "splits" / f"{s}.txt").read_text().split())
                  for s in ("train", "valid", "test")}
        print(f"{name}: {root} files={len(manifest['sha256'])} splits={splits}")


if __name__ == "__main__":
    main()
