"""Batched explicit Runge-Kutta with per-row step control and compaction of finished rows.

Each row keeps its own time, step size and accept/reject decision, so its result is the
one it would get alone in a batch; rows that reach the end leave the batch, and the
vector field is only evaluated on unfinished rows. State is float64. An adaptive run can
record each row's accepted steps (its grid), and a later run can replay given grids with
the same tableau and no error control: conditions of one sample then share one step
sequence, so the solver's error is common to them and cancels in their differences.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .tableaus import Tableau

# func(t (b,), y (b, ...), idx (b,) original rows, need_dl, key) -> (dy, dl | None). dl/dt must
# not depend on l (a log-density accumulator), so dl is asked for only at stages whose weights
# use it; func may return dl None when need_dl is False. key = (step (b,), stage): each row's
# count of accepted steps and the stage's index in the tableau (stage -1: the first step's
# size probe), so a stochastic dl (a Hutchinson probe drawn per stage) can be keyed by it.
RowFunc = Callable[..., tuple]

SAFETY, IFACTOR, DFACTOR = 0.9, 10.0, 0.2


@dataclass
class IntegrationResult:
    """End states per original row, NFE per row, a status string per row, and (when asked
    for) each row's accepted signed steps in order, float64 (its grid: t0 + cumsum)."""

    y: torch.Tensor
    l: torch.Tensor | None
    nfe: torch.Tensor
    status: list[str]
    grids: list[torch.Tensor] | None = None
    replay_err: torch.Tensor | None = None
    """Per row, the largest embedded error ratio over a replayed grid's steps (1 = exactly
    at tolerance); NaN for rows not replayed or a tableau without an error estimate."""


