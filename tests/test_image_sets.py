"""Embedded image sets (rendering, cache, dataset protocol) and the tiny SDXL-format pipeline."""

from __future__ import annotations

import csv
import filecmp
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from dlik.data import image_sets
from dlik.data.base import Item
from dlik.data.registry import build_dataset
from dlik.data.image_sets import SETS, ShapesImageSet, build_image_set, caption, combination
from dlik.data.render_classifier import classify_colour, classify_shape


@pytest.fixture
def small_cache(tmp_path, monkeypatch):
    """A data dir where the embedded sets hold 24 test and 4 train images (fast to render)."""
    monkeypatch.setenv("DLIK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(image_sets, "SPLIT_SIZES", {"test": 24, "train": 4})
    return tmp_path / "data"


@pytest.mark.parametrize("name", sorted(SETS))
def test_render_is_bitwise_deterministic(tmp_path, name):
    a = build_image_set(name, tmp_path / "a", {"test": 5, "train": 2})
    b = build_image_set(name, tmp_path / "b", {"test": 5, "train": 2})
    names = sorted(p.name for p in (a / "images").iterdir())
    assert len(names) == 7
    match, mismatch, errors = filecmp.cmpfiles(a / "images", b / "images", names, shallow=False)
    assert (len(match), mismatch, errors) == (7, [], [])
    assert (a / "manifest.csv").read_bytes() == (b / "manifest.csv").read_bytes()
    # a small build reproduces the first images of any larger build (index = split start + k)
    c = build_image_set(name, tmp_path / "c", {"test": 3})
    assert filecmp.cmp(a / "images" / f"{name}_test_00002.png",
                       c / "images" / f"{name}_test_00002.png", shallow=False)


@pytest.mark.parametrize("name", sorted(SETS))
def test_combinations_cover_all_and_prefixes_are_balanced(name):
    (ka, va), (kb, vb) = SETS[name].items()
    combos = [combination(name, i) for i in range(len(va) * len(vb))]
    assert len({(c[ka], c[kb]) for c in combos}) == len(va) * len(vb)
    for n in (len(va), len(vb), 2 * len(vb), len(va) * len(vb)):
        for key, values in ((ka, va), (kb, vb)):
            counts = Counter(c[key] for c in combos[:n])
            assert max(counts.values()) - min(counts.get(v, 0) for v in values) <= 1


def test_items_follow_the_protocol_and_captions_match(small_cache):
    for name in SETS:
        ds = build_dataset(name, split="test", n_items=None)
        items = ds.items()
        assert ds.name == name and len(items) == 24
        assert (small_cache / name / "manifest.csv").exists()
        assert len({it.item_id for it in items}) == 24
        for it in items:
            assert isinstance(it, Item)
            assert set(it.payload) == {"image_path", "prompt"}
            assert set(it.columns) == {"prompt", *SETS[name]}
            attrs = {k: it.columns[k] for k in SETS[name]}
            assert it.payload["prompt"] == caption(name, **attrs)
            assert it.columns["prompt"] == ds.caption(**attrs)
        img = Image.open(items[0].payload["image_path"])
        assert img.size == (64, 64) and img.mode == "RGB"
        for key, values in SETS[name].items():  # 24 items: every value equally often
            counts = Counter(it.columns[key] for it in items)
            assert set(counts) == set(values) and len(set(counts.values())) == 1
        assert ds.attributes() == SETS[name]
        assert len(ShapesImageSet(name, "train").items()) == 4
        sub = ShapesImageSet(name, n_items=len(SETS[name][next(iter(SETS[name]))])).items()
        assert [it.item_id for it in sub] == [it.item_id for it in items[: len(sub)]]


def test_caption_and_args_are_checked():
    assert caption("clevr_shapes", colour="red", shape="cube") == "a red cube"
    assert caption("pacs_styles", **{"style": "cartoon", "class": "fish"}) == "a cartoon of a fish"
    with pytest.raises(ValueError, match="need attributes"):
        caption("clevr_shapes", colour="red")
    with pytest.raises(ValueError, match="image set must be one of"):
        ShapesImageSet("mnist")
    with pytest.raises(ValueError, match="n_items"):
        ShapesImageSet("clevr_shapes", n_items=0)


def test_render_classifier_reads_clevr_renders(tmp_path):
    root = build_image_set("clevr_shapes", tmp_path / "c", {"test": 24})
    rows = list(csv.DictReader(open(root / "manifest.csv")))
    colour = np.mean([classify_colour(Image.open(root / r["path"])) == r["colour"] for r in rows])
    shape = np.mean([classify_shape(Image.open(root / r["path"])) == r["shape"] for r in rows])
    assert colour == 1.0 and shape >= 0.9


def _write_manifest(root, columns, rows):
    with open(root / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns)
        w.writeheader()
        w.writerows(rows)


def test_real_folder_root_and_missing_column(tmp_path):
    root = tmp_path / "real"
    (root / "img").mkdir(parents=True)
    rows = []
    for i, (style, cls) in enumerate([("photo", "dog"), ("sketch", "dog"), ("photo", "house"),
                                      ("photo", "dog")]):
        Image.new("RGB", (96, 80), (i * 40, 10, 10)).save(root / "img" / f"{i}.jpg")
        rows.append({"id": f"r{i}", "split": "test", "path": f"img/{i}.jpg",
                     "prompt": f"a {style} of a {cls}", "style": style, "class": cls})
    _write_manifest(root, ["id", "split", "path", "prompt", "style", "class"], rows)
    ds = ShapesImageSet("pacs_styles", root=str(root), n_items=3)
    items = ds.items()
    # balanced: one per (style, class) combination first, in manifest order
    assert [it.item_id for it in items] == ["r0", "r1", "r2"]
    assert items[0].payload["image_path"] == str((root / "img/0.jpg").resolve())
    assert ds.attributes() == {"style": ["photo", "sketch"], "class": ["house", "dog"]}
    with pytest.raises(ValueError, match="no rows with split 'train'"):
        ShapesImageSet("pacs_styles", split="train", root=str(root)).items()
    _write_manifest(root, ["id", "split", "path", "prompt", "style"],
                    [{k: v for k, v in r.items() if k != "class"} for r in rows])
    with pytest.raises(ValueError, match=r"lacks columns \['class'\]"):
        ShapesImageSet("pacs_styles", root=str(root)).items()
    with pytest.raises(ValueError, match="no manifest.csv"):
        ShapesImageSet("pacs_styles", root=str(tmp_path / "nowhere")).items()


def test_tokenizer_maps_caption_words_to_whole_words(tmp_path):
    from transformers import CLIPTokenizer

    from dlik.models.sdxl.tiny import build_tokenizer, write_tokenizer

    d = write_tokenizer(tmp_path / "tok")
    tok = CLIPTokenizer(str(d / "vocab.json"), str(d / "merges.txt"))
    words = image_sets.caption_words()
    for t in (tok, CLIPTokenizer.from_pretrained(d), build_tokenizer()):
        for w in words:
            ids = t(w).input_ids
            assert ids[0] == t.bos_token_id and ids[-1] == t.eos_token_id and len(ids) == 3
            assert t.convert_ids_to_tokens(ids[1]) == w + "</w>"
    ids = tok("a zebra").input_ids  # unknown word: characters, still tokenized
    assert len(ids) > 4 and tok.unk_token_id not in ids[1:-1]
    batch = tok(["a red cube", "a sketch of a flower"], padding="max_length", max_length=10,
                truncation=True)
    assert [len(x) for x in batch.input_ids] == [10, 10]
    assert batch.input_ids[0][4:] == [tok.eos_token_id] * 6 == [tok.pad_token_id] * 6
    assert tok.decode(batch.input_ids[1], skip_special_tokens=True) == "a sketch of a flower"


def test_tiny_random_pipeline_saves_and_loads_offline(tmp_path, monkeypatch):
    import torch
    from diffusers import StableDiffusionXLPipeline

    from dlik.models.sdxl.tiny import TEST_SIZES, tiny_random_pipeline

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = tiny_random_pipeline(tmp_path / "pipe")
    pipe = StableDiffusionXLPipeline.from_pretrained(str(path))
    unet, te2 = pipe.unet, pipe.text_encoder_2
    assert unet.config.addition_embed_type == "text_time"
    assert unet.config.cross_attention_dim == (pipe.text_encoder.config.hidden_size
                                               + te2.config.hidden_size)
    assert unet.config.projection_class_embeddings_input_dim == (
        te2.config.projection_dim + 6 * unet.config.addition_time_embed_dim)
    assert pipe.vae_scale_factor == 8 and unet.config.sample_size == 8
    assert pipe.scheduler.config.beta_schedule == "scaled_linear"
    assert pipe.vae.config.block_out_channels == list(TEST_SIZES["vae_channels"])
    with torch.no_grad():
        pe, _, pooled, _ = pipe.encode_prompt("a red cube", do_classifier_free_guidance=False)
        out = unet(torch.zeros(1, 4, 8, 8), 10, pe, added_cond_kwargs={
            "text_embeds": pooled, "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]])}).sample
    assert out.shape == (1, 4, 8, 8) and torch.isfinite(out).all()
