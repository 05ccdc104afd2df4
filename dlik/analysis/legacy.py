"""Old column names of results CSVs, upgraded once when a CSV is read for tables and reports.

Text-to-image CSVs written before the guidance convention was diffusers' carry `cfg` = w, the
guidance weight in eps_c + w (eps_c - eps_u), i.e. diffusers' guidance_scale s = 1 + w, and
`pixel_bpd`, the latent log-density over 3 H W pixel dims. They are read as `guidance_scale`
(w = 0 -> s = 0, no guidance either way; w > 0 -> s = 1 + w) and `latent_bits_per_pixel_dim`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def _w_to_guidance_scale(w: pd.Series) -> pd.Series:
    """Return diffusers' guidance_scale of old guidance weights w (0 stays 0: no guidance)."""
    v = pd.to_numeric(w, errors="coerce")
    bad = sorted(set(v[(v < 0) | (v.isna() & w.notna())].astype(str)))
    if bad:
        raise ValueError(f"old column cfg (guidance weight w) has values {bad} with no "
                         "guidance_scale (w = 0 or w > 0 are accepted: s = 0 or 1 + w)")
    return pd.Series(np.where(v > 0, v + 1.0, v), index=w.index)


RENAMES: dict[str, tuple[str, Callable[[pd.Series], pd.Series] | None]] = {
    "cfg": ("guidance_scale", _w_to_guidance_scale),
    "pixel_bpd": ("latent_bits_per_pixel_dim", None),
}
"""old column -> (new column, value conversion or None)."""


def upgrade_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Return df with old columns renamed (and converted) to their current names."""
    old = [c for c in RENAMES if c in df.columns and RENAMES[c][0] not in df.columns]
    if not old:
        return df
    out = df.copy()
    for c in old:
        new, convert = RENAMES[c]
        out[c] = out[c] if convert is None else convert(out[c])
    return out.rename(columns={c: RENAMES[c][0] for c in old})
