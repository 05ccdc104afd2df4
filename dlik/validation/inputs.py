"""Input files and output paths of the CSV-reading subcommands (tables, merge, report):
each input a non-empty UTF-8 CSV with a header, each output's folder present."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .refusal import Refused, choices

SNIFF_BYTES = 1 << 16


def check_csv(prog: str, path: Path, needs: tuple[str, ...] = ()) -> list[str]:
    """Return the header of the CSV at path; refuse a missing, empty, binary or headerless
    file, or one lacking the columns `needs`."""
    if not path.exists():
        raise Refused(prog, f"input {path} does not exist")
    if path.is_dir():
        raise Refused(prog, f"input {path} is a folder; pass its results CSV")
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head.strip():
        raise Refused(prog, f"input {path} is empty (no header, no rows): not a results CSV")
    cut = head.rfind(b"\n") if len(head) == SNIFF_BYTES else len(head)
    try:
        text = head[:cut if cut > 0 else len(head)].decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(prog, f"input {path} is not UTF-8 text: not a results CSV") from None
    if "\x00" in text:
        raise Refused(prog, f"input {path} holds binary data: not a results CSV")
    try:
        header = next(csv.reader(io.StringIO(text)))
    except (csv.Error, StopIteration):
        raise Refused(prog, f"input {path} has no CSV header line") from None
    missing = [c for c in needs if c not in header]
    if missing:
        raise Refused(prog, f"input {path} lacks column(s) {missing}: not a dlik results CSV "
                      f"(has {choices(header, 50)})")
    return header


def check_out(prog: str, out: Path | None, flag: str = "--out") -> None:
    """Refuse an output path whose folder does not exist, or that is a folder."""
    if out is None:
        return
    if out.is_dir():
        raise Refused(prog, f"{flag} {out} is a folder; pass a file path")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise Refused(prog, f"{flag} {out}: folder {parent} does not exist (create it first)")


def missing_column(prog: str, exc: KeyError, table: str, header: list[str]) -> Refused:
    """Return the refusal of a table builder's KeyError: the column it needs, what the input
    has."""
    col = exc.args[0] if exc.args else "?"
    return Refused(prog, f"table {table} needs column {col!r}, which the input lacks (has "
                   f"{choices(header, 60)}); pass the CSV of the study that table reads")
