"""Load the official Grad-TTS code (PyPI grad-tts 0.0.4) by file path, for parity tests.

Its package import is broken (a numpy-1 era Cython extension, params importing the package),
so each needed sub-package is loaded as a fresh synthetic package from its directory.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest


def grad_tts_dir() -> Path:
    """Return the installed grad_tts package dir, or skip the test when it is missing."""
    spec = importlib.util.find_spec("grad_tts")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("official reference `grad-tts==0.0.4` is not installed (pip install .[test])")
    return Path(list(spec.submodule_search_locations)[0])


def load_package(name: str, directory: Path, modules: list[str]) -> types.ModuleType:
    """Return a synthetic package `name` with the given module files of directory loaded."""
    if name in sys.modules:
        return sys.modules[name]
    pkg = types.ModuleType(name)
    pkg.__path__ = [str(directory)]
    sys.modules[name] = pkg
    for mod in modules:
        spec = importlib.util.spec_from_file_location(f"{name}.{mod}", directory / f"{mod}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[f"{name}.{mod}"] = module
        spec.loader.exec_module(module)
        setattr(pkg, mod, module)
    return pkg


def official_text():
    """Return the official text package (symbols, cleaners, cmudict, text_to_sequence)."""
    d = grad_tts_dir() / "text"
    pkg = load_package("_ref_gradtts_text", d, ["numbers", "cleaners", "cmudict", "symbols"])
    spec = importlib.util.spec_from_file_location("_ref_gradtts_text.__init__", d / "__init__.py",
                                                  submodule_search_locations=[str(d)])
    init = importlib.util.module_from_spec(spec)
    init.__package__ = "_ref_gradtts_text"
    spec.loader.exec_module(init)
    pkg.text_to_sequence = init.text_to_sequence
    pkg.dict_path = d / "cmu_dictionary"
    return pkg


def official_model():
    """Return the official grad_tts.model package (GradTTS, TextEncoder, Diffusion) loaded by
    path, with monotonic_align backed by the `monotonic-alignment-search` package (the
    bundled Cython extension predates numpy 2) and params stubbed (all args are passed)."""
    if "_refgt.model.tts" in sys.modules:
        return sys.modules["_refgt.model"]
    root = grad_tts_dir()
    mas = pytest.importorskip("monotonic_alignment_search")
    pytest.importorskip("einops")
    load_package("_refgt", root, [])
    load_package("_refgt.text", root / "text", ["numbers", "cleaners", "cmudict", "symbols"])
    pkg = load_package("_refgt.model", root / "model", ["base", "utils"])
    ma = types.ModuleType("_refgt.model.monotonic_align")
    ma.maximum_path = mas.maximum_path
    sys.modules["_refgt.model.monotonic_align"] = ma
    pkg.monotonic_align = ma
    params = types.ModuleType("_refgt.model.params")
    for k, v in dict(n_spks=1, spk_emb_dim=64, n_enc_channels=192, filter_channels=768,
                     filter_channels_dp=256, n_heads=2, n_enc_layers=6, enc_kernel=3,
                     enc_dropout=0.1, window_size=4, n_feats=80, dec_dim=64, beta_min=0.05,
                     beta_max=20.0, pe_scale=1000).items():
        setattr(params, k, v)
    sys.modules["_refgt.model.params"] = params
    pkg.params = params
    return _load_more(pkg, root / "model", ["text_encoder", "diffusion", "tts"])


def _load_more(pkg, directory: Path, modules: list[str]):
    for mod in modules:
        name = f"{pkg.__name__}.{mod}"
        spec = importlib.util.spec_from_file_location(name, directory / f"{mod}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        setattr(pkg, mod, module)
    return pkg
