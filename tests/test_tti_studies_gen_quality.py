"""TTI generative path and quality studies end to end (embedded tiny SDXL, 2 images, 4 Euler
steps: these test the pipelines, not the engine's accuracy), the measures with tiny local
CLIP / Inception stand-ins, and both tables on hand-made CSVs with known answers."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dlik.analysis.tti import grid_figure, tti_generative_table, tti_quality_table
from dlik.data.image_sets import ShapesImageSet
from dlik.metrics.image import ClipScorer, frechet_distance
from dlik.data.images import fit, image_key, load_image

FAST = ["solver.method=euler", "solver.step_size=0.25", "progress=false", "data.n_items=2"]


def _dlik_run(tmp_path, experiment: str, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dlik.cli", "run", f"experiment={experiment}", *FAST,
         f"paths.output_root={tmp_path}", "run_name=t", *overrides],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env={**os.environ, "OMP_NUM_THREADS": "1"})  # 2 threads on a busy 2-core CPU: ~7x slower


def _run(tmp_path, experiment: str, *overrides: str) -> tuple[pd.DataFrame, Path]:
    out = _dlik_run(tmp_path, experiment, *overrides)
    assert out.returncode == 0, out.stderr[-3000:]
    run = tmp_path / experiment / "t"
    return pd.read_csv(run / "results.csv", keep_default_na=False, na_values=[""]), run


def _tables(capsys, *args: str) -> str:
    """Return what `dlik tables ARGS` prints (its main, in this process)."""
    from dlik.commands.tables import main

    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_generative_path_end_to_end(tmp_path, metric_weights, capsys):
    clip, inception = metric_weights
    df, run = _run(tmp_path, "tti_generative_path", "study.guidance_scales=[0,3]",
                   "study.atol=0.1", "study.rtol=0.1", "solver.t_start=0.002",
                   f"study.measures.clip_model={clip}", f"study.measures.inception={inception}")
    assert len(df) == 2 * 2 * 3 and (df["status"] == "ok").all()
    assert set(zip(df["kind"], df["guidance_scale"])) == {
        (k, s) for k in ("real", "sample", "reconstruction") for s in (0.0, 3.0)}
    assert set(df["condition_id"]) == {f"{k}@gs={s}" for k in ("real", "sample",
                                                                "reconstruction")
                                       for s in (0, 3)}
    assert (df["n_dims"] == 4 * 8 * 8).all() and (df["image_size"] == "64x64").all()
    assert np.allclose(df["latent_bits_per_pixel_dim"], df["bpd"] * 256 / (3 * 64 * 64),
                       rtol=1e-12, atol=0)
    assert (df["vae_scaling_factor"] == 0.5605059266090393).all()  # the shipped VAE's
    assert df["vae_shift_factor"].isna().all()
    # t_start honoured (the override) and written; the sampler's reverse ODE ends there too
    assert (df["t_start"] == 0.002).all()
    import yaml

    assert yaml.safe_load((run / "config.yaml").read_text())["study"]["t_min"] == 0.002
    assert (df["metrics_note"] == "ok").all()
    real = {it.item_id: it for it in ShapesImageSet("clevr_shapes", n_items=2).items()}
    scorer = ClipScorer(clip)
    gen = df[df["kind"] != "real"]
    pixels = set()
    for r in df.itertuples():
        img = Image.open(run / r.image_file).convert("RGB")
        assert img.size == (64, 64)
        if r.kind == "real":  # the fitted real image, saved for the grid
            assert r.image_file == f"images/{r.sample_id}__real.png"
            want = fit(load_image(real[r.sample_id].payload), (64, 64))
            assert image_key({"image": img}) == image_key({"image": want})
        else:
            assert r.image_file == f"images/{r.sample_id}__{r.kind}_gs{r.guidance_scale:g}.png"
            pixels.add(image_key({"image": img}))
        assert r.clip_score == pytest.approx(scorer.score(img, r.prompt), abs=1e-9)
        feats = np.load(r.inception_file)
        assert np.allclose(feats, np.asarray(img, np.float64).mean((0, 1)), atol=1e-4)
    assert len(pixels) == len(gen)  # every sample / reconstruction is its own image
    csv = _tables(capsys, "tti_generative_path", "-i", str(run / "results.csv"), "--format", "csv")
    table = pd.read_csv(io.StringIO(csv), keep_default_na=False)
    row = table[(table["kind"] == "sample") & (table["guidance_scale"] == 3.0)].iloc[0]
    ours = np.stack([np.load(f) for f in gen[(gen["kind"] == "sample")
                                             & (gen["guidance_scale"] == 3.0)]["inception_file"]])
    ref = np.stack([np.load(f) for f in df[df["kind"] == "real"]
                    .drop_duplicates("sample_id")["inception_file"]])
    assert float(row["fid"]) == pytest.approx(frechet_distance(ours, ref), rel=1e-9)
    assert table.loc[table["kind"] == "real", "fid"].eq("-").all()
    # --out also writes the image grid, labelled: a row per prompt (its text), columns the
    # real image, then samples and reconstructions by guidance scale (titled)
    _tables(capsys, "tti_generative_path", "-i", str(run / "results.csv"), "--out",
            str(tmp_path / "t.md"))
    assert (tmp_path / "t_images.png").stat().st_size > 5000
    fig = grid_figure(df, [run])
    axes = np.array(fig.axes).reshape(2, 5)
    cols = [("real", None), ("sample", 0.0), ("sample", 3.0), ("reconstruction", 0.0),
            ("reconstruction", 3.0)]
    assert [ax.get_title() for ax in axes[0]] == [
        "real", "sample\nguidance_scale 0", "sample\nguidance_scale 3",
        "reconstruction\nguidance_scale 0", "reconstruction\nguidance_scale 3"]
    for i, sid in enumerate(dict.fromkeys(df["sample_id"])):
        rows = df[df["sample_id"] == sid]
        assert axes[i][0].get_ylabel() == rows["prompt"].iloc[0]
        for j, (kind, scale) in enumerate(cols):
            pick = rows[(rows["kind"] == kind)
                        & ((rows["guidance_scale"] == scale) if scale is not None else True)]
            tile = np.asarray(axes[i][j].images[0].get_array())
            assert (tile == np.asarray(Image.open(run / pick["image_file"].iloc[0]))).all()


def test_quality_end_to_end(tmp_path, capsys):
    df, run = _run(tmp_path, "tti_quality", "study.perturbations={gaussian_blur:[1.0],"
                   "additive_noise:[8],jpeg:[50],down_up:[2]}")
    assert len(df) == 2 * 5 and (df["status"] == "ok").all()
    assert (df["t_start"] == 1e-3).all()  # the TTI default: the first trained timestep
    clean = df[df["perturbation"] == "clean"]
    assert len(clean) == 2 and (clean["level"] == 0).all() and clean["level_unit"].isna().all()
    units = dict(zip(df["perturbation"], df["level_unit"]))
    assert units["jpeg"] == "quality" and units["down_up"] == "factor"
    assert df["bpd"].notna().all() and (df["n_dims"] == 256).all()
    out = tmp_path / "q.md"
    text = _tables(capsys, "tti_quality", "-i", str(run / "results.csv"), "--out", str(out))
    assert "gaussian_blur" in text and out.with_suffix(".png").stat().st_size > 1000
    assert "no paper values to show beside ours" in text
    # below the trained range: refused before scoring, naming the value and the way out
    bad = _dlik_run(tmp_path, "tti_quality", "solver.t_start=1e-5", "run_name=below")
    assert bad.returncode != 0
    assert "solver.t_start=1e-05 is below the first trained timestep" in bad.stderr
    assert "model.allow_t_below_trained=true" in bad.stderr
    assert not (tmp_path / "tti_quality" / "below" / "results.csv").exists()


def test_quality_jobs_stage_distinct_seeded_images():
    from dlik.experiments.tti_quality import TTIQualityStudy

    data = ShapesImageSet("clevr_shapes", n_items=2)
    adapter = SimpleNamespace(image_size=(64, 64), capabilities={"image"}, model_id="stub",
                              t_min=1e-3, check_t_start=lambda t: t)
    perts = {"additive_noise": [8, 16], "gaussian_blur": [0, 2]}
    study = TTIQualityStudy(data, adapter, perts, seed=0)
    jobs = study.jobs()
    assert [j.condition_id for j in jobs[:5]] == ["clean", "additive_noise@8",
                                                 "additive_noise@16", "gaussian_blur@0",
                                                 "gaussian_blur@2"]
    staged = [j.staged() for j in jobs]
    keys = [image_key(j.payload) for j in staged]
    assert len(set(keys)) == len(keys)  # every row has its own latent-cache key
    pixels = [image_key({"image": j.payload.get("image") or fit(load_image(j.payload),
                                                                 (64, 64))}) for j in staged]
    assert pixels[3] == pixels[0] and len(set(pixels)) == len(pixels) - 2  # blur at sigma 0
    again = TTIQualityStudy(data, adapter, perts, seed=0).jobs()[1].staged()
    other = TTIQualityStudy(data, adapter, perts, seed=1).jobs()[1].staged()
    assert image_key(again.payload) == keys[1] != image_key(other.payload)
    with pytest.raises(ValueError, match="jpeg level must be an integer quality"):
        TTIQualityStudy(data, adapter, {"jpeg": [101]})
    with pytest.raises(ValueError, match="must be one of"):
        TTIQualityStudy(data, adapter, {"sharpen": [1]})


def _gen_rows(tmp_path) -> pd.DataFrame:
    """A hand-made generative-path CSV: 2 prompts, guidance_scale 0, real / sample rows."""
    feats = {"a_real": [0.0, 0.0], "b_real": [2.0, 0.0], "a_s": [3.0, 4.0], "b_s": [5.0, 4.0]}
    files = {}
    for k, v in feats.items():
        files[k] = str(tmp_path / f"{k}.npy")
        np.save(files[k], np.array(v))
    rows = []
    for sid in ("a", "b"):
        for kind, bpd, clip in (("real", 1.0 if sid == "a" else 3.0, 30.0),
                                ("sample", 2.0, None)):
            rows.append({"sample_id": sid, "condition_id": f"{kind}@gs=0", "kind": kind,
                         "guidance_scale": 0.0, "image_size": "64x64", "bpd": bpd,
                         "latent_bits_per_pixel_dim": bpd / 48,
                         "status": "ok", "clip_score": clip, "metrics_note": "ok",
                         "inception_file": files[f"{sid}_{'real' if kind == 'real' else 's'}"]})
    rows.append({**rows[-1], "sample_id": "c", "status": "error", "bpd": 99.0})
    return pd.DataFrame(rows)


def test_generative_table_known_answer(tmp_path):
    table, notes = tti_generative_table(_gen_rows(tmp_path))
    assert list(table["kind"]) == ["real", "sample"] and list(table["n"]) == [2, 2]
    real, sample = table.iloc[0], table.iloc[1]
    assert real["bpd"] == 2.0 and (real["bpd_ci_low"], real["bpd_ci_high"]) == (1.0, 3.0)
    assert sample["bpd"] == 2.0 and (sample["bpd_ci_low"], sample["bpd_ci_high"]) == (2.0, 2.0)
    assert real["latent_bits_per_pixel_dim"] == pytest.approx(2.0 / 48)
    assert real["clip_score"] == 30.0 and sample["clip_score"] == "not_computed"
    # same covariance, means (1, 0) vs (4, 4): FID = |shift|^2 = 9 + 16
    assert real["fid"] == "-" and sample["fid"] == pytest.approx(25.0, abs=1e-9)
    assert "2 real images" in notes[-2] and "not a pixel likelihood" in notes[-1]


def test_generative_table_without_weights_says_not_computed(tmp_path):
    df = _gen_rows(tmp_path).assign(inception_file=None, clip_score=None,
                                    metrics_note="fid: not_computed (no weights)")
    table, notes = tti_generative_table(df)
    assert table.loc[1, "fid"] == "not_computed" and table.loc[0, "clip_score"] == "not_computed"
    assert notes[0] == "fid: not_computed (no weights)"


def test_quality_table_known_answer():
    rows = []
    for sid, clean in (("a", 1.0), ("b", 2.0)):
        rows.append({"sample_id": sid, "perturbation": "clean", "level": 0.0,
                     "level_unit": None, "bpd": clean, "latent_bits_per_pixel_dim": clean / 48,
                     "status": "ok"})
        for level, d in ((1.0, 0.5), (2.0, 1.5)):
            rows.append({"sample_id": sid, "perturbation": "gaussian_blur", "level": level,
                         "level_unit": "sigma_px", "bpd": clean + d + (sid == "b") * 0.5,
                         "latent_bits_per_pixel_dim": (clean + d) / 48, "status": "ok"})
    t = tti_quality_table(pd.DataFrame(rows))
    assert list(t["perturbation"]) == ["clean", "gaussian_blur", "gaussian_blur"]
    assert list(t["level"]) == [0.0, 1.0, 2.0]
    assert list(t["level_unit"]) == ["-", "sigma_px", "sigma_px"]
    assert list(t["mean_bpd"]) == [1.5, 2.25, 3.25]
    assert list(t["mean_delta_bpd"]) == [0.0, 0.75, 1.75]
    assert (t.loc[1, "ci_low"], t.loc[1, "ci_high"]) == (0.5, 1.0)
    assert t.loc[2, "mean_latent_bits_per_pixel_dim"] == pytest.approx((2.5 + 3.5) / 2 / 48)


def test_old_cfg_and_pixel_bpd_columns_are_read_under_their_new_names(tmp_path, capsys):
    """CSVs written before diffusers' convention carry cfg = w (guidance_scale 1 + w; w = 0 no
    guidance) and pixel_bpd: dlik tables reads them as guidance_scale and
    latent_bits_per_pixel_dim, converting w, in one place (analysis/legacy.py)."""
    from dlik.analysis.legacy import upgrade_columns

    new = _gen_rows(tmp_path)
    old = new.rename(columns={"guidance_scale": "cfg",
                              "latent_bits_per_pixel_dim": "pixel_bpd"})
    old.loc[old["sample_id"] == "b", "cfg"] = 3.0  # w = 3 is guidance_scale 4
    up = upgrade_columns(old)
    assert "cfg" not in up and "pixel_bpd" not in up
    assert up.groupby("sample_id")["guidance_scale"].first().to_dict() == {
        "a": 0.0, "b": 4.0, "c": 0.0}
    assert (up["latent_bits_per_pixel_dim"] == new["latent_bits_per_pixel_dim"]).all()
    assert upgrade_columns(up) is up  # nothing old left: unchanged
    path = tmp_path / "old.csv"
    old.to_csv(path, index=False)
    csv = _tables(capsys, "tti_generative_path", "-i", str(path), "--format", "csv")
    assert set(pd.read_csv(io.StringIO(csv))["guidance_scale"]) == {0.0, 4.0}
    with pytest.raises(ValueError, match=r"old column cfg .* values \['-1.0'\]"):
        upgrade_columns(old.assign(cfg=-1.0))
