"""matplotlib for the tables and the report: pyplot on the Agg backend (no display) and PNGs."""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """Return matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path) -> Path:
    """Write fig as a PNG at path (tight layout, 110 dpi), close it and return path."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path
