"""CLIP image-text similarity from a local model (no download at run time): the baseline of
the prompt-confound study (paper Table 6 "CLIP": pick the candidate prompt CLIP rates best).

Specs: `/path/to/folder` or `transformers:/path` = a transformers CLIPModel folder (config,
weights, tokenizer and image-processor files, e.g. openai/clip-vit-large-patch14 saved
locally); `open_clip:ARCH:/path/to/weights` = open-clip-torch's model ARCH with local weights
(needs `pip install open-clip-torch`). Scores are cosine similarities in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import torch


class ClipScorer(Protocol):
    """Scores one image against several texts."""

    model_id: str

    def scores(self, image: Any, texts: list[str]) -> list[float]:
        """Return the cosine similarity of the PIL image with each text."""
        ...


def _cosines(img: torch.Tensor, txt: torch.Tensor) -> list[float]:
    img = torch.nn.functional.normalize(img.double(), dim=-1)
    txt = torch.nn.functional.normalize(txt.double(), dim=-1)
    return (txt @ img.reshape(-1)).tolist()


class TransformersClip:
    """A transformers CLIP folder, loaded by metrics.image.ClipScorer (the CLIP-score metric)."""

    def __init__(self, path: str, device: str | torch.device = "cpu") -> None:
        from .image import ClipScorer

        folder = Path(path).expanduser()
        if not (folder / "config.json").exists():
            raise ValueError(f"clip_model {path!r} is not a transformers CLIP folder (no "
                             "config.json); save one with CLIPModel/CLIPProcessor."
                             "save_pretrained, or use open_clip:ARCH:/path/weights")
        self.scorer = ClipScorer(folder, str(device))
        self.model_id = f"transformers:{folder.name}"

    def scores(self, image: Any, texts: list[str]) -> list[float]:
        """Return the cosine similarity of image with each text (the model's embeddings)."""
        pairs = [self.scorer.embeddings(image, t) for t in texts]
        return _cosines(pairs[0][0], torch.stack([b for _, b in pairs]))


class OpenClip:
    """An open-clip-torch model ARCH with weights from a local file."""

    def __init__(self, arch: str, weights: str, device: str | torch.device = "cpu") -> None:
        try:
            import open_clip
        except ImportError:
            raise ValueError("clip_model open_clip:... needs open-clip-torch "
                             "(pip install open-clip-torch), or pass a transformers CLIP "
                             "folder") from None
        if not Path(weights).expanduser().exists():
            raise ValueError(f"open_clip weights {weights!r} do not exist (a local file)")
        self.device = torch.device(device)
        self.model, _, self.preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=str(Path(weights).expanduser()), device=self.device)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        self.model_id = f"open_clip:{arch}:{Path(weights).name}"

    @torch.no_grad()
    def scores(self, image: Any, texts: list[str]) -> list[float]:
        """Return the cosine similarity of image with each text."""
        img = self.model.encode_image(self.preprocess(image)[None].to(self.device))
        txt = self.model.encode_text(self.tokenizer(list(texts)).to(self.device))
        return _cosines(img, txt)


BACKENDS: dict[str, Callable[..., ClipScorer]] = {
    "transformers": lambda rest, device: TransformersClip(rest, device),
    "open_clip": lambda rest, device: OpenClip(*_arch_and_weights(rest), device=device),
}


def _arch_and_weights(rest: str) -> tuple[str, str]:
    arch, sep, weights = rest.partition(":")
    if not sep or not arch or not weights:
        raise ValueError(f"clip_model open_clip spec must be open_clip:ARCH:/path/weights, "
                         f"got open_clip:{rest}")
    return arch, weights


def load_clip(spec: str | None, device: str | torch.device = "cpu") -> ClipScorer | None:
    """Return the scorer of spec (None for no CLIP): a folder path, transformers:PATH or
    open_clip:ARCH:PATH."""
    if spec is None or str(spec).strip().lower() in ("", "none", "null"):
        return None
    spec = str(spec)
    backend, sep, rest = spec.partition(":")
    if not sep or backend not in BACKENDS:  # a bare path (Windows drive letters aside)
        backend, rest = "transformers", spec
    return BACKENDS[backend](rest, device)
