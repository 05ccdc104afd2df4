"""A seeded-random fuzzer over dlik's configs and subcommands: every bad config, argument or
input file is refused in one line (< 200 chars, naming the key or file), exit code 2, no
traceback, no rows written, before any model loads. Cases: hand-picked (the issue's list) plus
seeded random mutations of every leaf key of every experiment's composed config, and of each
subcommand's arguments and input files (empty, random bytes, wrong columns, missing folders).
docs/guarantees.md lists the kinds and the counts."""

from __future__ import annotations

import math
import random
import shutil
from pathlib import Path

import pytest

from dlik.cli import main
from dlik.validation import LIMIT

SEED = 20240
N_RUN_RANDOM = 80
N_SUB_RANDOM = 60
ASSETS = Path(__file__).resolve().parents[1] / "dlik" / "assets"


def _call(argv: list[str], capsys) -> tuple[int, str]:
    """Return (exit code, stderr) of dlik argv, run in this process."""
    capsys.readouterr()
    try:
        rc = main(argv)
    except SystemExit as exc:  # a bare SystemExit is a failure of the contract below
        rc = exc.code if isinstance(exc.code, int) else f"SystemExit({exc.code!r})"
    return rc, capsys.readouterr().err


def assert_refused(argv: list[str], capsys, names: str | None, out_root: Path | None = None
                   ) -> str:
    """Assert dlik argv is refused: exit 2, one stderr line under LIMIT chars starting with
    'dlik', naming `names` (the key or file), no traceback, no rows under out_root."""
    rc, err = _call(argv, capsys)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, (argv, rc, err[-600:])
    assert "Traceback" not in err, (argv, err[-600:])
    assert len(lines) == 1, (argv, lines)
    assert lines[0].startswith("dlik") and len(lines[0]) <= LIMIT, (argv, lines[0])
    if names is not None:
        assert names in lines[0], (argv, names, lines[0])
    if out_root is not None:
        assert not out_root.exists() or not any(out_root.rglob("*.csv")), argv
    return lines[0]


