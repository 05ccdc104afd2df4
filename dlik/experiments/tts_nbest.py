"""N-best rescoring (paper Table 2): every ASR hypothesis scored as the text of its audio."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from ..models.base import Job
from .base import StudyBase
from .null_rows import PMI_COLUMNS, with_null_rows

NBEST_INPUT_COLUMNS = ("sample_id", "audio_path", "reference", "hypothesis", "am_score")


def make_nbest_csv(data, path: Path, n_best: int, asr_name: str = "pocketsphinx") -> Path:
    """Write an N-best CSV for the data's utterances with an offline ASR; return its path.

    References and hypotheses are written normalised (metrics.wer.normalize_text), as the
    paper normalised its lists when building them, so the table's default `--normalize none`
    scores them as given."""
    from ..data.audio import load_audio
    from ..metrics.asr import make_asr
    from ..metrics.wer import normalize_text

    asr = make_asr(asr_name)
    rows = []
    for it in data.items():
        wave = load_audio(it.payload["audio_path"])
        for h in asr.nbest(wave, 22050, n_best):
            rows.append({"sample_id": it.item_id, "audio_path": it.payload["audio_path"],
                         "reference": normalize_text(it.payload["text"]),
                         "hypothesis": normalize_text(h.text), "am_score": h.am_score})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # shards may build it at once
    pd.DataFrame(rows, columns=list(NBEST_INPUT_COLUMNS)).to_csv(tmp, index=False)
    os.replace(tmp, path)  # the same deterministic file, whichever writer lands last
    return path


class NBestStudy(StudyBase):
    """Rows: (utterance, hypothesis k); nbest_csv=null makes lists with pocketsphinx."""

    table = "nbest"

    key_columns = ["hyp_index", "reference", "hypothesis", "am_score"]
    extra_columns: list[str] = []

    def __init__(self, data, nbest_csv: str | None = None, n_best: int = 5,
                 asr: str = "pocketsphinx", cache_dir: str | None = None,
                 null_condition: bool = False) -> None:
        self.data, self.nbest_csv, self.n_best, self.asr = data, nbest_csv, n_best, asr
        self.cache_dir = cache_dir
        self.null_condition = bool(null_condition)  # + one null row per utterance (pmi)
        if self.null_condition:
            self.derived_columns = [*type(self).derived_columns, *PMI_COLUMNS]

    def nbest_frame(self) -> pd.DataFrame:
        """Return the N-best list (from the user CSV, or generated once and cached)."""
        if self.nbest_csv:
            path = Path(self.nbest_csv).expanduser()
            if not path.exists():
                raise ValueError(f"study.nbest_csv {path} does not exist")
        else:
            from ..data.speech_corpus import data_dir
            from ..seeding import stable_digest

            items = self.data.items()
            key = stable_digest(self.data.name, *(it.item_id for it in items)).hex()[:12]
            root = Path(self.cache_dir) if self.cache_dir else data_dir() / "nbest"
            path = root / f"{self.asr}_{len(items)}utts_{self.n_best}best_{key}_norm.csv"
            if not path.exists():
                make_nbest_csv(self.data, path, self.n_best, self.asr)
        df = pd.read_csv(path, dtype={"sample_id": str}, keep_default_na=False)
        missing = [c for c in NBEST_INPUT_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"N-best CSV {path} lacks columns {missing}; "
                             f"needs {list(NBEST_INPUT_COLUMNS)}")
        return df

    def jobs(self) -> list[Job]:
        """Return one job per hypothesis."""
        df = self.nbest_frame()
        df["hyp_index"] = df.groupby("sample_id").cumcount()
        jobs = [Job(r.sample_id, f"hyp{r.hyp_index}",
                    {"hyp_index": r.hyp_index, "reference": r.reference,
                     "hypothesis": r.hypothesis, "am_score": float(r.am_score)},
                    {"audio_path": r.audio_path, "text": r.hypothesis})
                for r in df.itertuples(index=False)]
        if self.null_condition:  # not a hypothesis: the nbest table drops it
            jobs = with_null_rows(jobs, {"hyp_index": -1, "hypothesis": "", "am_score": None})
        return jobs
