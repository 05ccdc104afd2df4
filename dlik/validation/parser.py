"""An argparse parser whose errors are refusals: one line naming the argument, the value and
the choices (argparse's own text), exit code 2, without the usage block."""

from __future__ import annotations

import argparse

from .refusal import Refused


class OneLineParser(argparse.ArgumentParser):
    """argparse.ArgumentParser that raises Refused instead of printing usage and exiting."""

    def error(self, message: str):  # type: ignore[override]
        """Raise the refusal of a bad command line (argparse calls this)."""
        raise Refused(self.prog, f"{message} (see {self.prog} --help)")
