"""TTS evaluation data for studies: utterances of an LJSpeech- or LibriTTS-layout corpus.

Implements the data set protocol (dlik/data/base.py): each item's payload is what the
Grad-TTS adapter reads (`audio_path`, `text`, `speaker` = the integer speaker index) and its
columns are `text` and `speaker` (the corpus's speaker id).
"""

from __future__ import annotations

from pathlib import Path

from .base import Item

LAYOUTS = ("ljspeech", "libritts")
EMBEDDED = {"ljspeech": "ljspeech_synth", "libritts": "libritts_synth"}


def round_robin(utts: list) -> list:
    """Return utts reordered to take one utterance per speaker in turn (stable)."""
    by_spk: dict[str, list] = {}
    for u in utts:
        by_spk.setdefault(str(u.speaker), []).append(u)
    queues = list(by_spk.values())
    out = []
    for i in range(max((len(q) for q in queues), default=0)):
        out += [q[i] for q in queues if i < len(q)]
    return out


def utterance_item(u) -> Item:
    """Return the data set item of an Utterance record."""
    return Item(u.utt_id, {"audio_path": str(u.wav_path), "text": u.text,
                           "speaker": int(u.speaker_index)},
                {"text": u.text, "speaker": u.speaker})


class TTSCorpus:
    """The first n_utterances of a split (optionally only those <= max_seconds long);
    root=None uses the embedded synthetic corpus."""

    def __init__(self, layout: str = "ljspeech", root: str | None = None, split: str = "test",
                 n_utterances: int | None = 8, speakers: list | None = None,
                 max_seconds: float | None = None, balance_speakers: bool = True) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"data.layout must be one of {list(LAYOUTS)}, got {layout!r}")
        if n_utterances is not None and n_utterances < 1:
            raise ValueError(f"data.n_utterances must be >= 1 or null, got {n_utterances}")
        self.layout, self.split, self.n_utterances = layout, split, n_utterances
        self.root, self.speakers, self.max_seconds = root, speakers, max_seconds
        self.balance_speakers = balance_speakers
        self.name = f"{layout}:{root or EMBEDDED[layout]}:{split}"
        self._utts = None

    def items(self) -> list[Item]:
        """Return the selected utterances as data set items (deterministic order)."""
        return [utterance_item(u) for u in self.utterances()]

    def pool_items(self) -> list[Item]:
        """Return every utterance of the corpus as items (see pool)."""
        return [utterance_item(u) for u in self.pool()]

    def resolve_root(self) -> Path:
        """Return the corpus root (building the embedded corpus on first use)."""
        if self.root:
            return Path(self.root).expanduser()
        from .speech_corpus import ensure_corpus

        return ensure_corpus(EMBEDDED[self.layout])

    def _read(self, split: str | None) -> list:
        from .corpus_readers import read_libritts, read_ljspeech

        reader = read_ljspeech if self.layout == "ljspeech" else read_libritts
        return reader(self.resolve_root(), split=split)

    def pool(self) -> list:
        """Return every utterance of the corpus (all splits, within max_seconds): the pool of
        other transcripts and babble sources."""
        return self._filter(self._read(None))

    def _filter(self, utts: list) -> list:
        if self.max_seconds:
            from .audio import audio_seconds

            # an unreadable file is kept: it becomes an error row, not a failed listing
            utts = [u for u in utts
                    if (audio_seconds(u.wav_path) or 0.0) <= self.max_seconds]
        if self.speakers:
            keep = {str(s) for s in self.speakers}
            utts = [u for u in utts if str(u.speaker) in keep]
        return utts

    def utterances(self) -> list:
        """Return the selected utterances (Utterance records), deterministic order."""
        if self._utts is None:
            utts = self._filter(self._read(self.split))
            if self.balance_speakers:
                utts = round_robin(utts)
            self._utts = utts[: self.n_utterances] if self.n_utterances else utts
            if not self._utts:
                raise ValueError(f"no utterances in {self.resolve_root()} split={self.split!r}")
        return self._utts

