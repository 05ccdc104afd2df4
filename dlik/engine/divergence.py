"""Drift and its divergence from one network forward plus vector-Jacobian products."""

from __future__ import annotations

from collections.abc import Callable

import torch

Drift = Callable[..., torch.Tensor]


def call_drift(drift: Drift, x: torch.Tensor, t: torch.Tensor, cond: dict | None) -> torch.Tensor:
    """Return drift(x, t, cond): one calling convention, cond may be None (unconditional)."""
    return drift(x, t, cond)


def drift_only(drift: Drift, x: torch.Tensor, t: torch.Tensor, cond: dict | None,
               net_dtype: torch.dtype) -> torch.Tensor:
    """Return drift(x, t[, cond]) as float64 from one forward pass without a graph."""
    with torch.no_grad():
        return call_drift(drift, x.to(net_dtype), t.to(net_dtype), cond).double()


def _vjp(f: torch.Tensor, x: torch.Tensor, vs: torch.Tensor, retain: bool = False) -> torch.Tensor:
    """Return v^T J for each v in vs (leading axis), batched when possible."""
    if vs.shape[0] == 1:
        return torch.autograd.grad(f, x, vs[0], retain_graph=retain)[0].unsqueeze(0)
    try:  # the graph is kept through the batched try, so the fallback can still use it
        return torch.autograd.grad(f, x, vs, retain_graph=True, is_grads_batched=True)[0]
    except RuntimeError:  # an op without a batching rule: fall back to a loop of VJPs
        out = [torch.autograd.grad(f, x, v, retain_graph=True)[0] for v in vs]
        return torch.stack(out)


def _exact_trace(f: torch.Tensor, x: torch.Tensor, mask: torch.Tensor, chunk: int) -> torch.Tensor:
    """Return the masked Jacobian trace per row by VJPs with unit vectors (small dims only)."""
    b = x.shape[0]
    d = x[0].numel()
    diag = torch.zeros(b, d, dtype=torch.float64, device=x.device)
    for start in range(0, d, chunk):
        idx = torch.arange(start, min(start + chunk, d), device=x.device)
        basis = torch.zeros(len(idx), b, d, dtype=x.dtype, device=x.device)
        basis[torch.arange(len(idx)), :, idx] = 1
        rows = _vjp(f, x, basis.view(len(idx), *x.shape), retain=True)  # (n, B, ...)
        diag[:, idx] = rows.reshape(len(idx), b, d)[torch.arange(len(idx)), :, idx].T.double()
    return (diag * mask.reshape(b, d).double()).sum(1)


def drift_and_divergence(
    drift: Drift,
    x: torch.Tensor,
    t: torch.Tensor,
    cond: dict | None,
    mask: torch.Tensor,
    probes: torch.Tensor | None,
    net_dtype: torch.dtype,
    exact_chunk: int = 256,
    per_probe: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (f float64 like x, divergence float64 (B,)) from one forward pass.

    probes: (B, K, ...) Hutchinson probes (already masked or not: the mask is applied
    here), or None for the exact trace. The divergence counts masked dims only. With
    per_probe the divergence is (B, K), one estimate per probe ((B, 1) for the exact trace).
    """
    with torch.enable_grad():
        x_in = x.detach().to(net_dtype).requires_grad_(True)
        f = call_drift(drift, x_in, t.to(net_dtype), cond)
        if f.shape != x_in.shape:
            raise ValueError(f"drift returned shape {tuple(f.shape)}, expected {tuple(x.shape)}")
        if not f.requires_grad:  # drift independent of x: zero divergence
            k = 1 if probes is None else probes.shape[1]
            zero = torch.zeros(x.shape[0], k, dtype=torch.float64, device=x.device)
            return f.detach().double(), zero if per_probe else zero[:, 0]
        maskn = mask.to(net_dtype).expand_as(x_in)
        if probes is None:
            div = _exact_trace(f, x_in, maskn, exact_chunk)
            div = div[:, None] if per_probe else div
        else:
            eps = (probes.to(net_dtype) * maskn.unsqueeze(1)).transpose(0, 1)  # (K, B, ...)
            g = _vjp(f, x_in, eps)
            div = (g * eps).flatten(2).double().sum(2)  # (K, B)
            div = div.T if per_probe else div.mean(0)
    return f.detach().double(), div.detach()


def at_width(fn: Callable[..., tuple], width: int | None, args: tuple,
             cond: dict | None) -> tuple:
    """Return fn(*args, cond) computed on calls of exactly `width` rows: the rows are chunked,
    the last chunk padded by repeating its first row, and the padding dropped from each output.

    Network kernels pick their blocking by batch size, so an fp32 row's value moves in its last
    bits with the number of rows beside it; at a fixed width it does not (a row's position in
    the call does not matter). args are row-batched tensors (or None); fn returns a tuple of
    row-batched tensors. width None calls fn once on the rows as they are.
    """
    n = next(a for a in args if a is not None).shape[0]
    if width is None or n == width:
        return fn(*args, cond)
    parts = []
    for start in range(0, n, width):
        c = min(width, n - start)
        ix = torch.arange(start, start + c, device=args[0].device)
        ix = torch.cat([ix, ix[:1].repeat(width - c)])
        sub = tuple(None if a is None else a[ix] for a in args)
        sub_cond = None if cond is None else {
            k: (v[ix] if torch.is_tensor(v) else v)
            for k, v in cond.items()}
        parts.append(tuple(o[:c] for o in fn(*sub, sub_cond)))
    return tuple(torch.cat(o) for o in zip(*parts))
