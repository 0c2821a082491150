"""Other ways than the EMA centre to keep the teacher's CL targets from collapsing (issue 21).

``ssl.centering``: ``"ema"`` is the paper's running centre (``findna.ssl.distill``);
``"batch"`` subtracts this batch's mean instead (:func:`batch_centred_probs`); ``"sinkhorn"``
normalises the sharpened teacher outputs with Sinkhorn-Knopp (:func:`sinkhorn_knopp`, DINOv2's
``sinkhorn_knopp_teacher``), so that over the batch every feature gets the same share of the
mass and every sequence's target is a distribution. Both compute in float32 and, when
distributed, over the global batch.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def _all_reduce(x: Tensor, op: dist.ReduceOp.RedOpType = dist.ReduceOp.SUM) -> Tensor:
    if _distributed():
        dist.all_reduce(x, op=op)
    return x


@torch.no_grad()
def batch_centred_probs(q_teacher: Tensor, teacher_temp: float, dim: int = -1) -> Tensor:
    """``softmax((Q - mean_b Q) / tau_t)`` along ``dim``: targets centred by this batch's mean
    (over all ranks when distributed). ``q_teacher``: (B, K, D); returns (B, K, D) float32."""
    q = q_teacher.float()
    total = _all_reduce(q.sum(dim=0))
    count = _all_reduce(torch.tensor(float(q.shape[0]), device=q.device))
    return F.softmax((q - total / count) / teacher_temp, dim=dim)


@torch.no_grad()
def sinkhorn_knopp(q_teacher: Tensor, teacher_temp: float, n_iterations: int = 3) -> Tensor:
    """Sinkhorn-Knopp targets of the teacher outputs, per CLS token, as DINOv2 computes them.

    For each CLS token k the (D features x B sequences) matrix ``exp(Q_k / tau_t)`` is scaled to
    total mass 1, then ``n_iterations`` times its rows (features) are scaled to sum to 1/D and
    its columns (sequences) to 1/B; finally it is multiplied by B, so that each sequence's target
    sums to 1 and, over the batch, each feature's mass approaches B/D. The same scalings run on
    the logarithms (log-sum-exp), so no ``exp`` overflows or underflows to a 0 sum at tau_t =
    0.04. B counts every rank when distributed.

    Args:
        q_teacher: (B, K, D) raw teacher outputs.
        teacher_temp: tau_t.
        n_iterations: row/column scalings (3, as DINOv2).

    Returns:
        (B, K, D) float32 targets; each (b, k) row sums to 1.
    """
    if q_teacher.dim() != 3:
        raise ValueError(
            f"sinkhorn_knopp: expected (B, K, D) outputs, got {tuple(q_teacher.shape)}"
        )
    q = (q_teacher.float() / teacher_temp).permute(1, 2, 0)  # log of exp(Q / tau): (K, D, B)
    n_feat = q.shape[1]
    n_seq = _all_reduce(torch.tensor(float(q.shape[2]), device=q.device))
    q = q - _global_logsumexp(q, (1, 2))  # total mass 1
    for _ in range(n_iterations):
        q = q - _global_logsumexp(q, (2,)) - math.log(n_feat)  # rows (features): 1/D each
        q = q - torch.logsumexp(q, dim=1, keepdim=True) - torch.log(n_seq)  # columns: 1/B each
    return (q + torch.log(n_seq)).exp().permute(2, 0, 1)


def _global_logsumexp(x: Tensor, dims: tuple[int, ...]) -> Tensor:
    """``log(sum(exp(x)))`` over ``dims`` (kept), the batch axis summed over all ranks."""
    peak = _all_reduce(x.amax(dim=dims, keepdim=True), dist.ReduceOp.MAX)
    total = _all_reduce(torch.exp(x - peak).sum(dim=dims, keepdim=True))
    return peak + torch.log(total)


__all__ = ["batch_centred_probs", "sinkhorn_knopp"]
