"""Convert an N-best CSV in the paper authors' format to dlik's nbest table input.

The authors' files have columns audio_path, reference, wer, a hypothesis column (w2v_hyp,
wspr_hyp or whisper_hypothesis), an ASR score column (w2v_score, wspr_prob or
whisper_sum_logprob) and gtts_ll (Grad-TTS log-likelihood, nats). The output has sample_id
(the wav file's stem), reference, hypothesis, am_score, logp_nats and wer, texts unchanged:

    python scripts/paper_nbest_to_dlik.py gtts_ll_w2v.csv w2v_nbest.csv
    dlik tables nbest -i w2v_nbest.csv          # --normalize none, oracles by wer: Table 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

HYPOTHESIS = ("w2v_hyp", "wspr_hyp", "whisper_hypothesis")
AM_SCORE = ("w2v_score", "wspr_prob", "whisper_sum_logprob")


def _one_of(df: pd.DataFrame, names: tuple[str, ...], what: str) -> str:
    found = [c for c in names if c in df.columns]
    if len(found) != 1:
        raise ValueError(f"need exactly one {what} column of {list(names)}, got {found}")
    return found[0]


def convert(df: pd.DataFrame) -> pd.DataFrame:
    """Return the dlik nbest input frame of an authors'-format frame (texts as given)."""
    missing = [c for c in ("audio_path", "reference", "wer", "gtts_ll") if c not in df.columns]
    if missing:
        raise ValueError(f"input lacks columns {missing}")
    return pd.DataFrame({
        "sample_id": [Path(p).stem for p in df["audio_path"]],
        "reference": df["reference"],
        "hypothesis": df[_one_of(df, HYPOTHESIS, "hypothesis")],
        "am_score": df[_one_of(df, AM_SCORE, "ASR score")],
        "logp_nats": df["gtts_ll"],
        "wer": df["wer"],
    })


def main() -> None:
    """Read the authors' CSV, write dlik's."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    args = ap.parse_args()
    out = convert(pd.read_csv(args.src, keep_default_na=False))
    out.to_csv(args.dst, index=False)
    print(f"{args.dst}: {len(out)} hypotheses, {out['sample_id'].nunique()} utterances")


if __name__ == "__main__":
    main()