# ---------------------------------------------------------------- dlik run: hand-picked
@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Bad inputs on disk: empty, random bytes, wrong columns, a folder, a half model..."""
    d = tmp_path_factory.mktemp("inputs")
    rng = random.Random(SEED)
    (d / "empty.csv").write_bytes(b"")
    (d / "random.csv").write_bytes(bytes(rng.randrange(256) for _ in range(2000)))
    (d / "nul.csv").write_bytes(b"a,b\n1,\x00\n")
    (d / "wrong.csv").write_text("colour,shape\nred,cube\nblue,sphere\n")
    (d / "text.txt").write_text("hello\n")
    (d / "empty_dir").mkdir()
    lj = d / "lj"
    (lj / "wavs").mkdir(parents=True)
    (lj / "metadata.csv").write_text("LJ001-0001|a b|a b\nLJ001-0002|c d|c d\n")
    img = d / "img"
    img.mkdir()
    (img / "manifest.csv").write_text("id,split,path,prompt,colour,shape\n"
                                      "a,test,a.png,a red cube,red,cube\n")
    sd3 = d / "sd3_no_transformer"
    shutil.copytree(ASSETS / "sd3_tiny", sd3, ignore=shutil.ignore_patterns("transformer"))
    return {p.name: p for p in d.iterdir()}


HAND_PICKED = [  # (experiment, override, what the line must name)
    ("sanity_gaussian", "~solver", "solver"),
    ("sanity_gaussian", "~model", "model"),
    ("sanity_gaussian", "study._target_=nope.Nope", "study._target_"),
    ("sanity_gaussian", "seed=inf", "seed"),
    ("sanity_gaussian", "batch_size=inf", "batch_size"),
    ("sanity_gaussian", "batch_size=0", "batch_size"),
    ("sanity_gaussian", "solver.t_end=inf", "solver.t_end"),
    ("sanity_gaussian", "solver.t_start=nan", "solver.t_start"),
    ("sanity_gaussian", "solver.max_steps=1", "solver.max_steps"),
    ("sanity_gaussian", "solver.n_probes=1e12", "solver.n_probes"),
    ("sanity_gaussian", "solver.atol=-1", "atol"),
    ("sanity_gaussian", "solver.method=nope", "method"),
    ("sanity_gaussian", "device=mps", "mps"),
    ("sanity_gaussian", "device=tpu", "device"),
    ("sanity_gaussian", "shard=5/4", "shard"),
    ("sanity_gaussian", "model=sdxl_tiny", "model"),
    ("sanity_gaussian", "experiment=tts_quality", "experiment"),
    ("sanity_gaussian", "nosuchkey=1", "nosuchkey"),
    ("sanity_gaussian", "+seed=1", "seed"),
    ("sanity_gaussian", "seed=0,1", "seed"),
    ("sanity_gaussian", "study.n_samples=[1", "study.n_samples"),
    ("sanity_gaussian", "study=3", "study"),
    ("sanity_gaussian", "++study.x=1", "study.x"),
    ("sanity_gaussian", "seed=${nope}", "seed"),
    ("nope", None, "experiment=nope"),
    ("tts_text_agnostic", "model=sdxl_tiny", "model"),
    ("tts_text_agnostic", "data.max_seconds=0", "data.max_seconds"),
    ("tts_text_agnostic", "study.variants=[]", "study.variants"),
    ("tts_text_agnostic", "data.n_utterances=0", "data.n_utterances"),
    ("tts_speaker", "model=gradtts_lj", "gradtts_multi"),
    ("tts_quality", "data=clevr_shapes", "data"),
    ("tts_quality", "model.checkpoint=embedded:nope", "model.checkpoint"),
    ("tti_generative_path", "model=gradtts_lj", "model"),
    ("tti_quality", "model=sd3", "model.path"),
    ("tti_quality", "model.path=''", "model.path"),
]


@pytest.mark.parametrize("experiment,override,names", HAND_PICKED,
                         ids=[f"{e}:{o}" for e, o, _ in HAND_PICKED])
def test_hand_picked_run_configs_are_refused_in_one_line(experiment, override, names, tmp_path,
                                                         capsys):
    out = tmp_path / "out"
    argv = ["run", f"experiment={experiment}", f"paths.output_root={out}", "progress=false"]
    assert_refused(argv + ([override] if override else []), capsys, names, out)


@pytest.mark.parametrize("experiment,key,file", [
    ("tti_quality", "model.path", "empty_dir"),
    ("tti_quality", "model.path", "text.txt"),
    ("tti_quality", "model.path", "sd3_no_transformer"),
    ("tts_text_agnostic", "model.dictionary", "random.csv"),
    ("tts_text_agnostic", "model.dictionary", "empty_dir"),
    ("tts_text_agnostic", "data.root", "lj"),
    ("tts_text_agnostic", "data.root", "text.txt"),
    ("tti_quality", "data.root", "img"),
    ("tti_quality", "data.root", "empty_dir"),
    ("tts_quality", "model.checkpoint", "empty.csv"),
])
def test_bad_local_files_are_refused_naming_the_key(experiment, key, file, files, tmp_path,
                                                    capsys):
    extra = ["model=sd3_tiny"] if file == "sd3_no_transformer" else []
    out = tmp_path / "out"
    assert_refused(["run", f"experiment={experiment}", *extra, f"{key}={files[file]}",
                    f"paths.output_root={out}"], capsys, key, out)


# ---------------------------------------------------------------- dlik run: seeded random
def _leaves(node, prefix: str):
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "_target_":
                yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    else:
        yield prefix, node


def _mutations(key: str, value) -> list[tuple[str, str]]:
    """Return (override, what the line must name) of values bad by construction for key."""
    leaf = key.rsplit(".", 1)[-1]
    out = [(f"{key}=inf", key), (f"{key}=-inf", key), (f"{key}=nan", key)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out.append((f"{key}=abc", key))
    if isinstance(value, bool):
        out += [(f"{key}=abc", key), (f"{key}=2", key)]
    if leaf.startswith(("n_", "k_")) and key.split(".")[0] in ("study", "data"):
        out += [(f"{key}=0", key), (f"{key}=-1", key), (f"{key}=2.5", key)]
    if isinstance(value, list) and key.split(".")[0] in ("study", "data"):
        out.append((f"{key}=[]", key))
    group = key.split(".")[0]
    if "." in key:
        out.append((f"{group}.typo_{leaf}=1", f"typo_{leaf}"))
    return out


@pytest.fixture(scope="module")
def run_population() -> list[tuple[str, str, str]]:
    """Return every (experiment, override, name) the random run cases are drawn from."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from dlik.commands.config import CONFIG_DIR, experiments, register_resolvers

    register_resolvers()
    pop = []
    for exp in experiments():
        with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
            cfg = compose("config", [f"experiment={exp}"])
        tree = {k: OmegaConf.to_container(cfg[k], resolve=True) if OmegaConf.is_config(cfg[k])
                else cfg[k] for k in cfg if k not in ("hydra", "paths", "run_name")}
        for key, value in _leaves(tree, ""):
            if key in ("experiment_name", "device", "shard") or isinstance(value, str):
                continue
            pop += [(exp, o, n) for o, n in _mutations(key, value)]
        for group in ("model", "data", "solver"):
            pop += [(exp, f"{group}=nope", group), (exp, f"~{group}", group)]
        pop += [(exp, "experiment=sanity_gaussian", "experiment"), (exp, "seed=1,2", "seed"),
                (exp, "batch_size=[1", "batch_size"), (exp, "+batch_size=3", "batch_size")]
    return pop


