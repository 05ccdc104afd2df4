"""dlik attribute / dlik elbo write beside the run folder dlik run makes: the keys left out of
the folder name are config.yaml's exclude_keys, read from config.yaml (not a copy of them)."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import yaml

from dlik.commands import beside_results
from dlik.commands.config import CONFIG_DIR


def _cfg(root: Path):
    return SimpleNamespace(paths=SimpleNamespace(output_root=str(root)),
                           experiment_name="tts_text_agnostic")


def test_folder_leaves_out_exactly_config_yamls_exclude_keys(tmp_path):
    keys = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())[
        "hydra"]["job"]["config"]["override_dirname"]["exclude_keys"]
    overrides = [f"{k}=1" for k in keys if k != "run_name"] + ["seed=3", "solver=rk4_50steps"]
    out = beside_results.default_out(_cfg(tmp_path), overrides, "a.csv")
    assert out == tmp_path / "tts_text_agnostic" / "seed=3,solver=rk4_50steps" / "a.csv"


def test_folder_follows_a_changed_config_yaml(tmp_path, monkeypatch):
    configs = tmp_path / "configs"
    shutil.copytree(CONFIG_DIR, configs)
    cfg = yaml.safe_load((configs / "config.yaml").read_text())
    node = cfg["hydra"]["job"]["config"]["override_dirname"]
    node["exclude_keys"] = [*node["exclude_keys"], "seed"]
    (configs / "config.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.setattr(beside_results, "CONFIG_DIR", configs)
    out = beside_results.default_out(_cfg(tmp_path), ["seed=3", "solver=rk4_50steps"], "a.csv")
    assert out.parent.name == "solver=rk4_50steps"
    assert beside_results.excluded_keys() == tuple(node["exclude_keys"])
