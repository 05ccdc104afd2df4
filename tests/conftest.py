"""Shared fixtures: one CPU thread, the analytic Gaussian batch helper, and tiny local
CLIP / Inception stand-ins for the TTI measures."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.expanduser("~/.cache/dlik/numba"))
# one thread here and in every dlik subprocess a test starts: pytest-xdist already runs a
# worker per core, and two-thread subprocesses beside them oversubscribe the cores
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
torch.set_num_threads(1)


# the longest tests first, so pytest-xdist does not leave one of them for the end of the run
LONGEST_FIRST = ("tests/test_golden_values.py", "tests/test_tti_protocol.py::test_paper_tti",
                 "tests/test_studies.py", "tests/test_embedded_model.py",
                 "tests/test_runner_cli.py::test_resume_after_kill")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda it: not it.nodeid.startswith(LONGEST_FIRST))


@pytest.fixture
def gaussian_batch():
    """Return a function making (adapter, x0, prior_mean, prior_std, cond, exact_logp)."""
    from dlik.models.base import Job
    from dlik.models.gaussian import GaussianAdapter

    def make(n: int = 4, dim: int = 8, prior: str = "terminal", names=None):
        ad = GaussianAdapter(dim=dim, prior=prior)
        names = names or [f"s{i}" for i in range(n)]
        preps = [ad.prepare(Job(name, "c")) for name in names]
        x0 = torch.stack([p.x0 for p in preps])
        cond = {k: torch.stack([p.cond[k] for p in preps]) for k in preps[0].cond}
        pm = torch.stack([p.prior_mean for p in preps])
        ps = torch.stack([p.prior_std for p in preps])
        exact = torch.tensor([p.columns["exact_logp_nats"] for p in preps], dtype=torch.float64)
        return ad, x0, pm, ps, cond, exact

    return make


class MeanRGB(torch.nn.Module):
    """Stand-in for the TorchScript Inception: features = mean of each channel."""

    def forward(self, x: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        return x.float().mean(dim=(2, 3))


@pytest.fixture(scope="session")
def metric_weights(tmp_path_factory):
    """Return (tiny random CLIP folder, TorchScript mean-RGB Inception stand-in) paths."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from dlik.models.sdxl.tiny import build_tokenizer

    d = tmp_path_factory.mktemp("metric_weights")
    torch.jit.script(MeanRGB()).save(str(d / "inception.pt"))
    tok = build_tokenizer()
    torch.manual_seed(0)
    small = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2)
    cfg = CLIPConfig(
        text_config=dict(vocab_size=len(tok), max_position_embeddings=77,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id, **small),
        vision_config=dict(image_size=32, patch_size=8, **small), projection_dim=8)
    CLIPModel(cfg).save_pretrained(d / "clip")
    size = {"shortest_edge": 32}, {"height": 32, "width": 32}
    CLIPProcessor(image_processor=CLIPImageProcessor(size=size[0], crop_size=size[1]),
                  tokenizer=tok).save_pretrained(d / "clip")
    return str(d / "clip"), str(d / "inception.pt")
