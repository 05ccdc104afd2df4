"""What a study is: a cheap list of jobs, the columns its rows carry, and its table's name."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

import pandas as pd

from ..derived import derive_columns
from ..models.base import Job


class Study(Protocol):
    """An experiment builder: jobs to score and the columns its rows carry.

    `jobs()` must be cheap (no synthesis, vocoding, ASR or model calls): the runner filters
    it by resume and shard first, and heavy per-job work happens in the adapter's `prepare`
    or in a stage cached by item id. `table` names the `dlik tables` view printed after a run.
    `derived_columns` are filled by `derive(df)` from all rows once the run ends (blank
    while rows are appended), and again by `dlik merge` after joining shards. `out_dir` is
    set by run_study to the results folder before any job runs (for studies that save files,
    such as images, beside the CSV; None outside a run).
    """

    key_columns: list[str]
    extra_columns: list[str]
    derived_columns: list[str]
    table: str
    out_dir: Path | None

    def jobs(self) -> list[Job]:
        """Return every job of the study, in a deterministic order."""

    def derive(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return df with the derived columns filled from all rows."""


class StudyBase:
    """Defaults for studies: derived columns come from the registry in dlik/derived."""

    derived_columns: ClassVar[list[str]] = []
    out_dir: Path | None = None

    def derive(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return df with the study's derived columns recomputed from all rows."""
        return derive_columns(df, self.derived_columns)
