"""dlik's subcommands, one module each (its `main(argv) -> int`; its docstring is the --help
description). COMMANDS maps a name to (module, summary); a module is imported only when its
command runs, so `dlik --help` stays fast. A new command is one file and one line here."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import NamedTuple


class CommandInfo(NamedTuple):
    """Where a subcommand lives and its one-line summary for `dlik --help`."""

    module: str
    summary: str


COMMANDS: dict[str, CommandInfo] = {
    "run": CommandInfo("dlik.commands.run",
                       "run an experiment: dlik run experiment=NAME [overrides] (--help)"),
    "tables": CommandInfo("dlik.commands.tables",
                          "paper tables from results CSVs: dlik tables --help"),
    "merge": CommandInfo("dlik.commands.merge",
                         "join sharded results: dlik merge DIR [--out results.csv]"),
    "report": CommandInfo("dlik.commands.report",
                          "markdown + HTML report with plots from run dirs: dlik report DIR..."),
    "bench": CommandInfo("dlik.commands.bench",
                         "engine benchmark, paper protocol vs fast path: dlik bench --help"),
    "attribute": CommandInfo("dlik.commands.attribute",
                             "time-resolved attribution of a study: dlik attribute --help"),
    "elbo": CommandInfo("dlik.commands.elbo",
                        "ELBO ranker on a study's candidates: dlik elbo --help"),
}


def command_main(name: str) -> Callable[[list[str]], int]:
    """Return the main function of subcommand name (imports its module)."""
    if name not in COMMANDS:
        raise ValueError(f"command must be one of {list(COMMANDS)}, got {name!r}")
    return import_module(COMMANDS[name].module).main
