"""Validation layer of the commands: every bad config, argument or input file is refused up
front with one line (the key or file, the value, what is accepted) and exit code 2, before
any model loads. May import dlik.commands.config, dlik.engine (SolverSpec), hydra, omegaconf;
nothing here scores or loads weights."""

from .refusal import LIMIT, Refused, choices, one_line

__all__ = ["LIMIT", "Refused", "choices", "one_line"]
