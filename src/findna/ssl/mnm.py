"""Masked nucleotide modelling (MNM) losses: the paper's cross-entropy and the reference's BCE.

Both compute in float32 whatever the input dtype, so they are safe under bf16/fp16 autocast.
Masked positions are selected by weighting, not boolean indexing, so shapes stay static and
nothing forces a host-device synchronisation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _masked_mean(values: Tensor, weights: Tensor) -> Tensor:
    """Sum of ``values * weights`` divided by ``sum(weights)``; 0 (with a graph) when that is 0."""
    return (values * weights).sum() / weights.sum().clamp_min(1.0)


def masked_accuracy(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Fraction of masked positions whose arg-max class is the target (0 when nothing is masked).

    Args:
        logits: (B, L, C) class scores.
        targets: (B, L) int64 class indices.
        mask: (B, L) bool, True where the position counts.

    Returns:
        A detached 0-dim float32 tensor.
    """
    with torch.no_grad():
        hit = (logits.argmax(dim=-1) == targets).float()
        return _masked_mean(hit, mask.float())


def mnm_loss(logits: Tensor, targets: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Masked nucleotide modelling loss as in the paper: softmax cross-entropy at masked positions.

    Unmasked positions contribute nothing (their targets are never read, so they may hold any
    value, e.g. PAD). With an empty mask the loss is an exact 0 that still has a graph.

    Args:
        logits: (B, L, C) per-token class scores of the student (C = 5 for A, C, G, T, N).
        targets: (B, L) int64 true classes in [0, C) at masked positions.
        mask: (B, L) bool, True at the positions that were masked.

    Returns:
        ``(loss, accuracy)``: the mean cross-entropy over masked positions (0-dim, differentiable)
        and the detached arg-max accuracy over the same positions.
    """
    if logits.shape[:-1] != targets.shape or targets.shape != mask.shape:
        raise ValueError(
            f"mnm_loss: logits {tuple(logits.shape)}, targets {tuple(targets.shape)} and mask "
            f"{tuple(mask.shape)} must agree on (B, L); slice the logits to the sequence tokens "
            "(drop the CLS positions) first"
        )
    safe_targets = torch.where(mask, targets, torch.zeros_like(targets))
    ce = F.cross_entropy(
        logits.float().flatten(0, -2), safe_targets.flatten(), reduction="none"
    ).view_as(targets)
    weights = mask.float()
    return _masked_mean(ce, weights), masked_accuracy(logits, safe_targets, mask)


def reference_bce_mnm_loss(
    logits: Tensor, targets: Tensor, mask: Tensor, student_temp: float = 0.1
) -> tuple[Tensor, Tensor]:
    """The released reference code's MNM loss, reproduced for the ``reference`` preset only.

    BCE-with-logits between ``logits / student_temp`` and the one-hot targets, averaged over the
    (position, channel) entries that the reference selects by tiling the (B, L) mask to
    (C, B, L) and *reshaping* (not permuting) it to (B, L, C). That scrambles the selection: an
    entry is chosen independently of whether its position was masked (docs/method.md §2.5 and
    §7 row 4).

    Args:
        logits: (B, L, C) per-token student scores.
        targets: (B, L) int64 classes in [0, C) at every position (the reference reconstructs
            entries of unmasked positions too).
        mask: (B, L) bool masked positions.
        student_temp: the logits are divided by it (0.1 in the reference).

    Returns:
        ``(loss, accuracy)``; the accuracy is the arg-max accuracy at masked positions, as for
        ``mnm_loss``, so both presets log a comparable number.
    """
    if logits.shape[:-1] != targets.shape or targets.shape != mask.shape:
        raise ValueError(
            f"reference_bce_mnm_loss: logits {tuple(logits.shape)}, targets "
            f"{tuple(targets.shape)} and mask {tuple(mask.shape)} must agree on (B, L)"
        )
    batch, length, c = logits.shape
    selected = mask.unsqueeze(0).expand(c, batch, length).reshape(batch, length, c).float()
    labels = F.one_hot(targets.clamp(0, c - 1), c).float()
    bce = F.binary_cross_entropy_with_logits(
        logits.float() / student_temp, labels, reduction="none"
    )
    return _masked_mean(bce, selected), masked_accuracy(logits, targets, mask)
