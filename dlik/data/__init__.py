"""Datasets and inputs: the offline speech corpora (espeak-ng), image sets and renders,
audio and image perturbations (registries) and corpus readers (docs/code-map.md)."""
