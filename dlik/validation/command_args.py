"""Arguments of dlik bench, attribute and elbo checked after argparse and before any model or
study is built: counts, finite numbers, names from their registries, output folders."""

from __future__ import annotations

import math

from .inputs import check_out
from .refusal import Refused, choices


def _count(prog: str, flag: str, value: int, low: int) -> None:
    if value < low:
        raise Refused(prog, f"{flag} {value}: must be an integer >= {low}")


def _positive(prog: str, flag: str, value: float | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or value <= 0:
        raise Refused(prog, f"{flag} {value}: must be a finite number > 0")


def rounds(prog: str, flag: str, text: str) -> tuple[int, ...]:
    """Return the draws per round of 'a,b,c' (even ints >= 2); refuse anything else."""
    try:
        out = tuple(int(r) for r in text.split(","))
    except ValueError:
        out = ()
    if not out or any(r < 2 or r % 2 for r in out):
        raise Refused(prog, f"{flag} {text!r}: must be comma-separated even integers >= 2, "
                      "e.g. 8,8,16")
    return out


def check_device(prog: str, name: str) -> None:
    """Refuse a torch device name that is unknown or absent here."""
    from .run_config import _check_device

    _check_device(name, lambda msg: Refused(prog, msg.replace("device=", "--device ")))


def check_bench(args) -> None:
    """Refuse dlik bench arguments that would fail after models load."""
    from ..engine.solve import METHODS, TIME_CHANGES, SolverSpec
    from ..engine.tableaus import TABLEAUS
    from .run_config import group_names

    prog = "dlik bench"
    for flag, value, low in (("--samples", args.samples, 1), ("--utterances", args.utterances, 1),
                             ("--skip-utterances", args.skip_utterances, 0),
                             ("--dim", args.dim, 1), ("--batch-size", args.batch_size, 1),
                             ("--threads", args.threads, 0), ("--candidates", args.candidates, 2)):
        _count(prog, flag, value, low)
    for flag, value in (("--atol", args.atol), ("--rtol", args.rtol), ("--ref-tol", args.ref_tol),
                        ("--paper-tol", args.paper_tol)):
        _positive(prog, flag, value)
    _positive(prog, "--step-size", args.step_size, allow_none=True)
    if not math.isfinite(args.elbo_prune_z):
        raise Refused(prog, f"--elbo-prune-z {args.elbo_prune_z}: must be finite (<= 0 never "
                      "prunes)")
    if args.solver is not None and args.solver not in group_names("solver"):
        raise Refused(prog, f"--solver {args.solver!r}: must be one of "
                      f"{choices(group_names('solver'), 120)}")
    if args.method not in TABLEAUS:
        raise Refused(prog, f"--method {args.method!r}: must be one of {choices(sorted(TABLEAUS))}"
                      f" (batched; the others of {len(METHODS)} need a solver preset)")
    for flag, value in (("--time-change", args.time_change),
                        ("--ref-time-change", args.ref_time_change)):
        if value not in TIME_CHANGES:
            raise Refused(prog, f"{flag} {value!r}: must be one of {choices(TIME_CHANGES)}")
    try:
        SolverSpec(args.method, args.atol, args.rtol, "batched", step_size=args.step_size,
                   time_change=args.time_change)
    except ValueError as exc:
        raise Refused(prog, f"the fast path's solver settings: {exc}") from None
    rounds(prog, "--elbo-rounds", args.elbo_rounds)
    check_device(prog, args.device)
    for flag, path in (("--ref-json", args.ref_json), ("--elbo-csv", args.elbo_csv)):
        check_out(prog, path, flag)


def check_attribute(args) -> list[float] | None:
    """Refuse dlik attribute's bins or edges; return the edges given (None for --bins)."""
    prog = "dlik attribute"
    _count(prog, "--bins", args.bins, 1)
    check_out(prog, args.out)
    if not args.edges:
        return None
    e = list(args.edges)
    if len(e) < 2 or not all(math.isfinite(v) for v in e) or any(
            b <= a for a, b in zip(e[:-1], e[1:])):
        raise Refused(prog, f"--edges {' '.join(f'{v:g}' for v in e)[:60]}: must be >= 2 finite "
                      "times, strictly increasing (e.g. --edges 0 0.1 0.5 1)")
    if e[0] < 0 or e[-1] > 1:
        raise Refused(prog, f"--edges {e[0]:g} .. {e[-1]:g}: times must lie in [0, 1]")
    return e


def check_elbo(args) -> tuple[int, ...]:
    """Refuse dlik elbo's rounds, prune-z or output; return the rounds."""
    prog = "dlik elbo"
    if not math.isfinite(args.prune_z):
        raise Refused(prog, f"--prune-z {args.prune_z}: must be finite (<= 0 never prunes)")
    check_out(prog, args.out)
    return rounds(prog, "--rounds", args.rounds)
