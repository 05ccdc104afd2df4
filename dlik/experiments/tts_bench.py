"""Benchmark jobs on the embedded Grad-TTS: utterances under several texts (equal lengths
batch together, as in the text-swap study)."""

from __future__ import annotations

from ..data.tts_corpus import TTSCorpus
from ..models.base import Job
from ..models.gradtts.adapter import GradTTSAdapter
from .tts_text_agnostic import TextAgnosticStudy


def bench_jobs(n_samples: int, device: str = "cpu", n_utterances: int = 2,
               checkpoint: str = "embedded:ljspeech",
               skip_utterances: int = 0) -> tuple[GradTTSAdapter, list[Job]]:
    """Return (adapter, n_samples text-swap jobs over n_utterances test utterances, after the
    first skip_utterances: a held-out set for settings chosen on the first ones)."""
    data = TTSCorpus("ljspeech", split="test", n_utterances=skip_utterances + n_utterances,
                     max_seconds=2.5)
    study = TextAgnosticStudy(data, variants=["own", "other_matched", "other_random",
                                              "shuffled", "substituted", "reversed", "empty",
                                              "similar"])
    skipped = {it.item_id for it in data.items()[:skip_utterances]}
    jobs = [j for j in study.jobs() if j.sample_id not in skipped]
    per = max(1, n_samples // n_utterances)
    by_utt: dict[str, list[Job]] = {}
    for j in jobs:
        by_utt.setdefault(j.sample_id, []).append(j)
    chosen = [j for js in by_utt.values() for j in js[:per]][:n_samples]
    return GradTTSAdapter(checkpoint=checkpoint, device=device), chosen
