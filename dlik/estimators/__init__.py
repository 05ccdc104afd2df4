"""Estimators beside the exact ODE likelihood (the engine's): Monte-Carlo ELBO ranking."""

from .elbo import ElboResult, ElboSpec, candidate_elbo

__all__ = ["ElboResult", "ElboSpec", "candidate_elbo"]
