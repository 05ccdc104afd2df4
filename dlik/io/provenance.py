"""Provenance of a run: git commit, dlik version, config hash."""

from __future__ import annotations

import hashlib
import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import __version__


@lru_cache(maxsize=1)
def git_commit() -> str:
    """Return the short git commit of the dlik checkout (with '+dirty'), or 'unknown'."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "dlik"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def config_hash(cfg: dict[str, Any]) -> str:
    """Return a 16-hex sha256 of a JSON-serialisable config."""
    blob = json.dumps(cfg, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def dlik_version() -> str:
    """Return the installed dlik version."""
    return __version__