def _bcast(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return v.view(-1, *([1] * (like.dim() - 1)))


def _ratio(err, y0, y1, mask, atol, rtol, le=None, l0=None, l1=None) -> torch.Tensor:
    """Per-row mixed RMS error ratio over masked data dims and the log-density state."""
    scale = atol + rtol * torch.maximum(y0.abs(), y1.abs())
    sq = ((err / scale) ** 2).flatten(1)
    m = mask.flatten(1)
    r = torch.sqrt((sq * m).sum(1) / m.sum(1).clamp_min(1))
    if le is not None:  # l is (B,) or (B, K): one log-density per probe, each controlled
        rl = le.abs() / (atol + rtol * torch.maximum(l0.abs(), l1.abs()))
        r = torch.maximum(r, rl.reshape(rl.shape[0], -1).amax(1))
    return r


def _grid_table(grids, n: int, dev) -> tuple[torch.Tensor, torch.Tensor]:
    """Return step sequences padded into (n, L) float64 and each row's step count (n,)."""
    if len(grids) != n:
        raise ValueError(f"grids must have one step sequence per row: got {len(grids)} for {n}")
    lens = [int(g.numel()) for g in grids]
    if min(lens) < 1:
        raise ValueError("a replayed step sequence needs at least one step")
    table = torch.full((n, max(lens) + 1), float("nan"), dtype=torch.float64, device=dev)
    for i, g in enumerate(grids):
        table[i, :lens[i]] = g.to(dev, torch.float64)
    return table, torch.tensor(lens, device=dev)


def _split_history(rows: list[torch.Tensor], steps: list[torch.Tensor],
                   n: int) -> list[torch.Tensor]:
    """Return each row's accepted signed steps in order from the per-step records."""
    r, h = torch.cat(rows).cpu(), torch.cat(steps).cpu()
    return [h[r == i] for i in range(n)]


class BatchedRK:
    """Integrates dy/dt = f(t, y) (plus dl/dt) from t0 to t1 for every row independently."""

    def __init__(self, tableau: Tableau, atol: float = 1e-5, rtol: float = 1e-5,
                 step_size: float | None = None, max_steps: int = 10_000,
                 control_l: bool = True) -> None:
        if not tableau.adaptive and step_size is None:
            raise ValueError(f"method {tableau.name!r} is fixed-step: set solver.step_size")
        self.tab, self.atol, self.rtol = tableau, atol, rtol
        self.step_size, self.max_steps = step_size, max_steps
        # control_l False: the error norm sees y alone, so the steps never depend on a
        # stochastic dl (probes refreshed per stage would otherwise select their own steps).
        self.control_l = control_l
        # A step_size fixes the steps of any tableau (an embedded pair's estimate goes unused).
        self.adaptive = tableau.adaptive and step_size is None
        # Per stage: is dl/dt used (by the solution, the error estimate, or as the next k1)?
        err = tableau.b_err if self.adaptive else (0.0,) * len(tableau.b)
        last = len(tableau.b) - 1
        self.needs_dl = tuple(b != 0.0 or e != 0.0 or (tableau.fsal and i == last)
                              for i, (b, e) in enumerate(zip(tableau.b, err)))

    def _stages(self, func, t, y, with_l, h, idx, k1, acc):
        """Return the stage derivatives (ky list, kl list) of one step for active rows."""
        ky, kl = [k1[0]], [k1[1]]
        for i, (c, arow, need) in enumerate(zip(self.tab.c[1:], self.tab.a[1:],
                                                self.needs_dl[1:]), start=1):
            hb = _bcast(h, y)
            yi = y + hb * sum(a * k for a, k in zip(arow, ky) if a != 0.0)
            dy, dl = func(t + c * h, yi, idx, with_l and need, (acc, i))
            ky.append(dy)
            kl.append(dl)
        return ky, kl

    def _initial_step(self, func, t0, y0, l0, f0, mask, direction, span, idx):
        """Return a per-row first step (Hairer's rule, as torchdiffeq), at most span."""
        order = self.tab.order
        zeros = torch.zeros_like(y0)
        if not self.control_l:
            l0 = None
        d0 = _ratio(y0, zeros, y0, mask, self.atol, self.rtol,
                    None if l0 is None else l0, l0, l0)
        d1 = _ratio(f0[0], zeros, y0, mask, self.atol, self.rtol,
                    None if l0 is None else f0[1], l0, l0)
        h0 = torch.where((d0 < 1e-5) | (d1 < 1e-5), torch.full_like(d0, 1e-6), 0.01 * d0 / d1)
        h0 = h0.clamp(max=span)  # the probe point must stay inside the interval
        y1 = y0 + _bcast(h0 * direction, y0) * f0[0]
        f1 = func(t0 + h0 * direction, y1, idx, l0 is not None,
                  (torch.zeros_like(idx), -1))
        dfy = (f1[0] - f0[0])
        dfl = None if l0 is None else f1[1] - f0[1]
        d2 = _ratio(dfy, zeros, y0, mask, self.atol, self.rtol, dfl, l0, l0) / h0
        small = (d1 <= 1e-15) & (d2 <= 1e-15)
        # h1 = (0.01 / max(d1, d2))^(1/p), p the method's order: Hairer's HINIT (IORD = 5 for
        # DOPRI5) and torchdiffeq (which passes order - 1 and raises to 1/(order + 1)).
        h1 = torch.where(small, torch.clamp(h0 * 1e-3, min=1e-6),
                         (0.01 / torch.maximum(d1, d2)) ** (1.0 / order))
        h1 = torch.where(torch.isfinite(h1), h1, h0)
        return torch.minimum(100 * h0, h1).clamp(max=span)  # NaN where f0 was not finite

    def integrate(self, func: RowFunc, t0: float, t1: float, y0: torch.Tensor,
                  l0: torch.Tensor | None, mask: torch.Tensor,
                  grids: list[torch.Tensor] | None = None,
                  record: bool = False) -> IntegrationResult:
        """Return end states of every row after integrating from t0 to t1.

        grids: replay these accepted signed steps per row (recorded over the same interval)
        with no error control, t advancing by each step exactly as when recorded, so a
        replay of a row's own steps repeats its arithmetic; record: return each row's steps.
        """
        n = y0.shape[0]
        dev = y0.device
        direction = 1.0 if t1 >= t0 else -1.0
        span = abs(t1 - t0)
        out_y, out_l = y0.clone(), None if l0 is None else l0.clone()
        nfe = torch.zeros(n, dtype=torch.long, device=dev)
        status = ["ok"] * n
        idx = torch.arange(n, device=dev)
        y, l = y0.clone(), None if l0 is None else l0.clone()
        m = mask.expand_as(y0).to(y0.dtype)
        t = torch.full((n,), float(t0), dtype=torch.float64, device=dev)
        steps = torch.zeros(n, dtype=torch.long, device=dev)
        if span == 0:
            return IntegrationResult(out_y, out_l, nfe, status)
        adaptive = self.adaptive and grids is None
        # a replay forms the embedded error estimate too (its stages exist): a condition whose
        # field is sharper than the pilot's shows it in replay_err instead of passing silently
        check = grids is not None and self.tab.adaptive
        replay_err = torch.full((n,), float("nan"), dtype=torch.float64, device=dev)
        if check:
            replay_err.zero_()
        if grids is not None:
            table, n_steps = _grid_table(grids, n, dev)
        hist_rows: list[torch.Tensor] = []
        hist_h: list[torch.Tensor] = []
        with_l = l0 is not None
        acc = torch.zeros(n, dtype=torch.long, device=dev)  # accepted steps per row
        k1 = func(t, y, idx, with_l, (acc, 0))
        nfe += 1
        if grids is not None:
            h = table[:, 0].abs()
        elif adaptive:
            h = self._initial_step(func, t, y, l, k1, m, direction, span, idx)
            nfe += 1
        else:
            h = torch.full((n,), min(self.step_size, span), dtype=torch.float64, device=dev)
        # a row whose derivative at the start is not finite cannot take any step: stop it now
        start_bad = ~torch.isfinite(k1[0].flatten(1)).all(1) | ~torch.isfinite(h)
        if with_l and k1[1] is not None:
            start_bad |= ~torch.isfinite(k1[1].reshape(n, -1)).all(1)
        if bool(start_bad.any()):
            for r in torch.nonzero(start_bad).flatten().tolist():
                status[r] = "nonfinite"
            out_y[start_bad] = float("nan")
            if out_l is not None:
                out_l[start_bad] = float("nan")
            keep = ~start_bad
            idx, y, t, h, steps, acc, m = (v[keep] for v in (idx, y, t, h, steps, acc, m))
            l = None if l is None else l[keep]
            k1 = (k1[0][keep], None if k1[1] is None else k1[1][keep])
        ctrl_l = with_l and self.control_l
        while idx.numel():
            if grids is not None:
                hs = table[idx, steps]
                h = hs.abs()
            else:
                remaining = (t1 - t) * direction
                h = torch.minimum(h, remaining)
                hs = h * direction
            ky, kl = self._stages(func, t, y, with_l, hs, idx, k1, acc)
            nfe[idx] += len(self.tab.c) - 1
            hb = _bcast(hs, y)
            y_new = y + hb * sum(b * k for b, k in zip(self.tab.b, ky) if b != 0.0)
            l_new = None if l is None else l + _bcast(hs, l) * sum(
                b * k for b, k in zip(self.tab.b, kl) if b != 0.0)
            finite = torch.isfinite(y_new.flatten(1)).all(1)
            if l_new is not None:
                finite &= torch.isfinite(l_new.reshape(len(l_new), -1)).all(1)
            if adaptive or check:
                ey = hb * sum(e * k for e, k in zip(self.tab.b_err, ky) if e != 0.0)
                el = None if not ctrl_l else _bcast(hs, l) * sum(
                    e * k for e, k in zip(self.tab.b_err, kl) if e != 0.0)
                ratio = _ratio(ey, y, y_new, m, self.atol, self.rtol, el, l, l_new)
            if adaptive:
                accept = (ratio <= 1.0) & finite
                factor = torch.where(
                    ratio == 0, torch.full_like(ratio, IFACTOR),
                    torch.clamp(SAFETY / ratio ** (1.0 / self.tab.order),
                                min=DFACTOR, max=IFACTOR))
                factor = torch.where(accept, torch.clamp(factor, min=1.0), factor)
                h_next = torch.where(finite, h * factor, h * DFACTOR)
            else:
                accept = finite
                h_next = h
                if check:
                    replay_err[idx] = torch.maximum(replay_err[idx], ratio.nan_to_num(math.inf))
            steps += 1
            acc = acc + accept.long()
            acc_b = _bcast(accept, y)
            y = torch.where(acc_b, y_new, y)
            if l is not None:
                l = torch.where(_bcast(accept, l), l_new, l)
            t = torch.where(accept, t + hs, t)
            if record:
                hist_rows.append(idx[accept])
                hist_h.append(hs[accept])
            if self.tab.fsal:
                k1 = (torch.where(acc_b, ky[-1], k1[0]),
                      None if l is None else torch.where(_bcast(accept, l), kl[-1], k1[1]))
            if grids is not None:
                done = accept & (steps == n_steps[idx])
            else:
                done = accept & (torch.abs(t - t1) <= 1e-12 * max(1.0, abs(t1)))
            # fixed steps cannot shrink: a non-finite step is final at once; an adaptive step
            # size that is NaN or vanishing can never finish either
            stuck = ((h_next < 1e-14) | ~torch.isfinite(h_next)) if adaptive else \
                torch.ones_like(finite)
            bad = ~torch.isfinite(y.flatten(1)).all(1) | (~finite & stuck)
            over = steps >= self.max_steps
            leave = done | bad | over
            if bool(leave.any()):
                for j in torch.nonzero(leave).flatten().tolist():
                    r = int(idx[j])
                    if not bool(done[j]):
                        status[r] = "nonfinite" if bool(bad[j]) else "max_steps"
                out_y[idx[leave]] = y[leave]
                if l is not None:
                    out_l[idx[leave]] = l[leave]
                keep = ~leave
                idx, y, t, h_next, steps = idx[keep], y[keep], t[keep], h_next[keep], steps[keep]
                m, acc = m[keep], acc[keep]
                l = None if l is None else l[keep]
                if self.tab.fsal:
                    k1 = (k1[0][keep], None if k1[1] is None else k1[1][keep])
            h = h_next
            if not self.tab.fsal and idx.numel():
                k1 = func(t, y, idx, with_l, (acc, 0))
                nfe[idx] += 1
        grid_out = _split_history(hist_rows, hist_h, n) if record else None
        return IntegrationResult(out_y, out_l, nfe, status, grid_out, replay_err)
