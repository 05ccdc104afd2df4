"""dlik elbo [options] experiment=NAME [overrides]: a study's candidates through the ELBO
ranker (a sample's jobs scored together, pruned round by round), as elbo.csv beside the
study's results.csv for `dlik tables elbo_agreement`."""

from __future__ import annotations

from pathlib import Path

from ..estimators.elbo import ElboSpec
from ..estimators.rank import elbo_rows
from .beside_results import default_out, provenance, study_from_overrides, write_rows
from ..validation.command_args import check_elbo
from ..validation.parser import OneLineParser
from ..validation.refusal import Refused


def main(argv: list[str]) -> int:
    """CLI: dlik elbo [--rounds 8,8,16] [--prune-z 3] OVERRIDES: ELBO rows of a study."""
    ap = OneLineParser(prog="dlik elbo", description=__doc__)
    ap.add_argument("--rounds", default="8,8,16", help="draws per pruning round (even ints)")
    ap.add_argument("--prune-z", type=float, default=3.0, help="<= 0 never prunes")
    ap.add_argument("--out", type=Path, help="default: beside results.csv, elbo.csv")
    args, overrides = ap.parse_known_args(argv)
    check_elbo(args)  # one-line refusals before the study is built
    cfg, adapter, study, settings = study_from_overrides(overrides, ap.prog)
    try:
        spec = ElboSpec(rounds=tuple(int(r) for r in args.rounds.split(",")),
                        prune_z=args.prune_z if args.prune_z > 0 else None,
                        t_start=settings.solver.t_start, t_end=settings.solver.t_end,
                        seed=settings.seed, batch_size=settings.batch_size)
    except ValueError as exc:
        raise Refused("dlik elbo", str(exc)) from None
    rows = elbo_rows(adapter, study.jobs(), spec)
    prov = {**provenance(cfg, adapter, settings), "estimator": "elbo"}
    write_rows(rows, prov, args.out or default_out(cfg, overrides, "elbo.csv"))
    return 0
