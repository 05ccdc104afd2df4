"""Speaker study: each utterance scored under its true speaker id and under other ids."""

from __future__ import annotations

from ..models.base import Job
from .base import StudyBase
from ..seeding import stable_rng
from .null_rows import PMI_COLUMNS, with_null_rows


class SpeakerStudy(StudyBase):
    """Rows: (utterance, scored speaker id); k_other=null scores every speaker id."""

    table = "speaker"

    key_columns = ["speaker", "true_speaker_index", "scored_speaker_index", "is_true_speaker",
                   "text"]
    extra_columns: list[str] = []

    def __init__(self, data, n_speakers: int | None = None, k_other: int | None = None,
                 seed: int = 0, null_condition: bool = False) -> None:
        if k_other is not None and k_other < 1:
            raise ValueError(f"k_other must be >= 1 or null, got {k_other}")
        self.data, self.n_speakers, self.k_other, self.seed = data, n_speakers, k_other, seed
        self.null_condition = bool(null_condition)  # + one null row per utterance (pmi)
        if self.null_condition:
            self.derived_columns = [*type(self).derived_columns, *PMI_COLUMNS]

    def jobs(self) -> list[Job]:
        """Return one job per (utterance, scored speaker)."""
        n_spk = self.n_speakers or (
            1 + max(int(it.payload["speaker"]) for it in self.data.pool_items()))
        jobs = []
        for it in self.data.items():
            true, text = int(it.payload["speaker"]), it.payload["text"]
            others = [s for s in range(n_spk) if s != true]
            if self.k_other is not None:
                others = sorted(stable_rng(it.item_id, self.seed).sample(
                    others, min(self.k_other, len(others))))
            for s in [true, *others]:
                jobs.append(Job(it.item_id, f"spk{s}", {
                    "speaker": it.columns["speaker"], "true_speaker_index": true,
                    "scored_speaker_index": s, "is_true_speaker": s == true, "text": text},
                    {"audio_path": it.payload["audio_path"], "text": text, "speaker": s}))
        if self.null_condition:  # the adapter's null (Grad-TTS: empty text, true speaker)
            jobs = with_null_rows(jobs, {"is_true_speaker": False, "text": ""})
        return jobs
