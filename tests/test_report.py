"""dlik report and table rendering: a report from the shipped CSVs has every table and plot;
the paper's numbers (paper_numbers.json) sit beside ours where the row matches; formats."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from dlik.commands.tables import main as tables_main
from dlik.analysis.formatting import render
from dlik.analysis.paper_numbers import beside, load, with_paper
from dlik.analysis.plots_confusion import class_mean_accuracy, confusion
from dlik.analysis.report import build_report, find_runs, table_for
from dlik.analysis.report_html import md_to_html

SHIPPED = Path(__file__).resolve().parents[1] / "outputs" / "embedded_default"
PNG = b"\x89PNG\r\n\x1a\n"


def _sections(md: str) -> dict[str, str]:
    """Return each run's section keyed by its folder (Source: `.../<folder>/results.csv`), or
    by its experiment when it was merged from shards."""
    parts = re.split(r"^## \d+\. ", md, flags=re.M)[1:]
    key = lambda p: (m.group(1) if (m := re.search(r"Source: `[^`]*?([^/`]+)/results\.csv`", p))  # noqa: E731
                     else p.splitlines()[0])
    return {key(p): p for p in parts}


@pytest.fixture(scope="module")
def shipped_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, build_report([SHIPPED], out).read_text()


def test_report_of_shipped_outputs_has_every_table_and_plot(shipped_report):
    out, md = shipped_report
    dirs = {p.parent.name: p.parent for p in SHIPPED.rglob("results.csv")
            if not any(part.startswith(".") for part in p.relative_to(SHIPPED).parts)}
    sections = _sections(md)
    assert sorted(sections) == sorted(dirs)
    for name, text in sections.items():
        table = table_for(next(r for r in find_runs([dirs[name]])))
        assert f"### Table `{table}`" in text, name
        assert "could not" not in text, name
        body = text.split(f"### Table `{table}`")[1]
        rows = [ln for ln in body.splitlines() if ln.startswith("| ")]
        assert len(rows) >= 2, name  # header and at least one row
        images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
        assert images, name
        for rel in images:
            data = (out / rel).read_bytes()
            assert data.startswith(PNG) and len(data) > 5000, rel
        assert "checkpoint_hash" in text and "dlik_version" in text and "git_commit" in text
    html = (out / "report.html").read_text()
    assert html.count("<img ") == len(re.findall(r"^!\[", md, flags=re.M))
    assert html.count("<table>") == len(re.findall(r"^\|-", md, flags=re.M))


def test_report_puts_paper_values_beside_ours(shipped_report):
    _, md = shipped_report
    sections = _sections(md)
    paper = load()["tables"]
    for name, table in (("tts_domain_adaptation", "domain_adaptation"),
                        ("tts_nbest_rescoring", "nbest"),
                        ("tts_generative_path", "generative_path")):
        text = sections[name]
        assert paper[table]["source"] in text
        for v in paper[table]["values"]:
            col = f"paper_{v['column']}" + (f"_{v['label']}" if v.get("label") else "")
            assert col in text and str(v["value"]) in text, (table, v)
    generative = sections["tts_generative_path"]
    real = next(ln for ln in generative.splitlines() if ln.startswith("| real "))
    real_paper = next(v for v in paper["generative_path"]["values"] if "t_saved" not in v["row"])
    assert str(real_paper["value"]) in real  # the real-audio row is kept, paper value beside


def test_with_paper_matches_rows_and_lists_the_rest():
    values = load()["tables"]["domain_adaptation"]["values"]
    df = pd.DataFrame({"solver_pair": ["none", "other"], "bpd": [0.1, 0.2]})
    out, notes = with_paper(df, "domain_adaptation")
    want = next(v["value"] for v in values if v["row"] == {"solver_pair": "none"}
                and v["column"] == "bpd")
    assert list(out.columns) == ["solver_pair", "bpd", "paper_bpd"]
    assert out["paper_bpd"].tolist() == [str(want), ""]
    assert "Table 3" in notes[0] and "euler-euler" in notes[1] and "asv_cosine" in notes[1]
    assert with_paper(df, "no_such_table") == (df, [])


def test_tables_cli_formats_carry_the_paper(tmp_path, capsys):
    csv = SHIPPED / "tts_domain_adaptation" / "results.csv"
    for fmt in ("md", "latex", "csv"):
        assert tables_main(["domain_adaptation", "-i", str(csv), "--format", fmt]) == 0
        text = capsys.readouterr().out
        assert "paper_bpd" in text.replace(r"\_", "_")
        if fmt == "csv":
            t = pd.read_csv(pd.io.common.StringIO(text))
            assert {"bpd", "bpd_ci_low", "bpd_ci_high", "paper_bpd"} <= set(t.columns)
            assert (t["bpd_ci_low"] <= t["bpd"]).all() and (t["bpd"] <= t["bpd_ci_high"]).all()
        elif fmt == "latex":
            assert r"\begin{tabular}" in text and "% paper: Cross & Ragni, Table 3" in text
        else:
            assert "\npaper: Cross & Ragni, Table 3" in text
    df = pd.DataFrame({"a": ["x&y", "p|q"], "v": [1.0, float("nan")]})
    assert r"x\&y" in render(df, "latex") and r"p\|q" in render(df, "md")
    assert render(df, "md").splitlines()[-1].endswith("| -    |")
    with beside(None):
        assert "paper" not in render(df, "md")


def test_report_merges_shards_in_memory_and_draws_confusion(tmp_path):
    src = pd.read_csv(SHIPPED / "tts_text_agnostic" / "results.csv")
    run = tmp_path / "runs" / "swaps"
    run.mkdir(parents=True)
    first = src["sample_id"] == src["sample_id"].iloc[0]
    src[first].to_csv(run / "results.shard0of2.csv", index=False)
    src[~first].to_csv(run / "results.shard1of2.csv", index=False)
    labels = ["red", "green", "blue"]
    rows = [{"experiment": "confound_demo", "sample_id": f"img{i}", "condition_id": c,
             "attribute": "colour", "true_label": t, "candidate_label": c, "status": "ok",
             "logp_nats": 1.0 if c == (t if t != "blue" else "red") else 0.0, "bpd": 0.0}
            for i, t in enumerate(labels) for c in labels]
    tti = tmp_path / "runs" / "tti"
    tti.mkdir()
    pd.DataFrame(rows).to_csv(tti / "results.csv", index=False)
    m = confusion(pd.DataFrame(rows))[("colour",)]
    assert class_mean_accuracy(m) == pytest.approx(2 / 3) and m.loc["blue", "red"] == 1
    md = build_report([tmp_path / "runs"], tmp_path / "out").read_text()
    sections = _sections(md)
    assert "merged in memory from 2 shard files" in sections["tts_text_agnostic"]
    n = src["sample_id"].nunique()
    assert re.search(rf"\| other_matched +\| {n} ", sections["tts_text_agnostic"])  # all joined
    assert "tti/confusion.png" in sections["tti"]  # drawn from its columns
    assert (tmp_path / "out" / "tti" / "confusion.png").read_bytes().startswith(PNG)


def test_md_to_html_tables_images_escaping():
    html = md_to_html("# T\n\n| a | b |\n|---|---|\n| x<y | `c` |\n\n![cap](d/e.png)\n- item\n")
    assert "<h1>T</h1>" in html and "<td>x&lt;y</td>" in html and "<code>c</code>" in html
    assert '<img src="d/e.png" alt="cap">' in html and "<li>item</li>" in html


def test_report_cli_errors_name_the_input(tmp_path):
    from dlik.commands.report import main

    with pytest.raises(SystemExit, match="does not exist"):
        main([str(tmp_path / "nope")])
    with pytest.raises(SystemExit, match="no results.csv"):
        main([str(tmp_path)])
