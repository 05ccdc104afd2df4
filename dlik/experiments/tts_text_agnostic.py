"""Text swaps (the headline study): the same audio scored under its own text and others."""

from __future__ import annotations


import pandas as pd

from ..models.base import Job
from ..seeding import stable_rng
from .text_variants import VARIANTS, check_variants


def utterance_payload(u, multi_speaker: bool) -> dict:
    """Return the adapter payload of an utterance (audio path, and speaker when multi)."""
    payload = {"audio_path": str(u.wav_path)}
    if multi_speaker:
        payload["speaker"] = int(u.speaker_index)
    return payload


class TextAgnosticStudy:
    """Each test utterance under its own text and under text variants (one row each)."""

    key_columns = ["text_variant", "text", "speaker"]
    extra_columns = ["n_phones", "n_frames", "prior"]
    derived_columns = ["delta_bpd"]

    def __init__(self, data, variants: list[str] | None = None, seed: int = 0,
                 multi_speaker: bool = False) -> None:
        self.variants = list(variants or VARIANTS)
        check_variants(self.variants)
        self.data, self.seed, self.multi_speaker = data, seed, multi_speaker

    def jobs(self) -> list[Job]:
        """Return one job per (utterance, variant)."""
        utts = self.data.utterances()
        pool = sorted({u.text for u in self.data.pool()})
        jobs = []
        for u in utts:
            for v in self.variants:
                text = VARIANTS[v](u.text, pool, stable_rng(u.utt_id, v, self.seed))
                jobs.append(Job(u.utt_id, v, {"text_variant": v, "text": text,
                                              "speaker": u.speaker},
                                {**utterance_payload(u, self.multi_speaker), "text": text}))
        return jobs

    def derive(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return df with delta_bpd = bpd - bpd under the utterance's own text (NaN when the
        own-text row is missing or failed)."""
        own = df[(df["text_variant"] == "own") & (df["status"] == "ok")]
        own_bpd = own.set_index("sample_id")["bpd"]
        return df.assign(delta_bpd=df["bpd"] - df["sample_id"].map(own_bpd))

    def summarize(self, df: pd.DataFrame) -> str:
        """Return the text-agnostic table (mean delta bpd and own-text win rate per variant)."""
        from ..analysis.formatting import render
        from ..analysis.text_agnostic import text_agnostic_table

        return render(text_agnostic_table(df), "md", "{:.4f}")
