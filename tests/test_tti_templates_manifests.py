"""Prompt templates as config (the authors' CLEVR prompt, missing space included) and the
manifest converter for real PACS / CLEVR folder layouts (tiny fake folders)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from dlik.data.image_sets import ShapesImageSet, caption
from dlik.data.manifest_convert import main as convert


def test_templates_reproduce_the_authors_prompt_and_the_corrected_one():
    assert caption("clevr_shapes", "a picture of a {colour}{shape}", colour="red",
                   shape="sphere") == "a picture of a redsphere"
    assert caption("clevr_shapes", colour="red", shape="sphere") == "a red sphere"
    s = ShapesImageSet("clevr_shapes", n_items=2, template="a picture of a {colour} {shape}")
    items = s.items()
    assert [it.payload["prompt"] for it in items] == [
        f"a picture of a {it.columns['colour']} {it.columns['shape']}" for it in items]
    assert s.caption(colour="blue", shape="cube") == "a picture of a blue cube"
    for bad in ("a {colour}", "a {colour} {shape} {style}", "a {colour {shape}"):
        with pytest.raises(ValueError, match="data.template"):
            ShapesImageSet("clevr_shapes", template=bad)


def test_study_candidates_follow_the_template():
    from types import SimpleNamespace

    from dlik.experiments.tti_prompt_confounds import PromptConfoundsStudy
    from dlik.models.guidance import check_t_start

    ad = SimpleNamespace(device="cpu", capabilities={"image"}, t_min=1e-3,
                         check_t_start=lambda t: check_t_start(t, 1e-3, False, "fake"))
    data = ShapesImageSet("clevr_shapes", n_items=1, template="a picture of a {colour}{shape}")
    jobs = PromptConfoundsStudy(data, ad, guidance_scales=[0], sources=["original"],
                                attributes={"clevr_shapes": ["shape"]}).jobs()
    assert [j.payload["prompt"] for j in jobs] == [
        f"a picture of a red{s}" for s in ("cube", "sphere", "cylinder")]
    assert {j.columns["true_prompt"] for j in jobs} == {"a picture of a redcube"}


def _png(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)


def test_pacs_folder_becomes_a_manifest(tmp_path):
    root = tmp_path / "PACS"
    for domain in ("art_painting", "cartoon", "photo", "sketch"):
        for cls in ("dog", "house"):
            _png(root / domain / cls / "pic_001.png")
    assert convert(["pacs", str(root)]) == 0
    s = ShapesImageSet("pacs_styles", root=str(root))
    items = s.items()
    assert len(items) == 8
    assert s.attributes() == {"style": ["photo", "painting", "cartoon", "sketch"],
                              "class": ["house", "dog"]}
    art = [it for it in items if it.item_id == "pacs_art_painting_dog_pic_001"][0]
    assert art.payload["prompt"] == "a painting of a dog" and art.columns["style"] == "painting"
    import shutil

    shutil.rmtree(root / "sketch")
    with pytest.raises(ValueError, match="lacks the domain folder 'sketch'"):
        convert(["pacs", str(root)])


def test_clevr_scenes_become_a_manifest_of_single_object_images(tmp_path):
    root = tmp_path / "CLEVR"
    scenes = [{"image_filename": "CLEVR_val_000000.png",
               "objects": [{"color": "green", "shape": "cylinder"}]},
              {"image_filename": "CLEVR_val_000001.png",
               "objects": [{"color": "red", "shape": "cube"}, {"color": "blue",
                                                              "shape": "sphere"}]}]
    for sc in scenes:
        _png(root / "images" / "val" / sc["image_filename"])
    (root / "scenes").mkdir()
    (root / "scenes" / "CLEVR_val_scenes.json").write_text(json.dumps({"scenes": scenes}))
    out = tmp_path / "manifest"
    assert convert(["clevr", str(root), "--out", str(out)]) == 0
    items = ShapesImageSet("clevr_shapes", root=str(out)).items()
    assert [(it.item_id, it.payload["prompt"]) for it in items] == [
        ("clevr_CLEVR_val_000000", "a green cylinder")]
    assert Image.open(items[0].payload["image_path"]).size == (4, 4)
