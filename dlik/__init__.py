"""dlik: exact likelihoods from conditional diffusion models.

From Python: `dlik.load_model(name, **overrides)` and `dlik.score(model, inputs, conditions)`
(dlik/api.py; imported on first use, so `import dlik` stays light)."""

__version__ = "0.1.0"
__all__ = ["load_model", "score"]


def __getattr__(name: str):
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'dlik' has no attribute {name!r}")