def test_random_run_overrides_are_refused_in_one_line(run_population, tmp_path, capsys):
    rng = random.Random(SEED)
    cases = rng.sample(run_population, N_RUN_RANDOM)
    out = tmp_path / "out"
    for exp, override, names in cases:
        fixed = [f"paths.output_root={out}", "progress=false"]  # unless the case sets the key
        fixed = [f for f in fixed if f.split("=")[0] != override.split("=")[0].lstrip("+~")]
        assert_refused(["run", f"experiment={exp}", override, *fixed], capsys, names, out)
    assert len(run_population) > 300 and len({c[0] for c in cases}) >= 8


# ---------------------------------------------------------------- subcommands
BAD_INPUTS = ("empty.csv", "random.csv", "nul.csv", "missing.csv", "empty_dir")


def _sub_population(files: dict[str, Path], tmp: Path) -> list[tuple[list[str], str | None]]:
    """Return every (argv, what the line must name) of the subcommand cases."""
    from dlik.analysis.tables import TABLES

    missing_out = str(tmp / "no_such_dir" / "t.md")
    pop: list[tuple[list[str], str | None]] = []
    for table in sorted(TABLES):
        for bad in BAD_INPUTS:
            path = files.get(bad, tmp / bad)
            pop.append((["tables", table, "-i", str(path)], str(path)))
        pop.append((["tables", table, "-i", str(files["wrong.csv"])], table))
        pop.append((["tables", table, "-i", str(files["wrong.csv"]), "--out", missing_out],
                    "no_such_dir"))
    pop += [(["tables", "nope", "-i", str(files["wrong.csv"])], "nope"),
            (["tables", "quality", "-i", str(files["wrong.csv"]), "--seed", "abc"], "--seed"),
            (["tables", "quality"], "--input")]
    for bad in ("empty.csv", "random.csv", "nul.csv", "missing.csv"):
        path = files.get(bad, tmp / bad)
        pop.append((["merge", str(path)], str(path)))
        pop.append((["report", str(path)], str(path)))
    pop += [(["merge", str(files["empty_dir"])], str(files["empty_dir"])),
            (["merge", str(files["wrong.csv"]), "--out", missing_out], "no_such_dir"),
            (["merge"], "inputs"), (["report"], "inputs")]
    bench = [("--solver", "nope"), ("--method", "nope"), ("--threads", "-1"),
             ("--samples", "0"), ("--elbo-rounds", "abc"), ("--elbo-rounds", "3"),
             ("--atol", "inf"), ("--rtol", "-1"), ("--step-size", "0"), ("--step-size", "nan"),
             ("--time-change", "cube"), ("--ref-time-change", "cube"), ("--device", "cuda:7"),
             ("--device", "tpu"), ("--batch-size", "0"), ("--dim", "0"), ("--model", "nope"),
             ("--candidates", "1"), ("--ref-json", missing_out), ("--elbo-csv", missing_out),
             ("--samples", "abc"), ("--utterances", "0"), ("--skip-utterances", "-1"),
             ("--elbo-prune-z", "nan"), ("--ref-tol", "0"), ("--paper-tol", "inf")]
    pop += [(["bench", flag, value], flag) for flag, value in bench]
    study = ["experiment=sanity_gaussian"]
    for cmd in ("attribute", "elbo"):
        pop += [([cmd, *study, "foo=1"], "foo"), ([cmd, "experiment=nope"], "experiment"),
                ([cmd], "experiment"), ([cmd, *study, "seed=inf"], "seed"),
                ([cmd, *study, "--nope"], "--nope"), ([cmd, *study, "--out", missing_out],
                                                      "no_such_dir"),
                ([cmd, *study, "solver=nope"], "solver"), ([cmd, *study, "model=sdxl_tiny"],
                                                           "model")]
    pop += [(["attribute", *study, "--bins", "0"], "--bins"),
            (["attribute", *study, "--bins", "abc"], "--bins"),
            (["attribute", *study, "--edges", "0.5", "0.1"], "--edges"),
            (["attribute", *study, "--edges", "0.5"], "--edges"),
            (["attribute", *study, "--edges", "0", "inf"], "--edges"),
            (["attribute", *study, "--edges", "-1", "0.5"], "--edges"),
            (["elbo", *study, "--rounds", "abc"], "--rounds"),
            (["elbo", *study, "--rounds", "3,8"], "--rounds"),
            (["elbo", *study, "--prune-z", "nan"], "--prune-z"),
            (["nope"], "command")]
    return pop


