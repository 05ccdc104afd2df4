"""Grad-TTS (checkpoint-compatible with the official code) and its likelihood adapter."""

from .checkpoint import checkpoint_hash, load_gradtts, save_gradtts
from .config import GradTTSConfig
from .model import GradTTS

__all__ = ["GradTTS", "GradTTSConfig", "checkpoint_hash", "load_gradtts", "save_gradtts"]
