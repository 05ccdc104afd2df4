"""Bad speech inputs: each is an ok row or an error row naming the problem, and the run goes
on; bad manifests stop the listing with a message naming the file and line."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf
import torch

from dlik.data.corpus_readers import read_libritts, read_ljspeech
from dlik.data.tts_corpus import TTSCorpus
from dlik.engine.solve import SolverSpec
from dlik.models.base import Job
from dlik.models.gradtts import GradTTS, GradTTSConfig, save_gradtts
from dlik.models.gradtts.adapter import GradTTSAdapter
from dlik.scoring.runner import Runner, ScoreSettings

from .helpers import TINY

SR = 22050
FAST = ScoreSettings(solver=SolverSpec("euler", step_size=0.5), batch_size=4)


def _tone(seconds: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * 150 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
            ).astype(np.float32)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    torch.manual_seed(0)
    one = save_gradtts(GradTTS(GradTTSConfig(**TINY)), d / "one.safetensors")
    multi = save_gradtts(GradTTS(GradTTSConfig(**{**TINY, "n_spks": 3})), d / "multi.safetensors")
    return one, multi


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """An LJSpeech-layout folder holding one good and many bad audio files."""
    root = tmp_path_factory.mktemp("lj")
    wavs = root / "wavs"
    wavs.mkdir()
    tone = _tone(0.3)
    sf.write(wavs / "good.wav", tone, SR, subtype="PCM_16")
    sf.write(wavs / "stereo.wav", np.stack([tone, tone], 1), SR, subtype="PCM_16")
    sf.write(wavs / "eightbit.wav", tone, SR, subtype="PCM_U8")
    sf.write(wavs / "rate16k.wav", _tone(0.3, 16000), 16000, subtype="PCM_16")
    sf.write(wavs / "silent.wav", np.zeros_like(tone), SR, subtype="PCM_16")
    sf.write(wavs / "long.wav", _tone(20.0), SR, subtype="PCM_16")
    bad = tone.copy()
    bad[100], bad[200] = np.nan, np.inf
    sf.write(wavs / "nonfinite.wav", bad, SR, subtype="FLOAT")
    data = (wavs / "good.wav").read_bytes()
    (wavs / "truncated.wav").write_bytes(data[: len(data) // 2])
    (wavs / "empty.wav").write_bytes(b"")
    (wavs / "notaudio.wav").write_text("this is a text file\n" * 20)
    ids = ["good", "stereo", "eightbit", "rate16k", "silent", "long", "nonfinite", "truncated",
           "empty", "notaudio", "missing"]
    (root / "metadata.csv").write_text("".join(f"{i}|a cat sat.|a cat sat.\n" for i in ids))
    (root / "splits").mkdir()
    (root / "splits" / "test.txt").write_text("\n".join(ids) + "\n")
    return root


def _run(adapter, jobs):
    rows = []
    stats = Runner(adapter, FAST, rows.append, progress=False).run(jobs)
    return {(r["sample_id"], r["condition_id"]): r for r in rows}, stats


def test_bad_audio_files_are_error_rows_and_the_rest_is_scored(weights, corpus):
    data = TTSCorpus("ljspeech", root=str(corpus), n_utterances=None, max_seconds=30)
    items = data.items()  # unreadable files survive the max_seconds filter: error rows later
    assert len(items) == 11
    ad = GradTTSAdapter(checkpoint=str(weights[0]))
    rows, stats = _run(ad, [Job(it.item_id, "own", payload=dict(it.payload)) for it in items])
    err = {k[0]: r["error"] for k, r in rows.items() if r["status"] == "error"}
    assert sorted(err) == ["empty", "missing", "nonfinite", "notaudio", "truncated"]
    assert "is empty (0 bytes)" in err["empty"] and "does not exist" in err["missing"]
    assert "2 non-finite samples" in err["nonfinite"]
    assert "cannot read audio file" in err["notaudio"] and "notaudio.wav" in err["notaudio"]
    assert "is truncated: its header declares" in err["truncated"]
    ok = {k[0]: r for k, r in rows.items() if r["status"] == "ok"}
    assert sorted(ok) == ["eightbit", "good", "long", "rate16k", "silent", "stereo"]
    assert all(math.isfinite(r["bpd"]) for r in ok.values())
    assert ok["long"]["n_frames"] > 1700  # 20 s scored whole, not cut
    n = ok["good"]["n_frames"]
    assert ok["stereo"]["n_frames"] == ok["eightbit"]["n_frames"] == n
    assert abs(ok["rate16k"]["n_frames"] - n) <= 1  # resampled to 22.05 kHz
    assert stats.scored == 6 and stats.errors == 5


def test_stereo_is_averaged_to_the_mono_signal(weights, corpus):
    ad = GradTTSAdapter(checkpoint=str(weights[0]))
    x = {n: ad.prepare(Job(n, "c", payload={"audio_path": str(corpus / "wavs" / f"{n}.wav"),
                                            "text": "a cat"})).x0 for n in ("good", "stereo")}
    assert torch.equal(x["good"], x["stereo"])


def test_awkward_texts_are_scored_and_too_many_phones_is_an_error_row(weights, corpus):
    ad = GradTTSAdapter(checkpoint=str(weights[0]))
    wav = str(corpus / "wavs" / "good.wav")
    texts = {"empty": "", "punct": "?! ... ;", "nonascii": "Café — 東",
             "tooLong": "a sentence far too long for a third of a second of audio " * 4}
    rows, _ = _run(ad, [Job("u", k, payload={"audio_path": wav, "text": t})
                        for k, t in texts.items()])
    for k in ("empty", "punct", "nonascii"):
        assert rows[("u", k)]["status"] == "ok" and math.isfinite(rows[("u", k)]["bpd"]), k
    assert rows[("u", "empty")]["n_phones"] == 0
    assert rows[("u", "nonascii")]["n_phones"] > 0  # transliterated, not dropped
    long = rows[("u", "tooLong")]
    assert long["status"] == "error" and "tokens but the audio only" in long["error"]


def test_unknown_speaker_is_an_error_row(weights, corpus):
    ad = GradTTSAdapter(checkpoint=str(weights[1]))
    wav = str(corpus / "wavs" / "good.wav")
    rows, _ = _run(ad, [Job("u", f"s{s}", payload={"audio_path": wav, "text": "a cat",
                                                   "speaker": s}) for s in (1, 7, None)])
    assert rows[("u", "s1")]["status"] == "ok"
    assert "speaker must be in [0, 3), got 7" in rows[("u", "s7")]["error"]
    assert "needs 'speaker'" in rows[("u", "sNone")]["error"]


def test_ljspeech_manifest_missing_column_or_repeated_id_names_the_line(tmp_path):
    (tmp_path / "metadata.csv").write_text("a|one.|one.\nb\nc|three.|three.\n")
    with pytest.raises(ValueError, match=r"metadata.csv line 2 has 1 field\(s\).*id\|text"):
        read_ljspeech(tmp_path, split=None)
    (tmp_path / "metadata.csv").write_text("a|one.|one.\nb|two.|two.\na|again.|again.\n")
    with pytest.raises(ValueError, match="repeats id 'a' \\(lines 1 and 3\\)"):
        read_ljspeech(tmp_path, split=None)


def _libritts(root, table: str | None):
    for spk, uid in (("9001", "u1"), ("9002", "u2")):
        d = root / spk / "100"
        d.mkdir(parents=True, exist_ok=True)
        sf.write(d / f"{uid}.wav", _tone(0.1), SR)
        (d / f"{uid}.original.txt").write_text("a cat\n")
    if table is not None:
        (root / "speakers.tsv").write_text(table)


def test_libritts_speaker_tables(tmp_path):
    _libritts(tmp_path / "real", "READER\tGENDER\tSUBSET\tNAME\n9002\tF\ttest-clean\tX\n")
    utts = read_libritts(tmp_path / "real", split=None)  # the real LibriTTS table: no index
    assert {(u.speaker, u.speaker_index) for u in utts} == {("9001", 0), ("9002", 1)}
    _libritts(tmp_path / "ours", "speaker_id\tvoice\tpitch\trate\tindex\n9001\tm3\t50\t175\t5\n")
    utts = read_libritts(tmp_path / "ours", split=None)
    assert {(u.speaker, u.speaker_index) for u in utts} == {("9001", 5), ("9002", 6)}
    _libritts(tmp_path / "bad", "speaker_id\tvoice\tpitch\trate\tindex\n9001\tm3\n")
    with pytest.raises(ValueError, match="speakers.tsv line 2 .*lacks an integer in column 5"):
        read_libritts(tmp_path / "bad", split=None)
    _libritts(tmp_path / "dup", None)
    d = tmp_path / "dup" / "9002" / "200"
    d.mkdir()
    sf.write(d / "u1.wav", _tone(0.1), SR)
    (d / "u1.original.txt").write_text("again\n")
    with pytest.raises(ValueError, match="utterance id 'u1' appears twice"):
        read_libritts(tmp_path / "dup", split=None)


def test_duplicate_job_keys_stop_the_run_before_any_row():
    rows: list[dict] = []
    jobs = [Job("a", "c"), Job("b", "c"), Job("a", "c")]
    with pytest.raises(ValueError, match=r"repeat a \(sample_id, condition_id\) key.*'a', 'c'"):
        Runner(None, FAST, rows.append, progress=False).run(jobs)
    assert rows == []


def test_nbest_manifest_missing_columns_is_named(tmp_path):
    from dlik.experiments.tts_nbest import NBestStudy

    (tmp_path / "n.csv").write_text("sample_id,audio_path,hypothesis\nu,/a.wav,a cat\n")
    with pytest.raises(ValueError, match=r"lacks columns \['reference', 'am_score'\]"):
        NBestStudy(data=None, nbest_csv=str(tmp_path / "n.csv")).jobs()
