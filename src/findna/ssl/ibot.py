"""iBOT-style masked-token distillation (``ssl.ibot_weight``, docs/method.md §2.6).

The teacher sees the student's sequence *before masking* (the one-hot MNM targets plus the K zero
CLS rows, so its positions line up with the student's), and its centred, sharpened token outputs
are soft targets for the student's token outputs at the masked positions. This is iBOT's patch
loss (Zhou et al. 2022) with one view: a per-position cross-entropy over the D features, averaged
over the masked positions of the batch, with a centre of its own (one D-vector shared by all
positions, as iBOT's ``center2``).

Computes in float32 whatever the input dtype, so it is safe under bf16/fp16 autocast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from findna.data.alphabet import NUM_CHANNELS, one_hot
from findna.ssl.distill import batch_mean

if TYPE_CHECKING:
    from findna.ssl.views import ViewBatch


def unmasked_student_view(views: ViewBatch) -> Tensor:
    """(B, L+K, 5) the student's sequence before masking: one-hot ``targets`` + K zero CLS rows.

    For the views whose MNM target is the student view before masking (``paper`` and the
    Table 4 presets) this is u without the mask, row for row. With ``mnm_target=original`` (the
    ``reference`` views) it is the original window, which does not line up where the student
    view was reverse-complemented.
    """
    rows = one_hot(views.targets, dtype=views.student.dtype)
    cls = rows.new_zeros((rows.shape[0], views.n_cls, NUM_CHANNELS))
    return torch.cat([rows, cls], dim=1)


class MaskedTokenDistillationLoss(nn.Module):
    """Centred distillation of the teacher's token outputs into the student at masked positions.

    Args:
        dim: D, the feature dimension of the token outputs (the CL head's, ``cl_dim``).
        student_temp: tau_s (0.1).
        teacher_temp: default tau_t; the trainer passes each step's value in instead.
        center_momentum: beta of the centre EMA, as the CL centre's.
    """

    center: Tensor

    def __init__(
        self,
        dim: int,
        student_temp: float = 0.1,
        teacher_temp: float = 0.04,
        center_momentum: float = 0.996,
    ) -> None:
        super().__init__()
        if dim < 1 or student_temp <= 0 or teacher_temp <= 0:
            raise ValueError(
                f"MaskedTokenDistillationLoss needs dim >= 1 and positive temperatures, got "
                f"dim={dim}, student_temp={student_temp}, teacher_temp={teacher_temp}"
            )
        if not 0.0 <= center_momentum <= 1.0:
            raise ValueError(f"center_momentum={center_momentum} must lie in [0, 1]")
        self.dim = dim
        self.student_temp = student_temp
        self.teacher_temp = teacher_temp
        self.center_momentum = center_momentum
        self.register_buffer("center", torch.zeros(dim))

    def _check(self, x: Tensor, name: str) -> None:
        if x.dim() != 3 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}; expected (B, L, {self.dim}) = (batch, "
                "sequence positions, features), the CLS positions dropped"
            )

    @torch.no_grad()
    def teacher_probs(self, q_tokens: Tensor, teacher_temp: float | None = None) -> Tensor:
        """softmax((Q - c) / tau_t) over D at every position: (B, L, D), no grad."""
        self._check(q_tokens, "teacher token output")
        tau = self.teacher_temp if teacher_temp is None else teacher_temp
        return F.softmax((q_tokens.float() - self.center) / tau, dim=-1)

    def forward(
        self,
        p_tokens: Tensor,
        q_tokens: Tensor,
        mask: Tensor,
        teacher_temp: float | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Loss and teacher entropy at the masked positions (0 for both when none is masked).

        Args:
            p_tokens: (B, L, D) student token outputs (on the masked view).
            q_tokens: (B, L, D) raw teacher token outputs (on the un-masked view).
            mask: (B, L) bool, the positions to distil (the MNM mask).
            teacher_temp: this step's tau_t; None uses the constructor's.

        Returns:
            ``(loss, entropy)``: the mean cross-entropy over masked positions (0-dim float32,
            differentiable) and the detached mean entropy (nats) of the targets there.
        """
        self._check(p_tokens, "student token output")
        if p_tokens.shape != q_tokens.shape or mask.shape != p_tokens.shape[:2]:
            raise ValueError(
                f"student {tuple(p_tokens.shape)}, teacher {tuple(q_tokens.shape)} and mask "
                f"{tuple(mask.shape)} must agree on (B, L)"
            )
        q_hat = self.teacher_probs(q_tokens, teacher_temp)
        log_p = F.log_softmax(p_tokens.float() / self.student_temp, dim=-1)
        ce = -(q_hat * log_p).sum(dim=-1)  # (B, L)
        weights = mask.float()
        count = weights.sum().clamp_min(1.0)
        with torch.no_grad():
            h = -torch.special.xlogy(q_hat, q_hat).sum(dim=-1)
            target_entropy = (h * weights).sum() / count
        return (ce * weights).sum() / count, target_entropy

    @torch.no_grad()
    def update_center(self, q_tokens: Tensor) -> None:
        """c <- beta*c + (1-beta)*mean of Q over all positions and sequences (and ranks)."""
        self._check(q_tokens, "teacher token output")
        mean = batch_mean(q_tokens.float().flatten(0, 1))
        self.center.mul_(self.center_momentum).add_(mean, alpha=1 - self.center_momentum)
