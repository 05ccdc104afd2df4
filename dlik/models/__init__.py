"""Adapters from a model to the engine (`base.Adapter`): the Gaussian, Grad-TTS, SD 1.x/2.x,
SDXL and SD3 families, their noise schedules and guidance, and the embedded tiny models
(docs/code-map.md)."""
