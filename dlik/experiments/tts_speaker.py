"""Speaker study: each utterance scored under its true speaker id and under other ids."""

from __future__ import annotations

import pandas as pd

from ..models.base import Job
from ..seeding import stable_rng


class SpeakerStudy:
    """Rows: (utterance, scored speaker id); k_other=null scores every speaker id."""

    key_columns = ["speaker", "true_speaker_index", "scored_speaker_index", "is_true_speaker",
                   "text"]
    extra_columns = ["n_phones", "n_frames", "prior"]

    def __init__(self, data, n_speakers: int | None = None, k_other: int | None = None,
                 seed: int = 0) -> None:
        if k_other is not None and k_other < 1:
            raise ValueError(f"k_other must be >= 1 or null, got {k_other}")
        self.data, self.n_speakers, self.k_other, self.seed = data, n_speakers, k_other, seed

    def jobs(self) -> list[Job]:
        """Return one job per (utterance, scored speaker)."""
        utts = self.data.utterances()
        n_spk = self.n_speakers or (1 + max(u.speaker_index for u in self.data.pool()))
        jobs = []
        for u in utts:
            others = [s for s in range(n_spk) if s != u.speaker_index]
            if self.k_other is not None:
                others = sorted(stable_rng(u.utt_id, self.seed).sample(
                    others, min(self.k_other, len(others))))
            for s in [u.speaker_index, *others]:
                jobs.append(Job(u.utt_id, f"spk{s}", {
                    "speaker": u.speaker, "true_speaker_index": u.speaker_index,
                    "scored_speaker_index": s, "is_true_speaker": s == u.speaker_index,
                    "text": u.text},
                    {"audio_path": str(u.wav_path), "text": u.text, "speaker": s}))
        return jobs

    def summarize(self, df: pd.DataFrame) -> str:
        """Return the speaker table (rank of the true speaker, argmax accuracy)."""
        from ..analysis.formatting import render
        from ..analysis.speaker import speaker_table

        return render(speaker_table(df), "md", "{:.4f}")
