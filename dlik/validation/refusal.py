"""The one-line refusal: a SystemExit with exit code 2 whose text is the line to print."""

from __future__ import annotations

import re
from collections.abc import Iterable

LIMIT = 200
"""A refusal line is at most this many characters."""


def one_line(text: str, limit: int = LIMIT) -> str:
    """Return text on one line (whitespace runs collapsed), cut to limit characters."""
    line = re.sub(r"\s+", " ", str(text)).strip()
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def choices(names: Iterable, width: int = 90) -> str:
    """Return 'a, b, c' of names, as many as fit in width characters, then '... (N in all)'."""
    names = [str(n) for n in names]
    head: list[str] = []
    for n in names:
        if len(", ".join([*head, n])) > width and head:
            break
        head.append(n)
    text = ", ".join(head)
    return text if len(head) == len(names) else f"{text}, ... ({len(names)} in all)"


class Refused(SystemExit):
    """A refused command: str() is the one line `<prog>: error: <message>`; exit code 2.
    dlik.cli.main prints it to stderr and returns 2."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(one_line(f"{prog}: error: {message}"))
        self.code = 2

    @property
    def line(self) -> str:
        """Return the line printed for this refusal."""
        return str(self.args[0])
