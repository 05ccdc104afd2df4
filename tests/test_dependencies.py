"""dlik/engine/solve.py imports two private torchdiffeq paths; pyproject pins torchdiffeq to
a range where they exist, and the installed version lies in it."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import torchdiffeq
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = {"torchdiffeq._impl.odeint": "SOLVERS", "torchdiffeq._impl.solvers": "FixedGridODESolver"}


def _requirement(name: str) -> Requirement:
    text = (ROOT / "pyproject.toml").read_text()
    deps = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    reqs = [Requirement(m) for m in re.findall(r'"([^"]+)"', deps)]
    return next(r for r in reqs if r.name == name)


def test_private_torchdiffeq_paths_exist():
    for module, name in PRIVATE.items():
        assert hasattr(importlib.import_module(module), name), f"{module}.{name}"
    solve = (ROOT / "dlik" / "engine" / "solve.py").read_text()
    used = set(re.findall(r"from (torchdiffeq\._impl[\w.]*) import (\w+)", solve))
    assert used <= set(PRIVATE.items()), used - set(PRIVATE.items())


def test_torchdiffeq_pin_is_closed_and_holds_the_installed_version():
    req = _requirement("torchdiffeq")
    assert any(s.operator in ("<", "<=", "==", "~=") for s in req.specifier), str(req)
    assert req.specifier.contains(torchdiffeq.__version__), (str(req), torchdiffeq.__version__)
    assert not req.specifier.contains("0.3.0")  # a minor release may move _impl
