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
    """Return utterances of an LJSpeech-layout corpus (metadata.csv id|text|normalized);
    raise naming the line of a row without a text or of a repeated id."""
    root = Path(root)
    meta = root / "metadata.csv"
    if not meta.exists():
        raise FileNotFoundError(f"{meta} not found: data.root must be an LJSpeech-layout dir")
    texts: dict[str, str] = {}
    line_of: dict[str, int] = {}
    for n, line in enumerate(meta.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 2 or not parts[0]:
            raise ValueError(f"{meta} line {n} has {len(parts)} field(s) {line[:60]!r}; "
                             "expected id|text|normalized_text")
        if parts[0] in texts:
            raise ValueError(f"{meta} repeats id {parts[0]!r} (lines {line_of[parts[0]]} and "
                             f"{n}); ids must be unique")
        texts[parts[0]], line_of[parts[0]] = parts[1], n
    ids = _split_ids(root, split, list(texts))
    return [Utterance(i, texts[i], root / "wavs" / f"{i}.wav", "LJ", 0) for i in ids]


def read_speaker_index(table: Path) -> dict[str, int]:
    """Return {speaker id: index} from a speakers.tsv with an `index` column (the synthetic
    corpora's); a table without one (real LibriTTS: READER GENDER SUBSET NAME) gives {}."""
    lines = [ln for ln in table.read_text().splitlines() if ln.strip()]
    if not lines:
        return {}
    header = [h.strip().lstrip(";").strip().lower() for h in lines[0].split("\t")]
    if "index" not in header:
        return {}
    col = header.index("index")
    index: dict[str, int] = {}
    for n, line in enumerate(lines[1:], 2):
        cols = [c.strip() for c in line.split("\t")]
        try:
            spk, value = cols[0], int(cols[col])
        except (IndexError, ValueError):
            raise ValueError(f"{table} line {n} {line[:60]!r} lacks an integer in column "
                             f"{col + 1} ('index'); expected the columns {header}") from None
        if spk in index:
            raise ValueError(f"{table} repeats speaker {spk!r} (line {n}); ids must be unique")
        index[spk] = value
    return index


def read_libritts(root: str | Path, split: str | None = "test") -> list[Utterance]:
    """Return utterances of a LibriTTS-layout corpus (<spk>/<chapter>/<id>.wav + .txt);
    raise naming both files when an utterance id appears twice."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory: data.root must be LibriTTS-layout")
    wavs = sorted(root.glob("*/*/*.wav"))
    if not wavs:
        raise FileNotFoundError(f"no <speaker>/<chapter>/*.wav files under {root}")
    table = root / "speakers.tsv"
    index = read_speaker_index(table) if table.exists() else {}
    for spk in sorted({w.parts[-3] for w in wavs}):
        index.setdefault(spk, max(index.values(), default=-1) + 1)
    by_id: dict[str, Utterance] = {}
    for w in wavs:
        uid = w.stem
        txt = w.with_suffix(".original.txt")
        if not txt.exists():
            txt = w.with_suffix(".normalized.txt")
        if txt.exists():
            if uid in by_id:
                raise ValueError(f"utterance id {uid!r} appears twice under {root}: "
                                 f"{by_id[uid].wav_path} and {w}; ids must be unique")
            spk = w.parts[-3]
            by_id[uid] = Utterance(uid, txt.read_text().strip(), w, spk, index[spk])
    ids = _split_ids(root, split, list(by_id))
    return [by_id[i] for i in ids]
