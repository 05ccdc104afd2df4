"""Text swaps (the headline study): the same audio scored under its own text and others."""

from __future__ import annotations

from ..models.base import Job
from .base import StudyBase
from ..seeding import stable_rng
from .null_rows import PMI_COLUMNS, with_null_rows
from .text_variants import VARIANTS, check_variants


def speech_payload(item, multi_speaker: bool) -> dict:
    """Return the adapter payload of a speech item (audio path, and speaker when multi)."""
    payload = {"audio_path": item.payload["audio_path"]}
    if multi_speaker:
        payload["speaker"] = int(item.payload["speaker"])
    return payload


class TextAgnosticStudy(StudyBase):
    """Each test utterance under its own text and under text variants (one row each)."""

    table = "text_agnostic"

    key_columns = ["text_variant", "text", "speaker"]
    extra_columns: list[str] = []
    derived_columns = ["delta_bpd", "delta_bpd_se"]

    def __init__(self, data, variants: list[str] | None = None, seed: int = 0,
                 multi_speaker: bool = False, null_condition: bool = False) -> None:
        self.variants = list(variants or VARIANTS)
        check_variants(self.variants)
        self.data, self.seed, self.multi_speaker = data, seed, multi_speaker
        self.null_condition = bool(null_condition)  # + one null row per utterance (pmi)
        if self.null_condition:
            self.derived_columns = [*type(self).derived_columns, *PMI_COLUMNS]

    def jobs(self) -> list[Job]:
        """Return one job per (utterance, variant)."""
        pool = sorted({it.payload["text"] for it in self.data.pool_items()})
        jobs = []
        for it in self.data.items():
            own = it.payload["text"]
            for v in self.variants:
                text = VARIANTS[v](own, pool, stable_rng(it.item_id, v, self.seed))
                jobs.append(Job(it.item_id, v, {"text_variant": v, "text": text,
                                                "speaker": it.columns["speaker"]},
                                {**speech_payload(it, self.multi_speaker), "text": text}))
        if self.null_condition:
            jobs = with_null_rows(jobs, {"text_variant": "null_condition", "text": ""})
        return jobs
