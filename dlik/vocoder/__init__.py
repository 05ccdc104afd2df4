"""Vocoders (log-mel -> wave) for listening and audio metrics."""

from .hifigan import HiFiGAN, load_hifigan, vocode, weights_dir

__all__ = ["HiFiGAN", "load_hifigan", "vocode", "weights_dir"]
