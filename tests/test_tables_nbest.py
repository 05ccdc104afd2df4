"""dlik tables nbest on hand-made CSVs: WER numbers worked out by hand under each text
normalisation, oracles by the wer column, and the matched-pairs p-value of a known case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from dlik.commands.tables import main as tables_main
from dlik.analysis.nbest import nbest_table, paired_bootstrap_p, word_errors

ROWS = [  # sample, reference, hypothesis, am_score, logp_nats ; errors by hand
    ("s1", "The cat sat.", "the cat sat", -1.0, -10.0),      # 0
    ("s1", "The cat sat.", "the bat sat", -2.0, -5.0),       # 1 (sub)
    ("s1", "The cat sat.", "a cat", -3.0, -20.0),            # 2 (sub + del)
    ("s2", "Hello, world!", "hello word", 0.0, -3.0),        # 1
    ("s2", "Hello, world!", "hello world", -1.0, -4.0),      # 0
    ("s2", "Hello, world!", "yellow word now", -5.0, -1.0),  # 3 (sub, sub, ins)
]


@pytest.fixture
def nbest_csv(tmp_path):
    df = pd.DataFrame(ROWS, columns=["sample_id", "reference", "hypothesis", "am_score",
                                     "logp_nats"])
    p = tmp_path / "nbest.csv"
    df.to_csv(p, index=False)
    return p


def test_nbest_wer_exact(nbest_csv):
    table, p = nbest_table(pd.read_csv(nbest_csv), n_random=4000, seed=0, normalize="basic")
    wer = dict(zip(table["system"], table["wer"]))
    assert wer["am"] == pytest.approx(100 * 1 / 5)          # picks 0 + 1 errors
    assert wer["likelihood"] == pytest.approx(100 * 4 / 5)  # picks 1 + 3
    assert wer["oracle_best"] == pytest.approx(0.0)
    assert wer["oracle_worst"] == pytest.approx(100 * 5 / 5)
    assert wer["random"] == pytest.approx(100 * 7 / 15, abs=2.0)  # E = (1 + 4/3) / 5
    assert list(table["system"]) == ["am", "likelihood", "oracle_best", "oracle_worst",
                                     "random"]
    assert 0.0 <= p <= 1.0


def test_nbest_cli_csv_format(nbest_csv, capsys):
    assert tables_main(["nbest", "--input", str(nbest_csv), "--format", "csv",
                        "--normalize", "basic"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("system,wer")
    vals = {line.split(",")[0]: float(line.split(",")[1]) for line in out[1:]}
    assert vals["am"] == pytest.approx(20.0) and vals["likelihood"] == pytest.approx(80.0)


def test_nbest_missing_columns_named(tmp_path):
    p = tmp_path / "bad.csv"
    pd.DataFrame({"sample_id": ["a"], "hypothesis": ["x"]}).to_csv(p, index=False)
    with pytest.raises(SystemExit, match="reference"):
        tables_main(["nbest", "--input", str(p)])


# Errors per hypothesis under none | basic | whisper, worked out by hand. References:
# "The colour, Mr. Smith!" has 4 words under all three; "I don't have 2 cats." has 5, 5 and 6
# ("i do not have 2 cats"). am picks s1a + s2a, likelihood s1b + s2b.
NORM_ROWS = [  # sample, reference, hypothesis, am_score, logp_nats, wer (contradicts errors)
    ("s1", "The colour, Mr. Smith!", "the color mister smith", -1.0, -9.0, 0.0),  # 4 2 0
    ("s1", "The colour, Mr. Smith!", "The colour, Mr. Smith!", -2.0, -5.0, 0.5),  # 0 0 0
    ("s2", "I don't have 2 cats.", "i do not have two cats", -1.0, -9.0, 0.1),    # 5 3 0
    ("s2", "I don't have 2 cats.", "i don't have two hats", -3.0, -5.0, 0.2),     # 3 2 1
]
NORM_WER = {  # normalisation: (am, likelihood, oracle_best, oracle_worst) in %, by errors
    "none": (100 * 9 / 9, 100 * 3 / 9, 100 * 3 / 9, 100 * 9 / 9),
    "basic": (100 * 5 / 9, 100 * 2 / 9, 100 * 2 / 9, 100 * 5 / 9),
    "whisper": (0.0, 100 * 1 / 10, 0.0, 100 * 1 / 10),
}


def _wers(table: pd.DataFrame) -> dict[str, float]:
    return dict(zip(table["system"], table["wer"]))


def _norm_frame(with_wer: bool = False) -> pd.DataFrame:
    cols = ["sample_id", "reference", "hypothesis", "am_score", "logp_nats", "wer"]
    df = pd.DataFrame(NORM_ROWS, columns=cols)
    return df if with_wer else df.drop(columns="wer")


@pytest.mark.parametrize("normalize", ["none", "basic", "whisper"])
def test_nbest_wer_under_each_normalisation(normalize):
    if normalize == "whisper":
        pytest.importorskip("whisper_normalizer")
    wer = _wers(nbest_table(_norm_frame(), normalize=normalize)[0])
    got = tuple(wer[k] for k in ("am", "likelihood", "oracle_best", "oracle_worst"))
    assert got == pytest.approx(NORM_WER[normalize], abs=1e-12)


def test_nbest_texts_as_given_is_jiwer_corpus_wer():
    """Default (none): the chosen hypotheses' WER is jiwer's corpus WER on the raw texts."""
    import jiwer

    table, _ = nbest_table(_norm_frame())
    refs = ["The colour, Mr. Smith!", "I don't have 2 cats."]
    lik = 100 * jiwer.wer(refs, ["The colour, Mr. Smith!", "i don't have two hats"])
    assert table.set_index("system").loc["likelihood", "wer"] == pytest.approx(lik, abs=1e-12)
    assert word_errors(["a b c", "", "x"], ["a c d", "y z", ""]) == ([2, 2, 1], [3, 0, 1])


def test_nbest_oracle_by_wer_column():
    """The oracles follow the input's wer column (lowest: s1a + s2a, highest: s1b + s2b)."""
    df = _norm_frame(with_wer=True)
    for oracle_by in ("wer", "auto"):
        wer = _wers(nbest_table(df, oracle_by=oracle_by)[0])
        assert wer["oracle_best"] == pytest.approx(100 * 9 / 9)
        assert wer["oracle_worst"] == pytest.approx(100 * 3 / 9)
    wer = _wers(nbest_table(df, oracle_by="errors")[0])
    assert wer["oracle_best"] == pytest.approx(100 * 3 / 9)
    with pytest.raises(ValueError, match="wer column"):
        nbest_table(_norm_frame(), oracle_by="wer")
    with pytest.raises(ValueError, match="normalize must be one of"):
        nbest_table(df, normalize="lower")


