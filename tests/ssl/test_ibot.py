"""Tests for iBOT-style masked-token distillation (hand-computed values and properties)."""

from __future__ import annotations

import math

import pytest
import torch

from findna.data.alphabet import one_hot
from findna.ssl.ibot import MaskedTokenDistillationLoss, unmasked_student_view
from findna.ssl.views import ViewConfig, build_views

LN3 = math.log(3.0)


def _example() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # position 0: teacher softmax([0, ln3]) = [1/4, 3/4], student [3/4, 1/4];
    # position 1: unmasked garbage; position 2: teacher and student uniform -> log 2.
    q = torch.tensor([[[0.0, 0.04 * LN3], [1e3, -1e3], [0.3, 0.3]]])
    p = torch.tensor([[[0.1 * LN3, 0.0], [-1e3, 1e3], [2.0, 2.0]]])
    mask = torch.tensor([[True, False, True]])
    return p, q, mask


def test_ibot_loss_hand_computed() -> None:
    p, q, mask = _example()
    loss_fn = MaskedTokenDistillationLoss(dim=2, student_temp=0.1, teacher_temp=0.04)
    loss, h = loss_fn(p, q, mask)
    ce0 = -(0.25 * math.log(0.75) + 0.75 * math.log(0.25))
    h0 = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert loss.item() == pytest.approx((ce0 + math.log(2)) / 2, rel=1e-6)
    assert h.item() == pytest.approx((h0 + math.log(2)) / 2, rel=1e-6)
    assert loss.dtype == torch.float32 and not h.requires_grad


def test_ibot_loss_ignores_unmasked_positions_and_is_zero_without_a_mask() -> None:
    p, q, mask = _example()
    loss_fn = MaskedTokenDistillationLoss(dim=2)
    p.requires_grad_(True)
    loss_fn(p, q, mask)[0].backward()
    assert torch.all(p.grad[0, 1] == 0) and torch.any(p.grad[0, 0] != 0)
    empty, h = loss_fn(p, q, torch.zeros_like(mask))
    assert empty.item() == 0.0 and h.item() == 0.0 and empty.requires_grad


def test_ibot_centre_is_the_mean_over_positions_and_shifts_the_targets() -> None:
    loss_fn = MaskedTokenDistillationLoss(dim=2, center_momentum=0.9)
    q = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]])  # mean [4, 5]
    loss_fn.update_center(q)
    torch.testing.assert_close(loss_fn.center, torch.tensor([0.4, 0.5]))
    at_centre = loss_fn.center.expand(1, 3, 2)
    torch.testing.assert_close(loss_fn.teacher_probs(at_centre), torch.full((1, 3, 2), 0.5))
    sharp = loss_fn.teacher_probs(q, teacher_temp=0.01)
    torch.testing.assert_close(sharp.sum(-1), torch.ones(2, 2))


def test_ibot_minimum_is_a_matching_student() -> None:
    gen = torch.Generator().manual_seed(0)
    loss_fn = MaskedTokenDistillationLoss(dim=4)
    q = 0.04 * torch.randn(2, 5, 4, generator=gen)
    mask = torch.rand(2, 5, generator=gen) < 0.5
    p = (0.1 * loss_fn.teacher_probs(q).log()).requires_grad_(True)
    best, h = loss_fn(p, q, mask)
    best.backward()
    assert p.grad.abs().max().item() < 1e-6
    assert best.item() == pytest.approx(h.item(), rel=1e-5)  # CE(q, q) = H(q)


def test_ibot_is_float32_under_bf16_autocast_and_checks_shapes() -> None:
    p, q, mask = _example()
    loss_fn = MaskedTokenDistillationLoss(dim=2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half, _ = loss_fn(p[:, [0, 2]].bfloat16(), q[:, [0, 2]].bfloat16(), mask[:, [0, 2]])
    assert half.dtype == torch.float32
    assert half.item() == pytest.approx(loss_fn(p, q, mask)[0].item(), rel=2e-2)
    with pytest.raises(ValueError, match=r"expected \(B, L, 2\)"):
        loss_fn(torch.zeros(1, 3, 5), torch.zeros(1, 3, 5), mask)
    with pytest.raises(ValueError, match="must agree on"):
        loss_fn(p, q, mask[:, :2])


def test_unmasked_student_view_is_the_student_view_without_the_mask() -> None:
    gen = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 4, (3, 20), generator=gen)
    views = build_views(codes, ViewConfig(n_cls=4), generator=gen)  # paper: D, I, T, then mask
    full = unmasked_student_view(views)
    assert full.shape == views.student.shape and full.dtype == views.student.dtype
    torch.testing.assert_close(full[:, :20], one_hot(views.targets))
    assert torch.all(full[:, 20:] == 0)  # the K CLS rows
    seq, keep = views.student[:, :20], ~views.mask
    assert torch.equal(full[:, :20][keep], seq[keep])  # unmasked rows are the student's
    assert not torch.equal(full[:, :20][views.mask], seq[views.mask])
