"""The dlik command: dispatches `dlik COMMAND [args]` to dlik/commands/<command>.py."""

from __future__ import annotations

import sys

from .commands import COMMANDS, command_main
from .commands.config import experiments


def main(argv: list[str] | None = None) -> int:
    """Entry point of the dlik command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        lines = [f"  {name:<7} {info.summary}" for name, info in COMMANDS.items()]
        print("usage: dlik COMMAND [args]\n\ncommands:\n" + "\n".join(lines))
        print("\nexperiments: " + ", ".join(experiments()))
        if argv and argv[0] not in ("-h", "--help"):
            print(f"dlik: error: command must be one of {list(COMMANDS)}, got {argv[0]!r}",
                  file=sys.stderr)
            return 2
        return 0
    from .validation import Refused

    try:
        return command_main(argv[0])(argv[1:]) or 0
    except Refused as exc:  # a bad config, argument or input: its one line, exit code 2
        print(exc.line, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