def test_nbest_cli_prints_normalisation_and_oracle(tmp_path, capsys):
    p = tmp_path / "nbest.csv"
    _norm_frame(with_wer=True).to_csv(p, index=False)
    assert tables_main(["nbest", "--input", str(p)]) == 0
    out = capsys.readouterr().out
    assert "text normalisation: none" in out and "wer column" in out
    assert tables_main(["nbest", "--input", str(p), "--normalize", "basic",
                        "--oracle-by", "errors"]) == 0
    out = capsys.readouterr().out
    assert "text normalisation: basic" in out and "by word errors" in out


def test_paired_bootstrap_known_case():
    """Utterances with one reference word each, A - B = +1 error on 3 of 10 and -1 on 7: a
    resample's difference is <= 0 iff at most 5 of its 10 draws are +1, S ~ Binomial(10, 0.3),
    so p = 2 min(P(S <= 5), P(S >= 5)) = 2 P(S >= 5)."""
    ids = [f"u{i}" for i in range(10)]
    ea = np.array([1, 1, 1] + [0] * 7)
    a = pd.DataFrame({"n_errors": ea, "n_ref_words": 1}, index=ids)
    b = pd.DataFrame({"n_errors": 1 - ea, "n_ref_words": 1}, index=ids)
    exact = 2 * min(binom.cdf(5, 10, 0.3), binom.sf(4, 10, 0.3))
    assert paired_bootstrap_p(a, b, n_boot=40_000, seed=1) == pytest.approx(exact, abs=0.015)
    assert paired_bootstrap_p(a, a) == 1.0
    # a better on every utterance: no resample has a difference >= 0
    assert paired_bootstrap_p(a.assign(n_errors=0), b.assign(n_errors=1)) == 0.0
