"""Synthetic speech corpora made offline with espeak-ng, cached under a data dir.

ljspeech_synth: one voice, LJSpeech layout (metadata.csv, wavs/, splits/).
libritts_synth: 8 voices (voice variant, pitch, rate), LibriTTS layout, speakers.tsv; the
first 20 sentences are spoken by every voice and form the test split.
Both add the short evaluation sentences (sentences_eval.txt, ids after the main list),
spoken by every voice and always in the test split.
espeak-ng output is not bitwise reproducible: manifest.json records each file's sha256.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from ..seeding import stable_frac
from .espeak import SAMPLE_RATE, espeak_version, synthesize

SENTENCES = Path(__file__).with_name("sentences.txt")
EVAL_SENTENCES = Path(__file__).with_name("sentences_eval.txt")
SINGLE_VOICE = ("en-us", 50, 160)
MULTI_VOICES = [("en-us+m3", 50, 160), ("en-us+f2", 62, 150), ("en+m7", 40, 170),
                ("en-gb-scotland", 50, 155), ("en-029", 55, 165), ("en-us+f4", 72, 158),
                ("en-gb-x-rp", 45, 150), ("en+f3", 66, 172)]
N_SHARED = 20


def read_sentences(path: Path = SENTENCES) -> list[str]:
    """Return the non-comment lines of the sentence list."""
    return [s.strip() for s in path.read_text().splitlines()
            if s.strip() and not s.startswith("#")]


def _frac(key: str) -> float:
    return stable_frac(key)


def _trim(wave: np.ndarray, pad_s: float = 0.05) -> np.ndarray:
    """Return wave with leading/trailing silence (< 1% of peak) trimmed, keeping pad_s."""
    loud = np.nonzero(np.abs(wave) > 0.01 * (np.abs(wave).max() + 1e-9))[0]
    if not len(loud):
        return wave
    pad = int(pad_s * SAMPLE_RATE)
    return wave[max(loud[0] - pad, 0): loud[-1] + pad]


def _write(path: Path, wave: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wave, SAMPLE_RATE, subtype="PCM_16")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_splits(out: Path, splits: dict[str, list[str]]) -> None:
    (out / "splits").mkdir(parents=True, exist_ok=True)
    for name, ids in splits.items():
        (out / "splits" / f"{name}.txt").write_text("\n".join(ids) + "\n")


def _manifest(out: Path, files: dict[str, str], extra: dict) -> None:
    info = {"espeak_ng": espeak_version(), "sample_rate": SAMPLE_RATE,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "sha256": files, **extra}
    (out / "manifest.json").write_text(json.dumps(info, indent=1))


def make_single_speaker_corpus(out: Path, sentences: list[str], voice=SINGLE_VOICE,
                               progress: bool = True, eval_sentences: list[str] | None = None
                               ) -> Path:
    """Write an LJSpeech-layout corpus of sentences in one voice; return out."""
    out = Path(out)
    lines, files, splits = [], {}, {"train": [], "valid": [], "test": []}
    evals = read_sentences(EVAL_SENTENCES) if eval_sentences is None else eval_sentences
    every = sentences + evals
    for i, text in enumerate(tqdm(every, desc="ljspeech_synth", disable=not progress)):
        uid = f"DLK001-{i + 1:04d}"
        wave, _ = synthesize(text, voice=voice[0], pitch=voice[1], rate=voice[2])
        files[f"wavs/{uid}.wav"] = _write(out / "wavs" / f"{uid}.wav", _trim(wave))
        lines.append(f"{uid}|{text}|{text}")
        f = 0.0 if i >= len(sentences) else _frac(uid)
        splits["test" if f < 0.10 else "valid" if f < 0.15 else "train"].append(uid)
    (out / "metadata.csv").write_text("\n".join(lines) + "\n")
    _write_splits(out, splits)
    _manifest(out, files, {"voice": list(voice), "layout": "ljspeech"})
    return out


def make_multi_speaker_corpus(out: Path, sentences: list[str], voices=MULTI_VOICES,
                              per_speaker: float = 0.25, progress: bool = True,
                              eval_sentences: list[str] | None = None) -> Path:
    """Write a LibriTTS-layout corpus: shared test sentences + a subset per voice; return out."""
    out = Path(out)
    files, splits, rows = {}, {"train": [], "valid": [], "test": []}, []
    evals = read_sentences(EVAL_SENTENCES) if eval_sentences is None else eval_sentences
    every = sentences + evals
    jobs = []
    for k, voice in enumerate(voices):
        spk = f"{9001 + k}"
        rows.append(f"{spk}\t{voice[0]}\t{voice[1]}\t{voice[2]}\t{k}")
        for i, text in enumerate(every):
            if i < N_SHARED or i >= len(sentences) or _frac(f"{spk}/{i}") < per_speaker:
                jobs.append((spk, voice, i, text))
    for spk, voice, i, text in tqdm(jobs, desc="libritts_synth", disable=not progress):
        chapter = "100"
        uid = f"{spk}_{chapter}_{i + 1:06d}"
        d = out / spk / chapter
        wave, _ = synthesize(text, voice=voice[0], pitch=voice[1], rate=voice[2])
        files[f"{spk}/{chapter}/{uid}.wav"] = _write(d / f"{uid}.wav", _trim(wave))
        (d / f"{uid}.original.txt").write_text(text + "\n")
        (d / f"{uid}.normalized.txt").write_text(text + "\n")
        shared = i < N_SHARED or i >= len(sentences)
        split = "test" if shared else ("valid" if _frac(uid) < 0.05 else "train")
        splits[split].append(uid)
    (out / "speakers.tsv").write_text("speaker_id\tvoice\tpitch\trate\tindex\n"
                                      + "\n".join(rows) + "\n")
    _write_splits(out, splits)
    _manifest(out, files, {"voices": [list(v) for v in voices], "layout": "libritts"})
    return out


BUILDERS: dict[str, Callable[[Path, list[str]], Path]] = {
    "ljspeech_synth": make_single_speaker_corpus,
    "libritts_synth": make_multi_speaker_corpus,
}


def data_dir(path: str | Path | None = None) -> Path:
    """Return the data cache dir: path, $DLIK_DATA_DIR, or ~/.cache/dlik/data."""
    return Path(path or os.environ.get("DLIK_DATA_DIR") or Path.home() / ".cache/dlik/data")


def ensure_corpus(name: str = "ljspeech_synth", data_dir_: str | Path | None = None) -> Path:
    """Return the corpus dir, building it on first use (atomic rename of a temp dir)."""
    if name not in BUILDERS:
        raise ValueError(f"corpus must be one of {list(BUILDERS)}, got {name!r}")
    root = data_dir(data_dir_)
    final = root / name
    if (final / "manifest.json").exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "a") as lock:  # one builder; the others wait for it
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "manifest.json").exists():
            return final
        tmp = root / f".{name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        print(f"[dlik] building the {name} corpus offline with espeak-ng -> {final}",
              file=sys.stderr)
        BUILDERS[name](tmp, read_sentences())
        try:
            tmp.rename(final)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    return final
