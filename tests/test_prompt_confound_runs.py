"""The prompt-confound table (paper Table 6) on CSVs of two runs: an image scored by two
models is two images (model_id, image_size, vae_mode tell runs apart), and the table refuses
the mix by name instead of dropping every image as lacking ok rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dlik.analysis.prompt_confounds import predictions, prompt_confounds
from dlik.commands.tables import main as tables_main
from dlik.io.results import read_results

SHIPPED = Path(__file__).resolve().parents[1] / "outputs" / "embedded_default"
CSV = SHIPPED / "tti_prompt_confounds" / "results.csv"


@pytest.mark.parametrize("column, other", [("model_id", "sd3:embedded_tiny"),
                                           ("image_size", "32x32"), ("vae_mode", "sample")])
def test_two_runs_are_two_sets_of_images(column, other):
    one = read_results(CSV)
    both = pd.concat([one, one.assign(**{column: other})], ignore_index=True)
    p1, p2 = predictions(one), predictions(both)
    assert len(p1) > 0 and len(p2) == 2 * len(p1)
    assert sorted(p2[column].astype(str).unique()) == sorted({str(one[column][0]), other})
    with pytest.raises(ValueError, match=f"{column}.*architectures"):
        prompt_confounds(both)


def test_tables_cli_names_the_mixed_runs(tmp_path):
    df = read_results(CSV)
    b = tmp_path / "b.csv"
    df.assign(model_id="sd3:embedded_tiny").to_csv(b, index=False)
    with pytest.raises(SystemExit, match="model_id"):
        tables_main(["prompt_confounds", "-i", str(CSV), str(b)])
    table, _ = prompt_confounds(df)
    lik = table[table["system"] == "likelihood"]
    assert lik["n_images"].sum() == predictions(df).shape[0] > 0
