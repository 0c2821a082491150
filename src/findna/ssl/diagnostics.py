"""Conflict diagnostics of one step (issue 21): how the MNM and CL gradients meet on the shared
student, and how much of the teacher's CL output says something about the sequence.

Sampled by the trainer (``run.diagnostics_every``); each call costs one extra backward per
term. Gradients are those of the terms as they enter the total, before ``loss_scale``: the MNM
part ``alpha * L_MNM`` and the distillation part (everything else: ``(1 - alpha) * w * L_CL`` and
the optional iBOT and KoLeo terms), taken as the total's gradient minus the MNM part's.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

GROUPS = {"": None, "_input": "embed.", "_head": "head."}
"""Parameter groups of the gradient diagnostics: all shared parameters, the input layer
(``embed``) and the per-token head (``head``)."""


def _cosine(a: Tensor, b: Tensor) -> Tensor:
    denom = a.norm() * b.norm()
    return torch.where(denom > 0, (a * b).sum() / denom.clamp_min(1e-30), torch.nan)


def gradient_conflict(
    params: Iterable[tuple[str, nn.Parameter]], mnm_part: Tensor, total: Tensor | None
) -> dict[str, Tensor]:
    """Norms of the MNM and distillation gradients and their cosine, per group of :data:`GROUPS`.

    Args:
        params: the shared (student network) parameters by name.
        mnm_part: the MNM part of the total, with its graph.
        total: the whole total (MNM + distillation), with its graph; None when the objective has
            no distillation term (cm-mnm: only the MNM norms are returned).

    Returns:
        Detached 0-dim float32 tensors: ``grad_mnm{g}``, and with ``total`` also ``grad_cl{g}``
        and ``grad_cos{g}`` (NaN where a gradient is 0), for ``g`` in ``""``, ``"_input"``,
        ``"_head"``. The graphs are kept for the step's own backward.
    """
    named = [(n, p) for n, p in params if p.requires_grad]
    tensors = [p for _, p in named]
    g_mnm = torch.autograd.grad(mnm_part, tensors, retain_graph=True, allow_unused=True)
    g_mnm = [torch.zeros_like(p) if g is None else g for p, g in zip(tensors, g_mnm, strict=True)]
    g_cl: list[Tensor] | None = None
    if total is not None:
        g_tot = torch.autograd.grad(total, tensors, retain_graph=True, allow_unused=True)
        g_cl = [-m if t is None else t - m for m, t in zip(g_mnm, g_tot, strict=True)]
    out: dict[str, Tensor] = {}
    for suffix, prefix in GROUPS.items():
        keep = [i for i, (n, _) in enumerate(named) if prefix is None or n.startswith(prefix)]
        m = torch.cat([g_mnm[i].float().flatten() for i in keep]).detach()
        out[f"grad_mnm{suffix}"] = m.norm()
        if g_cl is not None:
            c = torch.cat([g_cl[i].float().flatten() for i in keep]).detach()
            out[f"grad_cl{suffix}"] = c.norm()
            out[f"grad_cos{suffix}"] = _cosine(m, c)
    return out


@torch.no_grad()
def teacher_spread(q_teacher: Tensor, center: Tensor | None) -> dict[str, Tensor]:
    """How much of the teacher's raw CL outputs depends on the sequence.

    Args:
        q_teacher: (B, K, D) raw teacher outputs of this step.
        center: the (K, D) centre the targets are centred with, or None when the targets are
            centred by this batch (``ssl.centering=batch``: no offset is left).

    Returns:
        ``teacher_spread``: the std over the batch, averaged over (K, D); ``teacher_offset``:
        the mean |batch mean - centre| over (K, D), the part of the target every sequence
        shares. Detached 0-dim float32 tensors.
    """
    q = q_teacher.float()
    mean = q.mean(dim=0)
    spread = q.std(dim=0, unbiased=False).mean()
    offset = torch.zeros_like(spread) if center is None else (mean - center).abs().mean()
    return {"teacher_spread": spread, "teacher_offset": offset}


__all__ = ["GROUPS", "gradient_conflict", "teacher_spread"]
