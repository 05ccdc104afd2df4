"""pmi = log p(x | c) - log p(x | null): null rows through the runner, derived columns, table;
the Gaussian oracle's closed form, and Grad-TTS's null condition (empty text)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from dlik.analysis.tables import TABLES, build_parser
from dlik.analysis.pmi import pmi_table, with_pmi
from dlik.engine.solve import SolverSpec
from dlik.experiments.base import StudyBase
from dlik.experiments.null_rows import PMI_COLUMNS, with_null_rows
from dlik.io.merge import merge_results
from dlik.models.base import Job, require
from dlik.models.gaussian import GaussianAdapter
from dlik.scoring.study_run import run_study
from dlik.scoring.runner import ScoreSettings

# t_start near 0: the engine gives log p at t_start, which for the far-off "other" means
# (-200 nats) differs from log p at 0 by ~2e-4 nats/dim at the default 1e-5
EXACT = SolverSpec("dopri5", atol=1e-8, rtol=1e-8, estimator="exact", t_start=1e-8)


class Candidates(StudyBase):
    """Gaussian samples under their own and other conditional means, plus null rows."""

    key_columns = ["text_variant"]
    extra_columns: list[str] = []
    derived_columns = list(PMI_COLUMNS)
    table = "pmi"

    def __init__(self, n: int = 3) -> None:
        self.n = n

    def jobs(self) -> list[Job]:
        jobs = [Job(f"s{i}", v, {"text_variant": v}) for i in range(self.n)
                for v in ("own", "other")]
        return with_null_rows(jobs, {"text_variant": "null_condition"})


def test_null_rows_one_per_sample_after_its_jobs():
    jobs = [Job("a", "x", {"k": 1}, {"text": "hi"}), Job("a", "y"), Job("b", "x")]
    out = with_null_rows(jobs, {"k": "null_condition"})
    assert [(j.sample_id, j.condition_id) for j in out] == [
        ("a", "x"), ("a", "y"), ("a", "null_condition"), ("b", "x"), ("b", "null_condition")]
    assert out[2].payload == {"text": "hi", "null_condition": True} and out[2].columns == {
        "k": "null_condition"}
    with pytest.raises(ValueError, match="reserved"):
        with_null_rows([Job("a", "null_condition")], {})


def test_gaussian_pmi_matches_the_closed_form(tmp_path):
    ad = GaussianAdapter(dim=8, cond_scale=1.5)
    require(ad, "null_condition")
    path, stats = run_study(Candidates(), ad, ScoreSettings(solver=EXACT, batch_size=4),
                            tmp_path, "pmi", "h", progress=False)
    df = pd.read_csv(path)
    assert stats.errors == 0 and len(df) == 3 * 3
    null = df[df["condition_id"] == "null_condition"].set_index("sample_id")["exact_logp_nats"]
    closed = df["exact_logp_nats"] - df["sample_id"].map(null)  # nats, closed form
    per_dim = (df["pmi_bits"] * math.log(2) - closed).abs() / df["n_dims"]
    assert per_dim.max() <= 1e-4
    assert (df["pmi_bpd"] - df["pmi_bits"] / df["n_dims"]).abs().max() < 1e-12
    assert (df.loc[df["condition_id"] == "null_condition", "pmi_bits"] == 0).all()
    own = df[df["condition_id"] == "own"]
    assert (own["pmi_bits"] > 0).all()  # x0 was drawn under its own condition
    # the null condition of the oracle is the marginal: N(m, s^2 + tau^2)
    p_own = ad.prepare(Job("s0", "own"))
    p_null = ad.prepare(Job("s0", "null_condition", payload={"null_condition": True}))
    nc = ad.null_condition(p_own.cond)
    assert torch.equal(nc["s"], p_null.cond["s"]) and torch.equal(nc["m"], p_null.cond["m"])
    # merge recomputes pmi from the joined rows (a shard may hold the null row elsewhere)
    df.assign(pmi_bits=float("nan")).iloc[::2].to_csv(tmp_path / "a.csv", index=False)
    df.assign(pmi_bits=float("nan")).iloc[1::2].to_csv(tmp_path / "b.csv", index=False)
    merged = merge_results([tmp_path / "a.csv", tmp_path / "b.csv"])
    key = ["sample_id", "condition_id"]
    m = merged.set_index(key).sort_index()["pmi_bits"]
    assert (m - df.set_index(key).sort_index()["pmi_bits"]).abs().max() < 1e-12


def test_default_gaussian_is_unchanged_and_its_own_null():
    ad, old = GaussianAdapter(dim=4), GaussianAdapter(dim=4, cond_scale=0.0)
    p = ad.prepare(Job("s1", "c"))
    assert torch.equal(p.x0, old.prepare(Job("s1", "other")).x0)
    assert sorted(p.cond) == ["m", "mu", "s"] and ad.null_condition(p.cond) is p.cond
    with pytest.raises(ValueError, match="cond_scale"):
        GaussianAdapter(cond_scale=-1.0)


def test_pmi_table_and_missing_null_rows():
    df = pd.DataFrame({"sample_id": ["a", "a", "b", "b", "c"],
                       "condition_id": ["own", "null_condition", "own", "null_condition", "own"],
                       "text_variant": ["own", "null_condition", "own", "null_condition", "own"],
                       "logp_nats": [-10.0, -10.0 - math.log(2), -5.0, -5.0 - 3 * math.log(2),
                                     -1.0],
                       "n_dims": 2, "status": "ok"})
    d = with_pmi(df)
    assert d["pmi_bits"].tolist()[:4] == pytest.approx([1.0, 0.0, 3.0, 0.0])
    assert math.isnan(d["pmi_bits"].iloc[4])  # no null row for sample c
    t = pmi_table(df)
    assert t["text_variant"].tolist() == ["own"] and t["n"].tolist() == [2]
    assert t["mean_pmi_bits"].iloc[0] == pytest.approx(2.0)
    assert t["mean_pmi_bpd"].iloc[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="null_condition"):
        pmi_table(df[df["condition_id"] != "null_condition"])


def test_speaker_table_ignores_null_rows():
    df = pd.DataFrame({"sample_id": ["u"] * 3, "condition_id": ["spk0", "spk1", "null_condition"],
                       "is_true_speaker": [True, False, False], "true_speaker_index": 0,
                       "scored_speaker_index": [0, 1, 0], "text": ["t", "t", ""],
                       "logp_nats": [-2.0, -3.0, -1.0], "bpd": [2.0, 3.0, 1.0],
                       "status": "ok"})
    out = TABLES["speaker"][0](df, build_parser().parse_args(["speaker", "-i", "-"]))
    assert "| argmax_speaker_accuracy | 1" in out.replace("1.0000", "1")


@pytest.fixture(scope="module")
def tiny_gradtts(tmp_path_factory):
    from dlik.models.gradtts import GradTTS, GradTTSConfig, save_gradtts
    from dlik.models.gradtts.adapter import GradTTSAdapter

    from .helpers import TINY

    torch.manual_seed(0)
    path = save_gradtts(GradTTS(GradTTSConfig(**TINY)),
                        tmp_path_factory.mktemp("w") / "tiny.safetensors")
    return GradTTSAdapter(checkpoint=str(path))


def test_gradtts_null_condition_is_the_empty_text(tiny_gradtts):
    ad = tiny_gradtts
    mel = torch.randn(80, 37)
    own = ad.prepare(Job("u", "own", payload={"mel": mel, "text": "a cat sat"}))
    null = ad.prepare(Job("u", "null_condition", payload={"mel": mel, "text": "a cat sat",
                                                "null_condition": True}))
    empty = ad.prepare(Job("u", "empty", payload={"mel": mel, "text": ""}))
    assert torch.equal(null.cond["mu"], empty.cond["mu"]) and torch.equal(null.x0, own.x0)
    assert torch.allclose(ad.null_condition(own.cond)["mu"], null.cond["mu"], atol=1e-6)
    assert not torch.allclose(own.cond["mu"], null.cond["mu"])
    assert {"null_condition", "score"} <= ad.capabilities


def test_study_options_add_null_rows():
    from types import SimpleNamespace

    from dlik.experiments.tts_speaker import SpeakerStudy
    from dlik.experiments.tts_text_agnostic import TextAgnosticStudy

    items = [SimpleNamespace(item_id=f"u{i}", payload={"text": f"word{i} more text",
                                                      "audio_path": f"/a{i}.wav",
                                                      "speaker": i % 2},
                             columns={"speaker": f"v{i % 2}"}) for i in range(3)]
    data = SimpleNamespace(items=lambda: items, pool_items=lambda: items)
    ta = TextAgnosticStudy(data, variants=["own", "shuffled"], null_condition=True)
    jobs = ta.jobs()
    assert len(jobs) == 3 * 3 and ta.derived_columns == ["delta_bpd", "delta_bpd_se", *PMI_COLUMNS]
    assert TextAgnosticStudy.derived_columns == ["delta_bpd", "delta_bpd_se"]
    nulls = [j for j in jobs if j.condition_id == "null_condition"]
    assert all(j.columns["text_variant"] == "null_condition" and j.payload["null_condition"]
               for j in nulls)
    sp = SpeakerStudy(data, n_speakers=2, null_condition=True)
    nulls = [j for j in sp.jobs() if j.condition_id == "null_condition"]
    assert len(nulls) == 3 and not any(j.columns["is_true_speaker"] for j in nulls)
    assert all(j.payload["speaker"] == int(j.columns["true_speaker_index"]) for j in nulls)
