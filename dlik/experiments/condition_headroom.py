"""Condition headroom: how far the condition can move the likelihood of a fixed input.

Per input five conditions, scored by the exact paired likelihood (same probes and steps:
one input, several conditions): `true` (its own text / prompt / condition), `null`, `best`
and `worst` (gradient ascent / descent on the ELBO surrogate over a declared condition space,
estimators/condition_spaces.py, from the true condition), and `best_word` (greedy word
substitutions from the data's vocabulary: a condition expressible as text). The search runs in
the stage of the input's first searched row, cached by item id, after the resume/shard filter.
Rows carry the surrogate's value on the search's fixed draws, so `dlik tables headroom` can set
the surrogate's gain beside the exact one.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

from ..estimators.condition_search import (SearchSpec, greedy_words, search_condition,
                                           surrogate_of_payloads)
from ..estimators.condition_spaces import SPACES, build_space
from ..models.base import Job
from .base import StudyBase

CONDITIONS = ("true", "null_condition", "best", "worst", "best_word")
CONDITION_KEY = {"image": "prompt", "mel": "text", "vector": "condition"}


class ConditionHeadroomStudy(StudyBase):
    """Jobs: every input under CONDITIONS; search settings from the config."""

    key_columns = ["headroom_condition"]
    extra_columns = ["space", "radius", "condition_text", "surrogate_elbo", "surrogate_gain",
                     "in_space", "search_steps", "search_evals", "search_s"]
    table = "headroom"

    def __init__(self, adapter, data=None, space: str = "condition_vector",
                 radius: float | None = 1.0, steps: int = 20, lr: float = 0.05,
                 draws: int = 8, seed: int = 0, t_start: float = 1e-5, batch_size: int = 8,
                 vocab_size: int = 16, word_passes: int = 1, n_items: int | None = None,
                 n_samples: int = 4, guidance_scale: float = 0.0,
                 worst_radius: float | None = None) -> None:
        self.adapter, self.data, self.space_name = adapter, data, space
        self.radius = None if radius is None else float(radius)
        self.worst_radius = self.radius if worst_radius is None else float(worst_radius)
        if self.worst_radius is None:
            raise ValueError("the worst-condition search needs a bounded space: set radius or "
                             "worst_radius (the likelihood can fall without limit)")
        self.spec = SearchSpec(steps=steps, lr=lr, draws=draws, seed=seed, t_start=t_start,
                               batch_size=batch_size)
        self.key = CONDITION_KEY[adapter.input_kind]
        self.vocab_size, self.word_passes = int(vocab_size), int(word_passes)
        self.n_items, self.n_samples, self.gs = n_items, int(n_samples), float(guidance_scale)
        self._cache: dict[str, dict[str, tuple[dict, dict]]] = {}
        if space not in SPACES:
            raise ValueError(f"space must be one of {sorted(SPACES)}, got {space!r}")

    def _items(self) -> list[tuple[str, dict[str, Any]]]:
        """Return (item id, base payload with the true condition) per input."""
        if self.data is None:
            return [(f"s{i}", {"condition": "own"}) for i in range(self.n_samples)]
        items = self.data.items()[:self.n_items]
        out = []
        for it in items:
            p = dict(it.payload)
            if self.key == "prompt":
                p["guidance_scale"] = self.gs
            out.append((it.item_id, p))
        return out

    def vocabulary(self) -> list[str]:
        """Return the word search's vocabulary: the data's most frequent condition words
        (condition names c0.. on the Gaussian)."""
        if self.data is None:
            return [f"c{i}" for i in range(self.vocab_size)]
        counts = Counter(w for _, p in self._items() for w in _words(str(p[self.key])))
        return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                ][:self.vocab_size]

    def jobs(self) -> list[Job]:
        """Return every (input, condition) job; searched rows carry a stage."""
        jobs = []
        for item_id, base in self._items():
            for c in CONDITIONS:
                cols = {"headroom_condition": c, "space": self.space_name,
                        "radius": self.radius}
                jobs.append(Job(item_id, c, cols, dict(base),
                                stage=lambda i=item_id, b=base, c=c: self._stage(i, b, c)))
        return jobs

    def _stage(self, item_id: str, base: dict, condition: str) -> tuple[dict, dict]:
        if item_id not in self._cache:
            self._cache = {item_id: self._search(item_id, base)}  # one input's search kept
        return self._cache[item_id][condition]

    def _search(self, item_id: str, base: dict) -> dict[str, tuple[dict, dict]]:
        """Return {condition: (payload, columns)} of one input: the searches and surrogates."""
        began = time.perf_counter()
        ad, spec = self.adapter, self.spec
        true_job = Job(item_id, "true", {}, base)
        space = build_space(self.space_name, ad, true_job, self.radius)
        true_text = str(base[self.key])
        out: dict[str, tuple[dict, dict]] = {}
        v_true, v_null = surrogate_of_payloads(ad, true_job, [{}, {"null_condition": True}],
                                               space, item_id, spec)
        common = {"search_steps": 0, "search_evals": 2 * spec.draws}
        out["true"] = ({}, {"condition_text": true_text, "surrogate_elbo": v_true,
                            "surrogate_gain": 0.0, "in_space": True, **common})
        out["null_condition"] = ({"null_condition": True},
                       {"condition_text": "", "surrogate_elbo": v_null,
                        "surrogate_gain": v_null - v_true, "in_space": False, **common})
        bounded = (space if self.worst_radius == self.radius else
                   build_space(self.space_name, ad, true_job, self.worst_radius))
        for name, direction, sp in (("best", "max", space), ("worst", "min", bounded)):
            r = search_condition(ad, sp, item_id, spec, direction)
            out[name] = (sp.payload(r.z), {
                "condition_text": f"{sp.name} ({direction} of the surrogate)",
                "surrogate_elbo": r.value, "surrogate_gain": r.value - v_true,
                "in_space": sp.contains(r.z), "search_steps": spec.steps,
                "search_evals": r.evaluations})
        words, v_word, _, evals = greedy_words(ad, true_job, true_text.split() or [true_text],
                                               self.vocabulary(), self.key, space, item_id,
                                               spec, "max", self.word_passes)
        out["best_word"] = ({self.key: " ".join(words)}, {
            "condition_text": " ".join(words), "surrogate_elbo": v_word,
            "surrogate_gain": v_word - v_true, "in_space": False, "search_steps": 0,
            "search_evals": evals})
        wall = time.perf_counter() - began
        return {c: (p, {**cols, "search_s": wall}) for c, (p, cols) in out.items()}


def _words(text: str) -> list[str]:
    """Return the lower-case words of a text (letters, digits and apostrophes)."""
    return re.findall(r"[a-z0-9']+", text.lower())
