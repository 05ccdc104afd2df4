"""Offline speech synthesis with the libespeak-ng carried by the espeakng-loader wheel."""

from __future__ import annotations

import ctypes
import threading

import numpy as np

SAMPLE_RATE = 22050
_RATE, _PITCH = 1, 3  # espeak_PARAMETER ids
_lock = threading.Lock()
_state: dict = {}


def _lib():
    """Return the initialised espeak-ng library (loaded once per process)."""
    if "lib" in _state:
        return _state["lib"]
    try:
        import espeakng_loader

        lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
    except (ImportError, OSError) as exc:
        raise RuntimeError(f"espeak-ng could not be loaded ({exc}); "
                           "pip install espeakng-loader") from exc
    sr = lib.espeak_Initialize(2, 0, data, 0)  # AUDIO_OUTPUT_SYNCHRONOUS
    if sr != SAMPLE_RATE:
        raise RuntimeError(f"espeak-ng initialised at {sr} Hz, expected {SAMPLE_RATE}")
    chunks: list[np.ndarray] = []
    cb_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                               ctypes.c_void_p)

    def callback(wav, n, _events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    cb = cb_type(callback)
    lib.espeak_SetSynthCallback(cb)
    _state.update(lib=lib, cb=cb, chunks=chunks)
    return lib


def espeak_version() -> str:
    """Return the espeak-ng library version string."""
    lib = _lib()
    lib.espeak_Info.restype = ctypes.c_char_p
    return lib.espeak_Info(None).decode()


def synthesize(text: str, voice: str = "en-us", rate: int = 160,
               pitch: int = 50) -> tuple[np.ndarray, int]:
    """Return (float32 mono wave in [-1, 1], 22050) of text spoken by an espeak-ng voice."""
    with _lock:
        lib = _lib()
        if lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r} (e.g. 'en-us', 'en-us+m3')")
        lib.espeak_SetParameter(_RATE, int(rate), 0)
        lib.espeak_SetParameter(_PITCH, int(pitch), 0)
        chunks = _state["chunks"]
        chunks.clear()
        data = text.encode()
        lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0, None, None)
        lib.espeak_Synchronize()
        wave = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        chunks.clear()
    return (wave.astype(np.float32) / 32768.0), SAMPLE_RATE
