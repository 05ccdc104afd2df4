"""dlik tables nbest on a hand-made CSV: WER numbers worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from dlik.analysis.cli import main as tables_main
from dlik.analysis.nbest import nbest_table

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
    table, p = nbest_table(pd.read_csv(nbest_csv), n_random=4000, seed=0)
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
    assert tables_main(["nbest", "--input", str(nbest_csv), "--format", "csv"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("system,wer")
    vals = {line.split(",")[0]: float(line.split(",")[1]) for line in out[1:]}
    assert vals["am"] == pytest.approx(20.0) and vals["likelihood"] == pytest.approx(80.0)


def test_nbest_missing_columns_named(tmp_path):
    p = tmp_path / "bad.csv"
    pd.DataFrame({"sample_id": ["a"], "hypothesis": ["x"]}).to_csv(p, index=False)
    with pytest.raises(SystemExit, match="reference"):
        tables_main(["nbest", "--input", str(p)])
