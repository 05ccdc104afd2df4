"""What a study is: a list of jobs, its CSV columns, and a one-paragraph summary."""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from ..models.base import Job


class Study(Protocol):
    """An experiment builder: jobs to score and the columns its rows carry."""

    key_columns: list[str]
    extra_columns: list[str]
    # optional: derived_columns (list[str]) and derive(df) -> df, filled after the run from
    # all rows (blank while rows are being appended)

    def jobs(self) -> list[Job]:
        """Return every job of the study, in a deterministic order."""

    def summarize(self, df: pd.DataFrame) -> str:
        """Return a short human summary of the results table."""
