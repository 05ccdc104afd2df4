"""One reader of results CSVs (dlik/io/results.py): ids and texts survive as written, and
`dlik tables`, `dlik report` and `dlik merge` read a CSV the same way."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from dlik.analysis.report import find_runs
from dlik.commands.tables import main as tables_main
from dlik.io.merge import merge_results
from dlik.io.results import read_results

SHIPPED = Path(__file__).resolve().parents[1] / "outputs" / "embedded_default"


def test_ids_and_texts_are_read_as_written():
    text = ("sample_id,condition_id,text,bpd,status\n"
            "001,1,NA,0.1000000000000000055,ok\n"
            "1,2,null,-3.5538343025016013,ok\n"
            "01,3,,nan,ok\n")
    df = read_results(io.StringIO(text))
    assert list(df["sample_id"]) == ["001", "1", "01"]
    assert list(df["condition_id"]) == ["1", "2", "3"]
    assert list(df["text"][:2]) == ["NA", "null"] and pd.isna(df["text"][2])
    assert df["bpd"][1] == -3.5538343025016013 and pd.isna(df["bpd"][2])


def _padded_ids(tmp_path: Path) -> tuple[Path, int]:
    """The shipped text-swap CSV with its 8 utterance ids renamed '0', '00', '000', ... (all
    the integer 0 to a reader that guesses types) and one own text set to 'NA'."""
    df = pd.read_csv(SHIPPED / "tts_text_agnostic" / "results.csv", dtype=str,
                     keep_default_na=False)
    ids = {s: "0" * (i + 1) for i, s in enumerate(df["sample_id"].unique())}
    df["sample_id"] = df["sample_id"].map(ids)
    df.loc[(df["text_variant"] == "own") & (df.index % 2 == 0), "text"] = "NA"
    run = tmp_path / "run"
    run.mkdir()
    df.to_csv(run / "results.csv", index=False)
    return run / "results.csv", len(ids)


def test_tables_and_report_read_the_same_utterances(tmp_path, capsys):
    path, n_utt = _padded_ids(tmp_path)
    assert tables_main(["text_agnostic", "-i", str(path), "--format", "csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert (table["n"] == n_utt).all(), table  # one delta per utterance and variant
    run = find_runs([path])[0]
    assert run.df["sample_id"].nunique() == n_utt
    assert (run.df.loc[run.df["text_variant"] == "own", "text"] == "NA").sum() >= 1


def test_merge_keeps_na_texts_and_padded_ids(tmp_path):
    path, n_utt = _padded_ids(tmp_path)
    merged = merge_results([path])
    assert merged["sample_id"].nunique() == n_utt
    assert set(merged["sample_id"]) == {"0" * (i + 1) for i in range(n_utt)}
    assert (merged["text"] == "NA").sum() == (read_results(path)["text"] == "NA").sum() >= 1
