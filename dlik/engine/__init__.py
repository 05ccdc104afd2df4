"""The likelihood engine: the only code that integrates ODEs."""

from ..densities import gaussian_logp
from .likelihood import LikelihoodResult, log_likelihood
from .probes import ESTIMATORS, probe_seed, row_probe_seed, shared_probe_seed
from .solve import INTEGRATORS, METHODS, TIME_CHANGES, SolverSpec

__all__ = [
    "ESTIMATORS", "INTEGRATORS", "METHODS", "TIME_CHANGES",
    "LikelihoodResult", "SolverSpec", "gaussian_logp",
    "log_likelihood", "probe_seed", "row_probe_seed", "shared_probe_seed",
]
