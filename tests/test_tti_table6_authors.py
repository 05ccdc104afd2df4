"""Table 6 as the authors computed it: their averaged-matrix accuracy / MRR against a hand-made
3 x 3 example, the paired delta against the true prompt, and reconstruction under each
candidate's own prompt on a tiny random SDXL folder."""

from __future__ import annotations

import math
import os
from fractions import Fraction

import pandas as pd
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dlik.analysis.prompt_confounds import (mean_matrix, mean_matrix_measures,  # noqa: E402
                                            predictions, prompt_confounds)
from dlik.derived import derive_columns  # noqa: E402
from dlik.derived.paired import difference_se  # noqa: E402

L = ["red", "green", "blue"]
# (image, true label, logp of candidates red / green / blue)
IMAGES = [("r1", "red", (-1, -3, -2)), ("r2", "red", (-4, -2, -9)),
          ("g1", "green", (-5, -3, -1)), ("g2", "green", (-1, -2, -8)),
          ("b1", "blue", (-2, -6, -3))]


def _rows() -> pd.DataFrame:
    rows = []
    for sid, true, lps in IMAGES:
        for c, lp in zip(L, lps):
            rows.append({"sample_id": sid, "image_set": "clevr_shapes", "attribute": "colour",
                         "guidance_scale": 0.0, "source": "original", "true_label": true,
                         "candidate_label": c, "is_true_prompt": c == true,
                         "logp_nats": float(lp), "status": "ok"})
    return pd.DataFrame(rows)


def test_averaged_matrix_accuracy_and_mrr_by_hand():
    # averaged rows: red (-2.5, -2.5, -5.5): tie with green -> rank 2 (their rankdata 'min');
    # green (-3, -2.5, -4.5): green tops -> rank 1; blue (-2, -6, -3): red tops -> rank 2.
    # accuracy 1/3, MRR (1/2 + 1 + 1/2) / 3 = 2/3. Per image: r1 right, r2 wrong, g1 wrong,
    # g2 wrong, b1 wrong -> 1/5.
    df = _rows()
    pred = predictions(df)
    m = mean_matrix(df, pred, labels=L)
    assert m.to_numpy().tolist() == [[-2.5, -2.5, -5.5], [-3.0, -2.5, -4.5], [-2.0, -6.0, -3.0]]
    got = mean_matrix_measures(m)
    assert got["mean_matrix_accuracy"] == pytest.approx(100 / 3, abs=1e-12)
    assert got["mean_matrix_mrr"] == pytest.approx(float(Fraction(2, 3)), abs=1e-12)
    table, _ = prompt_confounds(df)
    lik = table[table["system"] == "likelihood"].iloc[0]
    assert lik["mean_matrix_accuracy"] == pytest.approx(100 / 3, abs=1e-12)
    assert lik["mean_matrix_mrr"] == pytest.approx(2 / 3, abs=1e-12)
    assert lik["image_accuracy"] == pytest.approx(20.0, abs=1e-12)  # the per-image one, unchanged
    rnd = table[table["system"] == "random"].iloc[0]
    assert rnd["mean_matrix_accuracy"] == pytest.approx(100 / 3)


def test_delta_bpd_and_paired_se_against_the_true_prompt():
    df = _rows()
    df["n_dims"], df["probes"] = 10, "shared"
    df["bpd"] = -df["logp_nats"] / (10 * math.log(2))
    df["logp_probes"] = [f"{lp - 0.1 * i};{lp + 0.2 * (i % 3)};{lp}"
                         for i, lp in enumerate(df["logp_nats"])]
    # a second source: its deltas are against its own true row, not the original's
    rec = df.assign(source="reconstruction", bpd=df["bpd"] + 1.0)
    rec.loc[(rec["sample_id"] == "r1") & (rec["candidate_label"] == "red"), "bpd"] = 5.0
    out = derive_columns(pd.concat([df, rec], ignore_index=True), ["delta_bpd", "delta_bpd_se"])
    for (sid, src), g in out.groupby(["sample_id", "source"]):
        true = g[g["is_true_prompt"]].iloc[0]
        for _, r in g.iterrows():
            assert r["delta_bpd"] == pytest.approx(r["bpd"] - true["bpd"], abs=1e-12)
            assert r["delta_bpd_se"] == pytest.approx(difference_se(r, true, 10), abs=1e-15)
    r1 = out[(out["sample_id"] == "r1") & (out["source"] == "reconstruction")]
    assert r1.set_index("candidate_label")["delta_bpd"]["blue"] == pytest.approx(
        float(df.loc[2, "bpd"]) + 1.0 - 5.0, abs=1e-12)
    assert out.loc[out["is_true_prompt"], "delta_bpd"].abs().max() == 0.0
    # a group whose true row failed has no reference: NaN, not another group's value
    bad = df.copy()
    bad.loc[(bad["sample_id"] == "b1") & bad["is_true_prompt"], "status"] = "error"
    got = derive_columns(bad, ["delta_bpd"])
    assert got.loc[got["sample_id"] == "b1", "delta_bpd"].isna().all()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from dlik.models.sdxl.adapter import SDXLAdapter
    from dlik.models.sdxl.tiny import tiny_random_pipeline

    folder = tiny_random_pipeline(tmp_path_factory.mktemp("sdxl") / "tiny", sample_size=32)
    return SDXLAdapter(str(folder))


def test_reconstruction_under_each_candidate_prompt(tiny):
    from dlik.data.image_sets import ShapesImageSet
    from dlik.engine.transport import ode_path
    from dlik.experiments.tti_prompt_confounds import PromptConfoundsStudy

    data = ShapesImageSet("clevr_shapes", n_items=1)
    kw = {"guidance_scales": [0], "sources": ["reconstruction"],
          "attributes": {"clevr_shapes": ["shape"]},
          "recon_solver": {"method": "euler", "step_size": 0.25}}
    own = PromptConfoundsStudy(data, tiny, recon_prompt="own", **kw)
    cand = PromptConfoundsStudy(data, tiny, recon_prompt="candidate", **kw)
    it = data.items()[0]
    x0, orig = tiny.latent_of(it.payload, it.item_id)
    lat_own, lat_cand = {}, {}
    for job_o, job_c in zip(own.jobs(), cand.jobs()):
        so, sc = job_o.staged(), job_c.staged()
        prompt = sc.payload["prompt"]
        assert so.payload["prompt"] == prompt
        lat_own[prompt], lat_cand[prompt] = so.payload["latent"], sc.payload["latent"]
        assert job_c.input != job_o.input or job_c.columns["is_true_prompt"]
        assert job_c.columns["recon_prompt"] == "candidate"
        # the candidate run's reconstruction is the candidate's own encode + decode
        cond = {k: v[None] for k, v in tiny.prompt_cond(prompt, 0.0, orig).items()}
        spec = cand.recon_solver
        x1 = ode_path(tiny.drift, x0[None], [spec.t_start, spec.t_end], cond=cond, solver=spec)
        xr = ode_path(tiny.drift, x1[-1], [spec.t_end, spec.t_start], cond=cond, solver=spec)
        assert torch.equal(sc.payload["latent"], xr[-1][0])
    true = it.payload["prompt"]
    own_first = next(iter(lat_own.values()))
    assert all(torch.equal(v, own_first) for v in lat_own.values())  # one latent for all
    assert torch.equal(lat_cand[true], lat_own[true])  # the true candidate: the same path
    others = [p for p in lat_cand if p != true]
    assert len(others) == 2 and all(
        float((lat_cand[p] - lat_own[p]).abs().max()) > 1e-6 for p in others)
