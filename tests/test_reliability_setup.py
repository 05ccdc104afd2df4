"""Set-up: CI runs the README's test command verbatim, and that command stands on its own."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    """Return the one-line bash blocks at the top of the README (before the first heading)."""
    top = (ROOT / "README.md").read_text().split("\n## ", 1)[0]
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", top, re.S)]


def test_ci_runs_the_readme_test_command_verbatim():
    test_cmd = readme_commands()[1]
    assert "\n" not in test_cmd and "pytest" in test_cmd
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    steps = [ln for ln in ci if ln.strip() and not ln.startswith("#")
             and not re.match(r"(set |cd |export )", ln)]
    assert steps == [test_cmd]


def test_readme_test_command_installs_the_test_extras_first():
    parts = [p.strip() for p in readme_commands()[1].split("&&")]
    install = next(i for i, p in enumerate(parts) if "pip install" in p)
    assert '-e ".[test]"' in parts[install]
    assert parts[-1] == "python -m pytest -q" and install < len(parts) - 1
    assert parts[0].startswith("python3 -m venv")  # no system-wide pip (PEP 668 machines)
