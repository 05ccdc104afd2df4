"""Readers for LJSpeech- and LibriTTS-layout corpora (the synthetic ones and the real ones)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Utterance:
    """One recording: id, transcript, wav path, speaker id and its integer index."""

    utt_id: str
    text: str
    wav_path: Path
    speaker: str = "0"
    speaker_index: int = 0


SPLITS = ("train", "valid", "test")


def _split_ids(root: Path, split: str | None, ids: list[str]) -> list[str]:
    """Return ids of a split: from root/splits/<split>.txt, else every 20th id is test,
    every 20th offset 10 is valid, the rest train (sorted ids)."""
    if split is None:
        return ids
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)} or None, got {split!r}")
    f = root / "splits" / f"{split}.txt"
    if f.exists():
        keep = {s.strip() for s in f.read_text().splitlines() if s.strip()}
        return [i for i in ids if i in keep]
    ordered = sorted(ids)
    part = {i: ("test" if k % 20 == 0 else "valid" if k % 20 == 10 else "train")
            for k, i in enumerate(ordered)}
    return [i for i in ids if part[i] == split]


def read_ljspeech(root: str | Path, split: str | None = "test") -> list[Utterance]:
    """Return utterances of an LJSpeech-layout corpus (metadata.csv id|text|normalized)."""
    root = Path(root)
    meta = root / "metadata.csv"
    if not meta.exists():
        raise FileNotFoundError(f"{meta} not found: data.root must be an LJSpeech-layout dir")
    texts = {}
    for line in meta.read_text(encoding="utf-8").splitlines():
        parts = line.split("|")
        if len(parts) >= 2:
            texts[parts[0]] = parts[1]
    ids = _split_ids(root, split, list(texts))
    return [Utterance(i, texts[i], root / "wavs" / f"{i}.wav", "LJ", 0) for i in ids]


def read_libritts(root: str | Path, split: str | None = "test") -> list[Utterance]:
    """Return utterances of a LibriTTS-layout corpus (<spk>/<chapter>/<id>.wav + .txt)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory: data.root must be LibriTTS-layout")
    wavs = sorted(root.glob("*/*/*.wav"))
    if not wavs:
        raise FileNotFoundError(f"no <speaker>/<chapter>/*.wav files under {root}")
    index: dict[str, int] = {}
    table = root / "speakers.tsv"
    if table.exists():
        for line in table.read_text().splitlines()[1:]:
            cols = line.split("\t")
            index[cols[0]] = int(cols[4])
    for spk in sorted({w.parts[-3] for w in wavs}):
        index.setdefault(spk, len(index))
    by_id = {}
    for w in wavs:
        uid = w.stem
        txt = w.with_suffix(".original.txt")
        if not txt.exists():
            txt = w.with_suffix(".normalized.txt")
        if txt.exists():
            spk = w.parts[-3]
            by_id[uid] = Utterance(uid, txt.read_text().strip(), w, spk, index[spk])
    ids = _split_ids(root, split, list(by_id))
    return [by_id[i] for i in ids]
