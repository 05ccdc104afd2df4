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
