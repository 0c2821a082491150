"""Tests for the KoLeo spread regulariser (hand-computed values and properties)."""

from __future__ import annotations

import math

import pytest
import torch

from findna.ssl.koleo import koleo_loss


def _circle(degrees: list[float], radius: float = 1.0) -> torch.Tensor:
    angles = torch.tensor(degrees, dtype=torch.float64).deg2rad()
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=-1)).float()


def test_koleo_hand_computed() -> None:
    # 4 points on the unit circle 90 degrees apart: every nearest neighbour is sqrt(2) away.
    assert koleo_loss(_circle([0, 90, 180, 270])).item() == pytest.approx(-math.log(2) / 2)
    # 0, 60 and 180 degrees: distances 1 (0-60), sqrt(3) (60-180), 2 (0-180); nearest
    # neighbours 1, 1 and sqrt(3) -> -(0 + 0 + ln sqrt 3) / 3.
    points = _circle([0, 60, 180])
    assert koleo_loss(points).item() == pytest.approx(-math.log(3) / 6, abs=1e-6)
    # the points are L2-normalised first: the radius does not matter
    assert koleo_loss(5.0 * points).item() == pytest.approx(-math.log(3) / 6, abs=1e-6)


def test_koleo_decreases_as_points_spread() -> None:
    values = [koleo_loss(_circle([0, t, 2 * t, 3 * t])).item() for t in (1, 10, 30, 60, 90)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))


def test_koleo_groups_are_separate_and_averaged() -> None:
    a, b = _circle([0, 60, 180]), _circle([0, 90, 180])
    both = koleo_loss(torch.stack([a, b]))  # (2 groups, 3 points, 2 dims)
    assert both.item() == pytest.approx((koleo_loss(a) + koleo_loss(b)).item() / 2, rel=1e-6)


def test_koleo_is_finite_for_coincident_points_and_zero_for_one_point() -> None:
    same = torch.ones(3, 4, requires_grad=True)
    loss = koleo_loss(same)
    assert torch.isfinite(loss) and loss.item() > 15  # -log(~1e-8): a large penalty
    loss.backward()
    assert torch.isfinite(same.grad).all()
    one = torch.randn(2, 1, 4, requires_grad=True)
    zero = koleo_loss(one)
    assert zero.item() == 0.0
    zero.backward()
    assert torch.equal(one.grad, torch.zeros_like(one))
    with pytest.raises(ValueError, match=r"\(\.\.\., N, d\)"):
        koleo_loss(torch.ones(4))


def test_koleo_gradient_steps_spread_a_cluster() -> None:
    gen = torch.Generator().manual_seed(0)
    x = (torch.tensor([1.0, 0.0, 0.0]) + 0.05 * torch.randn(8, 3, generator=gen)).requires_grad_()
    opt = torch.optim.SGD([x], lr=0.05)

    def min_distance() -> float:
        u = torch.nn.functional.normalize(x.detach(), dim=-1)
        d = torch.cdist(u, u) + 10 * torch.eye(8)
        return d.min().item()

    before, first = min_distance(), koleo_loss(x).item()
    for _ in range(20):
        opt.zero_grad()
        koleo_loss(x).backward()
        opt.step()
    assert koleo_loss(x).item() < first and min_distance() > before


def test_koleo_is_float32_under_bf16_autocast() -> None:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 6, 16, generator=gen)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = koleo_loss(x.bfloat16())
        full = koleo_loss(x)
    assert half.dtype == torch.float32 and full.dtype == torch.float32
    assert full.item() == pytest.approx(koleo_loss(x).item(), rel=1e-6)  # autocast is off inside
    assert half.item() == pytest.approx(full.item(), rel=2e-2)
