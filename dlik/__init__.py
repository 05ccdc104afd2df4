"""dlik: exact likelihoods from conditional diffusion models."""

__version__ = "0.1.0"
