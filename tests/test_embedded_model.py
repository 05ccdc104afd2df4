"""The shipped Grad-TTS weights are a real model: on held-out speech, clean audio is more
likely than the same audio with white noise at 10 dB SNR or with its mel time-reversed."""

from __future__ import annotations

import pytest
import torch

from dlik.data.perturbations import white_noise
from dlik.data.tts_corpus import TTSCorpus
from dlik.engine.solve import SolverSpec
from dlik.models.base import Job
from dlik.models.gradtts.adapter import GradTTSAdapter
from dlik.models.gradtts.default_weights import EMBEDDED
from dlik.scoring.runner import Runner, ScoreSettings


@pytest.mark.parametrize("name,layout", [("ljspeech", "ljspeech"), ("libritts", "libritts")])
def test_clean_beats_noise_and_reversal(name, layout):
    if not EMBEDDED[name].exists():
        pytest.fail(f"embedded weights {EMBEDDED[name]} are missing")
    ad = GradTTSAdapter(checkpoint=f"embedded:{name}")
    utts = TTSCorpus(layout, split="test", n_utterances=1, max_seconds=2.5).utterances()
    jobs = []
    for u in utts:
        base = {"audio_path": str(u.wav_path), "text": u.text}
        if ad.cfg.n_spks > 1:
            base["speaker"] = u.speaker_index
        jobs += [Job(u.utt_id, "clean", {}, base),
                 Job(u.utt_id, "noise10", {}, {**base, "wave_transform":
                     lambda w: white_noise(w, 22050, 10.0, seed=0)}),
                 Job(u.utt_id, "reversed", {}, {**base, "mel_transform":
                     lambda m: torch.flip(m, dims=[1])})]
    rows = []
    # rk4 on 10 steps (40 NFE): the effects checked are 0.08-0.25 bpd here, far above its error
    settings = ScoreSettings(solver=SolverSpec("rk4", step_size=0.1), batch_size=3)
    Runner(ad, settings, rows.append, progress=False).run(jobs)
    bpd = {(r["sample_id"], r["condition_id"]): r["bpd"] for r in rows if r["status"] == "ok"}
    assert len(bpd) == 3 * len(utts)
    for u in utts:
        clean = bpd[(u.utt_id, "clean")]
        assert clean < bpd[(u.utt_id, "noise10")], u.utt_id
        assert clean < bpd[(u.utt_id, "reversed")], u.utt_id


def test_bench_jobs_held_out_utterances_are_disjoint():
    """bench_jobs(skip_utterances=k) scores the utterances after the first k (a held-out set
    for solver settings chosen on the first ones), with the same texts per utterance."""
    from dlik.experiments.tts_bench import bench_jobs

    _, first = bench_jobs(4, n_utterances=2)
    _, held = bench_jobs(4, n_utterances=2, skip_utterances=2)
    _, both = bench_jobs(8, n_utterances=4)
    assert len(first) == len(held) == 4
    assert not {j.sample_id for j in first} & {j.sample_id for j in held}
    key = lambda j: (j.sample_id, j.condition_id, j.payload["text"])  # noqa: E731
    assert sorted(map(key, first + held)) == sorted(map(key, both))
