"""Vocoders (mel -> wave) for listening and audio metrics."""

from .hifigan import HiFiGAN, load_hifigan, vocode

__all__ = ["HiFiGAN", "load_hifigan", "vocode"]
