"""SDXL-format text-to-image models: the tiny trained default and the likelihood adapter."""
