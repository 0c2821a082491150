"""The centred self-distillation loss on the CLS tokens (DINO/iBOT style; paper eqs. 4-8).

Computes in float32 whatever the input dtype, so it is safe under bf16/fp16 autocast.

Two readings of the softmax axis (docs/method.md §2.6, §7 row 11): ``"features"`` (the reference
code, default): per CLS token a distribution over the D features; ``"tokens"`` (the paper's
literal eqs. 4-5): per feature a distribution over the K CLS tokens.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

from findna.ssl.centering import batch_centred_probs, sinkhorn_knopp

Softmax = Literal["features", "tokens"]
_AXIS = {"features": -1, "tokens": 1}


def soft_cross_entropy(
    student_logits: Tensor, teacher_probs: Tensor, student_temp: float, dim: int = -1
) -> Tensor:
    """Mean over the other axes of ``-sum_i q_i log softmax(p / tau_s)_i`` (``dim`` = i).

    Args:
        student_logits: (B, K, D) raw student CLS outputs p.
        teacher_probs: (B, K, D) target distributions q_hat (sum to 1 along ``dim``, no grad).
        student_temp: tau_s.
        dim: the axis of the distributions (-1: features; 1: CLS tokens).

    Returns:
        0-dim float32 loss.
    """
    log_p = F.log_softmax(student_logits.float() / student_temp, dim=dim)
    return -(teacher_probs * log_p).sum(dim=dim).mean()


@torch.no_grad()
def batch_mean(x: Tensor) -> Tensor:
    """Mean of ``x`` over axis 0, taken over all ranks when distributed (no gradient).

    Sum and count are reduced separately, so unequal per-rank batches still average right.
    """
    total = x.sum(dim=0)
    count = torch.tensor(float(x.shape[0]), device=total.device)
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(total)
        dist.all_reduce(count)
    return total / count.clamp_min(1.0)


def entropy(probs: Tensor, dim: int = -1) -> Tensor:
    """Mean over the other axes of the Shannon entropy (nats) of distributions on ``dim``."""
    return -torch.special.xlogy(probs, probs).sum(dim=dim).mean()


class CenteredDistillationLoss(nn.Module):
    """DINO/iBOT-style self-distillation loss on K CLS tokens with a per-token centre.

    The teacher output Q is centred by the running centre xi (K, D) and sharpened with tau_t;
    the student output P is softened with tau_s; the loss is the cross-entropy between the two
    per CLS token, averaged over batch and tokens (paper eqs. 4-8, docs/method.md §2.6). Token k of
    the student is matched with token k of the teacher. With ``softmax="tokens"`` both softmaxes
    run over the K tokens instead (per feature), and the cross-entropy is averaged over batch and
    features (the paper's eqs. 4-5 and 7-8, as a mean per distribution like the default).

    Args:
        n_cls: K, the number of CLS tokens.
        dim: D, the feature dimension the softmax runs over.
        student_temp: tau_s (0.1).
        teacher_temp: tau_t (0.04), the default of ``teacher_probs`` and ``forward``; a trainer
            with a temperature schedule passes each step's value in instead.
        center_momentum: beta in xi <- beta*xi + (1-beta)*mean_b Q (paper 0.996, code 0.9).
        softmax: ``"features"`` (default) or ``"tokens"``, the axis of both softmaxes.
        centering: ``"ema"`` (default, the centre xi), ``"batch"`` or ``"sinkhorn"``.
    """

    center: Tensor

    def __init__(
        self,
        n_cls: int,
        dim: int,
        student_temp: float = 0.1,
        teacher_temp: float = 0.04,
        center_momentum: float = 0.996,
        softmax: Softmax = "features",
        centering: str = "ema",
    ) -> None:
        super().__init__()
        if n_cls < 1 or dim < 1:
            raise ValueError(
                f"CenteredDistillationLoss needs n_cls >= 1 and dim >= 1, got "
                f"n_cls={n_cls}, dim={dim}"
            )
        if student_temp <= 0 or teacher_temp <= 0:
            raise ValueError(
                f"temperatures must be positive, got student_temp={student_temp}, "
                f"teacher_temp={teacher_temp}"
            )
        if not 0.0 <= center_momentum <= 1.0:
            raise ValueError(f"center_momentum={center_momentum} must lie in [0, 1]")
        if centering not in ("ema", "batch", "sinkhorn"):
            raise ValueError(f"centering={centering!r}: use 'ema', 'batch' or 'sinkhorn'")
        if centering == "sinkhorn" and softmax != "features":
            raise ValueError("centering='sinkhorn' needs softmax='features'")
        if softmax not in _AXIS:
            raise ValueError(f"softmax={softmax!r}: use 'features' or 'tokens'")
        self.n_cls = n_cls
        self.dim = dim
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.softmax = softmax
        self.axis = _AXIS[softmax]
        self.centering = centering
        self.register_buffer("center", torch.zeros(n_cls, dim))

    def _check(self, x: Tensor, name: str) -> None:
        if x.dim() != 3 or tuple(x.shape[1:]) != (self.n_cls, self.dim):
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}; expected (B, {self.n_cls}, {self.dim}) = "
                "(batch, CLS tokens, features). Check SSLConfig.n_cls against the views' CLS rows"
            )

    @torch.no_grad()
    def teacher_probs(self, q_teacher: Tensor, teacher_temp: float | None = None) -> Tensor:
        """Centred sharpened targets softmax((Q - xi) / tau_t): (B, K, D), no grad.

        With ``centering="batch"`` xi is this batch's mean; with ``"sinkhorn"`` the targets are
        Sinkhorn-Knopp normalised (``findna.ssl.centering``) and xi is not used (it is still
        updated, as a diagnostic).

        The softmax runs over D (``"features"``) or over K (``"tokens"``). ``teacher_temp``
        overrides the constructor's tau_t for this call.
        """
        self._check(q_teacher, "teacher output")
        tau = self.teacher_temp if teacher_temp is None else teacher_temp
        if self.centering != "ema":
            if self.centering == "batch":
                return batch_centred_probs(q_teacher, tau, dim=self.axis)
            return sinkhorn_knopp(q_teacher, tau)
        return F.softmax((q_teacher.float() - self.center) / tau, dim=self.axis)

    @torch.no_grad()
    def target_entropy(self, q_hat: Tensor) -> Tensor:
        """Mean entropy (nats) of the target distributions ``teacher_probs`` returned.

        At most log D (``"features"``) or log K (``"tokens"``); near 0 is a sharp collapse.
        """
        return entropy(q_hat, dim=self.axis)

    def cross_entropy(self, p_student: Tensor, q_hat: Tensor) -> Tensor:
        """CL loss between student outputs (B, K, D) and targets ``teacher_probs`` returned.

        For a caller that needs the targets for more than the loss (the entropy diagnostic), so
        the teacher softmax runs once per step. 0-dim float32.
        """
        self._check(p_student, "student output")
        return soft_cross_entropy(p_student, q_hat, self.student_temp, dim=self.axis)

    def forward(
        self, p_student: Tensor, q_teacher: Tensor, teacher_temp: float | None = None
    ) -> Tensor:
        """CL loss between student (B, K, D) and raw teacher (B, K, D) outputs; 0-dim float32.

        Does not update the centre: the caller calls ``update_center`` during training only.
        ``teacher_temp`` overrides the constructor's tau_t for this call.
        """
        return self.cross_entropy(p_student, self.teacher_probs(q_teacher, teacher_temp))

    @torch.no_grad()
    def update_center(self, q_teacher: Tensor) -> None:
        """xi <- beta*xi + (1-beta)*mean_b Q, the batch mean taken over all ranks when distributed.

        Args:
            q_teacher: (B, K, D) raw (un-centred) teacher outputs of this step.
        """
        self._check(q_teacher, "teacher output")
        batch_center = batch_mean(q_teacher.float())
        self.center.mul_(self.center_momentum).add_(batch_center, alpha=1 - self.center_momentum)

    @torch.no_grad()
    def center_norm(self) -> Tensor:
        """Frobenius norm of the centre (K, D); a collapse diagnostic. Detached 0-dim tensor."""
        return self.center.norm()
