"""What each study needs of its model and data (input kind, capabilities, speakers), and what
kind of input each data class gives: registries keyed by `_target_`, read without loading
anything. A study not listed here is checked only for its settings."""

from __future__ import annotations

from typing import NamedTuple


class Needs(NamedTuple):
    """A study's requirements: the model's input kind, its capabilities, several speakers."""

    kind: str
    capabilities: tuple[str, ...] = ()
    speakers: bool = False


_E = "dlik.experiments."
STUDIES: dict[str, Needs] = {
    _E + "sanity_gaussian.SanityGaussian": Needs("vector"),
    _E + "tts_quality.QualityStudy": Needs("mel"),
    _E + "tts_text_agnostic.TextAgnosticStudy": Needs("mel"),
    _E + "tts_speaker.SpeakerStudy": Needs("mel", speakers=True),
    _E + "tts_generative_path.GenerativePathStudy": Needs("mel", ("sample",)),
    _E + "tts_nbest.NBestStudy": Needs("mel"),
    _E + "tts_domain_adaptation.DomainAdaptationStudy": Needs("mel"),
    _E + "tti_generative_path.TTIGenerativePathStudy": Needs("image", ("sample", "image")),
    _E + "tti_prompt_confounds.PromptConfoundsStudy": Needs("image", ("image",)),
    _E + "tti_quality.TTIQualityStudy": Needs("image", ("image",)),
}

DATA_KINDS: dict[str, str] = {
    "dlik.data.tts_corpus.TTSCorpus": "mel",
    "dlik.data.image_sets.ShapesImageSet": "image",
    "dlik.data.image_set_group.ImageSetGroup": "image",
}

KIND_NAMES = {"mel": "speech (mel)", "image": "image", "vector": "vector (analytic)"}

SINGLE_SPEAKER_CHECKPOINTS = ("embedded:ljspeech",)
"""Grad-TTS checkpoints known to hold one speaker (the official ones are read at load time)."""


def study_choices(key: str) -> list[str] | None:
    """Return the accepted names of a study's list setting (None when not known here)."""
    if key == "variants":
        from ..experiments.text_variants import VARIANTS

        return ["own", *[v for v in VARIANTS if v != "own"]]
    return None
