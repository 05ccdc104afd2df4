"""Per-row image measures of the TTI studies: CLIP score and FID features, when local weights
are given; otherwise the row says why they were not computed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_MEASURE_COLUMNS = ["image_file", "clip_score", "inception_file", "metrics_note"]
NOT_COMPUTED = "not_computed"


class ImageMeasures:
    """Lazily loaded CLIP scorer and Inception feature extractor (both optional)."""

    def __init__(self, clip_model: str | None = None, inception: str | None = None,
                 device: str = "cpu") -> None:
        self.clip_model, self.inception, self.device = clip_model, inception, device
        self._clip = self._inc = None

    def note(self) -> str:
        """Return the metrics_note of every row: which metrics are not computed, and why."""
        parts = []
        if self.clip_model is None:
            parts.append(f"clip_score: {NOT_COMPUTED} (no study.measures.clip_model, a local "
                         "transformers CLIP folder)")
        if self.inception is None:
            parts.append(f"fid: {NOT_COMPUTED} (no study.measures.inception, a local "
                         "TorchScript Inception file such as clean-fid's inception-2015-12-05.pt)")
        return "; ".join(parts) or "ok"

    def measure(self, img, prompt: str | None, features_path: Path | None) -> dict:
        """Return clip_score, inception_file (features saved as .npy at features_path) and
        metrics_note for one image under its prompt."""
        from ..metrics.image import ClipScorer, InceptionFeatures

        cols: dict = {"clip_score": None, "inception_file": None, "metrics_note": self.note()}
        if self.clip_model is not None and prompt is not None:
            if self._clip is None:
                self._clip = ClipScorer(self.clip_model, self.device)
            cols["clip_score"] = self._clip.score(img, prompt)
        if self.inception is not None:
            if features_path is None:
                raise ValueError("FID features need the run's output dir (run the study "
                                 "through dlik run / run_study)")
            if self._inc is None:
                self._inc = InceptionFeatures(self.inception, self.device)
            features_path.parent.mkdir(parents=True, exist_ok=True)
            np.save(features_path, self._inc.features(img))
            cols["inception_file"] = str(features_path.resolve())
        return cols
