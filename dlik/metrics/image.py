"""Image metrics from local weights only: CLIP score (transformers CLIP folder) and FID
(Inception pool features from a TorchScript file, Frechet distance in float64).

- CLIP score: 100 * max(cos(image embedding, text embedding), 0), torchmetrics' definition,
  with a local `transformers` CLIP folder (e.g. openai/clip-vit-large-patch14 downloaded
  beforehand; loaded with local_files_only=True).
- FID features: the TorchScript Inception-v3 that clean-fid and StyleGAN use
  (`inception-2015-12-05.pt`), called as net(uint8-valued float [N, 3, H, W],
  return_features=True) -> [N, 2048]; it resizes to 299 itself. Loaded with torch.jit.load
  (TorchScript, not a Python pickle). No download ever happens here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def _folder(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{what} {p} does not exist (metrics need local weights; "
                                "nothing is downloaded)")
    return p


class ClipScorer:
    """CLIP score of (PIL image, prompt) pairs with a local transformers CLIP folder."""

    def __init__(self, path: str | Path, device: str = "cpu") -> None:
        from transformers import CLIPModel, CLIPProcessor

        folder = _folder(path, "CLIP model folder")
        self.model = CLIPModel.from_pretrained(folder, local_files_only=True).eval().to(device)
        self.processor = CLIPProcessor.from_pretrained(folder, local_files_only=True)
        self.device = device

    @torch.no_grad()
    def embeddings(self, img, prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the (image, text) CLIP embeddings [D] of one pair, unnormalised, float64."""
        inputs = self.processor(text=[prompt], images=[img], return_tensors="pt",
                                padding=True, truncation=True)
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        out = self.model(**inputs)
        return out.image_embeds[0].double().cpu(), out.text_embeds[0].double().cpu()

    def score(self, img, prompt: str) -> float:
        """Return 100 * max(cos(image, text), 0) for one pair."""
        a, b = self.embeddings(img, prompt)
        cos = float(torch.dot(a, b) / (a.norm() * b.norm()))
        return 100.0 * max(cos, 0.0)


class InceptionFeatures:
    """Pool features of PIL RGB images from a TorchScript Inception (clean-fid's file)."""

    def __init__(self, path: str | Path, device: str = "cpu") -> None:
        p = _folder(path, "Inception TorchScript file")
        self.net = torch.jit.load(str(p), map_location=device).eval()
        self.device = device

    @torch.no_grad()
    def features(self, img) -> np.ndarray:
        """Return the float64 feature vector of one PIL RGB image."""
        arr = np.asarray(img.convert("RGB"), dtype=np.float32).transpose(2, 0, 1)
        x = torch.from_numpy(np.ascontiguousarray(arr))[None].to(self.device)
        out = self.net(x, return_features=True)
        return out[0].double().cpu().numpy().reshape(-1)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Return the Frechet distance between Gaussians fitted to feature rows a [N, D], b [M, D]:
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) (unbiased covariances, float64)."""
    from scipy.linalg import sqrtm

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be [N, D] and [M, D] with the same D, got "
                         f"{a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"FID needs >= 2 images per set, got {len(a)} and {len(b)}")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    sa, sb = np.atleast_2d(sa), np.atleast_2d(sb)
    root = sqrtm(sa @ sb)
    root = root.real if np.iscomplexobj(root) else root
    return float(mu @ mu + np.trace(sa) + np.trace(sb) - 2.0 * np.trace(root))