def test_random_subcommand_arguments_and_inputs_are_refused_in_one_line(files, tmp_path,
                                                                        capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # any default output would land here
    pop = _sub_population(files, tmp_path)
    cases = random.Random(SEED).sample(pop, N_SUB_RANDOM)
    for argv, names in cases:
        assert_refused(argv, capsys, names)
    assert not list(tmp_path.rglob("*.csv")) and not list(tmp_path.rglob("*.md"))


@pytest.mark.parametrize("argv,names", [
    (["tables", "quality", "-i", "{wrong.csv}"], "'status'"),
    (["tables", "text_agnostic", "-i", "{empty.csv}"], "empty"),
    (["tables", "quality", "-i", "{random.csv}"], "UTF-8"),
    (["merge", "{empty.csv}"], "empty"),
    (["bench", "--solver", "nope"], "dopri5_1e-3"),
    (["bench", "--method", "nope"], "rk4"),
    (["attribute", "experiment=sanity_gaussian", "--edges", "0.5", "0.1"], "increasing"),
    (["elbo", "experiment=nope"], "sanity_gaussian"),
])
def test_issue_subcommand_cases_say_what_is_accepted(argv, names, files, capsys):
    argv = [str(files[a[1:-1]]) if a.startswith("{") else a for a in argv]
    assert_refused(argv, capsys, names)


def test_population_sizes_match_the_guarantees_doc(run_population, files, tmp_path):
    """docs/guarantees.md states the fuzzer's case counts; keep it true."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "guarantees.md").read_text()
    n_sub = len(_sub_population(files, tmp_path))
    total = len(HAND_PICKED) + 10 + 8 + N_RUN_RANDOM + N_SUB_RANDOM
    assert f"{total} cases" in doc, total
    assert f"{N_RUN_RANDOM} drawn from {len(run_population)}" in doc, len(run_population)
    assert f"{N_SUB_RANDOM} drawn from {n_sub}" in doc, n_sub
    assert math.isfinite(total)
