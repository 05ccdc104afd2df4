"""The Python API (dlik.load_model, dlik.score): the CLI's columns and errors, the closed form
on the Gaussian, paired differences, and README's example run verbatim."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import dlik

README = Path(__file__).resolve().parents[1] / "README.md"


def test_gaussian_rows_match_the_closed_form_and_pair_the_conditions():
    model = dlik.load_model("gaussian", device="cpu", dim=8, cond_scale=0.5)
    x = [np.linspace(-1, 1, 8), np.zeros(8)]
    df = dlik.score(model, x, ["a", "b", None], solver="dopri5_1e-5", estimator="exact",
                    names=["u", "v"])
    assert list(df["sample_id"]) == ["u"] * 3 + ["v"] * 3 and (df["status"] == "ok").all()
    assert list(df["condition"].fillna("null")) == ["a", "b", "null"] * 2
    # at the solver's relative tolerance (the conditions replay the first one's steps)
    assert ((df["bpd"] - df["exact_bpd"]).abs() / df["exact_bpd"].abs()).max() < 1e-4
    assert df.loc[0, "bpd"] != df.loc[1, "bpd"]  # conditions reach the model
    for _, g in df.groupby("sample_id"):
        own = g["bpd"].iloc[0]
        assert np.allclose(g["delta_bpd"], g["bpd"] - own, rtol=0, atol=1e-12)
    assert {"bpd_se", "nfe", "logp_nats", "probes", "steps", "solver", "model_id"} <= set(df)


def test_paired_probes_give_differences_their_error():
    model = dlik.load_model("gaussian", device="cpu", dim=8, cond_scale=0.5)
    df = dlik.score(model, [np.ones(8)], ["a", "b"], solver="rk4_25steps", estimator="gaussian")
    assert (df["probes"] == "shared").all() and (df["bpd_se"] > 0).all()
    # the Gaussian's divergence does not depend on the condition (it moves the mean): on
    # shared probes the probe noise cancels exactly; independent probes keep it
    assert (df["delta_bpd_se"] == 0).all()
    ind = dlik.score(model, [np.ones(8)], ["a", "b"], solver="rk4_25steps",
                     estimator="gaussian", probes="independent")
    assert ind.loc[1, "delta_bpd_se"] > 0.5 * ind["bpd_se"].min()


def test_errors_name_the_bad_value(tmp_path):
    with pytest.raises(ValueError, match=r"model must be one of \[.*'sdxl_tiny'.*got 'sdxl_tny'"):
        dlik.load_model("sdxl_tny")
    with pytest.raises(ValueError, match=r"has no key\(s\) \['pth'\]"):
        dlik.load_model("gaussian", pth="x")
    with pytest.raises(ValueError, match="device must be one of"):
        dlik.load_model("gaussian", device="gpu")
    model = dlik.load_model("gaussian", device="cpu")
    with pytest.raises(ValueError, match="solver preset must be one of"):
        dlik.score(model, [np.ones(16)], ["a"], solver="fast")
    with pytest.raises(ValueError, match="at least one input"):
        dlik.score(model, [], ["a"])
    with pytest.raises(ValueError, match="names must be 2 distinct"):
        dlik.score(model, [np.ones(16)] * 2, ["a"], names=["x", "x"])
    with pytest.raises(ValueError, match="scores vectors"):
        dlik.score(model, [tmp_path / "x.wav"], ["a"])

    class Undeclared(type(model)):
        input_kind = None
    with pytest.raises(ValueError, match="declares input_kind=None"):
        dlik.score(Undeclared(), [np.ones(16)], ["a"])


def test_every_model_config_declares_its_input_kind():
    """The API maps user inputs by the adapter's declared kind, never by its methods."""
    from hydra.utils import get_class
    from omegaconf import OmegaConf

    from dlik.commands.config import CONFIG_DIR
    from dlik.models.base import INPUT_KINDS

    kinds = {p.stem: get_class(OmegaConf.load(p)["_target_"]).input_kind
             for p in (CONFIG_DIR / "model").glob("*.yaml")}
    assert set(kinds.values()) <= set(INPUT_KINDS), kinds
    assert kinds["sd3_tiny"] == kinds["sdxl_tiny"] == "image"
    assert kinds["gradtts_lj"] == "mel" and kinds["gaussian"] == "vector"


def test_readme_example_runs_verbatim(capsys):
    """README's Python example (the block after 'From Python'), on the embedded tiny SDXL."""
    text = README.read_text()
    block = re.search(r"## From Python.*?```python\n(.*?)```", text, flags=re.S).group(1)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    df = scope["df"]
    assert len(df) == 3 and (df["status"] == "ok").all()
    assert (df["t_start"] == 1e-3).all()  # image models start at their first trained time
    assert df["delta_bpd_se"].iloc[1:].between(0, 0.2).all()
    assert "delta_bpd" in capsys.readouterr().out
