"""dlik report's choices for a run: the study's own table first (not a substring of the
experiment name), and plots titled for what the study degrades."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from dlik.analysis import figures, plots
from dlik.analysis.report import Run, find_runs, table_for
from dlik.io.results import read_results

SHIPPED = Path(__file__).resolve().parents[1] / "outputs" / "embedded_default"


@pytest.mark.parametrize("name", ["my_pmi_run", "speaker_attribution_text_swaps",
                                  "attribution"])
def test_the_studys_own_table_comes_before_the_experiment_name(tmp_path, name):
    run_dir = tmp_path / "run"
    shutil.copytree(SHIPPED / "tts_text_agnostic", run_dir)
    df = read_results(run_dir / "results.csv").assign(experiment=name)
    assert table_for(Run(run_dir, "x", df)) == "text_agnostic"  # config.yaml's study


def test_without_config_the_table_named_like_the_experiment_wins(tmp_path):
    df = pd.DataFrame({"experiment": ["tts_speaker"]})
    assert table_for(Run(tmp_path, "x", df)) == "speaker"
    for exp, table in [("tts_nbest_rescoring", "nbest"), ("tti_quality", "tti_quality"),
                       ("tti_prompt_confounds", "prompt_confounds"),
                       ("tts_quality", "quality"), ("sanity_gaussian", "sanity_gaussian")]:
        assert table_for(Run(tmp_path, "x", df.assign(experiment=exp))) == table


def _titles(monkeypatch, table: str, run_dir: Path, out: Path) -> list[str]:
    titles: list[str] = []
    save = figures.save_png

    def spy(fig, path):
        titles.append(fig._suptitle.get_text() if fig._suptitle else "")
        return save(fig, path)

    monkeypatch.setattr(plots, "save_png", spy)
    run = find_runs([run_dir / "results.csv"])[0]
    for fn in plots.plots_for(table, run.df):
        fn(run.df, out)
    return titles


@pytest.mark.parametrize("folder, table, subject, other", [
    ("tti_quality", "tti_quality", "Degraded images", "audio"),
    ("tts_quality", "quality", "Degraded audio", "images")])
def test_quality_plots_are_titled_for_what_is_degraded(monkeypatch, tmp_path, folder, table,
                                                       subject, other):
    run = next(iter(find_runs([SHIPPED / folder / "results.csv"])))
    assert table_for(run) == table
    titles = _titles(monkeypatch, table, SHIPPED / folder, tmp_path)
    assert titles and titles[0].startswith(subject) and other not in titles[0]
