"""Tests for the MNM and centred self-distillation losses (hand-computed values and properties)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.distributed as dist

from findna.ssl.distill import CenteredDistillationLoss, entropy, soft_cross_entropy
from findna.ssl.mnm import mnm_loss, reference_bce_mnm_loss

LN3 = math.log(3.0)


def _mnm_example() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    logits = torch.zeros(1, 3, 5)
    logits[0, 1, 0] = math.log(4.0)  # p(A) = 4 / (4 + 4) = 0.5
    logits[0, 2] = torch.tensor([1e4, -1e4, 3e3, 0.0, 7.0])  # unmasked garbage
    targets = torch.tensor([[2, 0, 4]])
    mask = torch.tensor([[True, True, False]])
    return logits, targets, mask


def test_mnm_loss_hand_computed() -> None:
    logits, targets, mask = _mnm_example()
    loss, acc = mnm_loss(logits, targets, mask)
    # position 0: uniform over 5 -> log 5; position 1: p = 1/2 -> log 2; position 2 ignored.
    assert loss.item() == pytest.approx((math.log(5.0) + math.log(2.0)) / 2, rel=1e-6)
    # position 0: arg-max 0 != 2 (tie -> first); position 1: arg-max 0 == 0.
    assert acc.item() == pytest.approx(0.5)
    assert not acc.requires_grad


def test_mnm_loss_ignores_unmasked_positions_and_their_targets() -> None:
    logits, targets, mask = _mnm_example()
    loss, _ = mnm_loss(logits, targets, mask)
    changed_logits = logits.clone()
    changed_logits[0, 2] = torch.randn(5) * 100
    changed_targets = targets.clone()
    changed_targets[0, 2] = 5  # PAD: out of class range, but unmasked so never read
    loss2, _ = mnm_loss(changed_logits, changed_targets, mask)
    assert loss2.item() == pytest.approx(loss.item(), rel=1e-6)

    logits.requires_grad_(True)
    mnm_loss(logits, targets, mask)[0].backward()
    assert torch.all(logits.grad[0, 2] == 0)
    assert torch.any(logits.grad[0, :2] != 0)


def test_mnm_loss_empty_mask_is_zero_with_graph() -> None:
    logits = torch.randn(2, 4, 5, requires_grad=True)
    loss, acc = mnm_loss(logits, torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 4, dtype=bool))
    assert loss.item() == 0.0 and acc.item() == 0.0
    loss.backward()
    assert torch.all(logits.grad == 0)


def test_mnm_loss_rejects_unsliced_logits() -> None:
    with pytest.raises(ValueError, match="CLS"):
        mnm_loss(
            torch.zeros(1, 13, 5), torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 3, dtype=bool)
        )


def test_mnm_loss_float32_under_half_inputs() -> None:
    logits, targets, mask = _mnm_example()
    loss, _ = mnm_loss(logits[:, :2].to(torch.bfloat16), targets[:, :2], mask[:, :2])
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx((math.log(5.0) + math.log(2.0)) / 2, rel=1e-2)


def test_reference_bce_selects_scrambled_entries() -> None:
    # mask (1, 5) = [T, F, F, F, F] tiled to (5, 1, 5) and reshaped to (1, 5, 5): every position's
    # row is [T, F, F, F, F], i.e. channel 0 of all five positions is selected
    # (docs/method.md §2.5).
    logits = torch.zeros(1, 5, 5)
    logits[0, :, 0] = 0.1 * torch.arange(5.0)  # / student_temp 0.1 -> z_j = j
    logits[0, :, 1:] = 50.0  # never selected
    targets = torch.tensor([[0, 1, 0, 1, 0]])  # channel-0 labels y_j = 1, 0, 1, 0, 1
    mask = torch.tensor([[True, False, False, False, False]])
    loss, _ = reference_bce_mnm_loss(logits, targets, mask, student_temp=0.1)
    labels = [1, 0, 1, 0, 1]
    expected = sum(math.log1p(math.exp(j)) - labels[j] * j for j in range(5)) / 5
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_soft_cross_entropy_hand_computed() -> None:
    q_hat = torch.tensor([[[0.25, 0.75]]])
    # student uniform -> - (0.25 + 0.75) log 0.5 = log 2
    assert soft_cross_entropy(torch.zeros(1, 1, 2), q_hat, 0.1).item() == pytest.approx(
        math.log(2.0), rel=1e-6
    )
    # student softmax([ln3, 0]) = [3/4, 1/4] -> -(0.25 log 0.75 + 0.75 log 0.25)
    p = torch.tensor([[[0.1 * LN3, 0.0]]])
    expected = -(0.25 * math.log(0.75) + 0.75 * math.log(0.25))
    assert soft_cross_entropy(p, q_hat, 0.1).item() == pytest.approx(expected, rel=1e-6)


def test_centered_loss_hand_computed_k1_d2() -> None:
    loss_fn = CenteredDistillationLoss(n_cls=1, dim=2, student_temp=0.1, teacher_temp=0.04)
    q = torch.tensor([[[0.0, 0.04 * LN3]]])  # softmax(q / 0.04) = [1/4, 3/4]
    torch.testing.assert_close(loss_fn.teacher_probs(q), torch.tensor([[[0.25, 0.75]]]))
    p = torch.tensor([[[0.1 * LN3, 0.0]]])
    expected = -(0.25 * math.log(0.75) + 0.75 * math.log(0.25))  # 1.11164
    assert loss_fn(p, q).item() == pytest.approx(expected, rel=1e-6)
    # the student matching the sharpened teacher gives the teacher's entropy, the minimum
    p_match = torch.tensor([[[0.0, 0.1 * LN3]]])
    h = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))  # 0.56234
    assert loss_fn(p_match, q).item() == pytest.approx(h, rel=1e-6)
    assert entropy(loss_fn.teacher_probs(q)).item() == pytest.approx(h, rel=1e-6)


def test_centered_loss_is_minimal_when_student_matches_teacher() -> None:
    gen = torch.Generator().manual_seed(0)
    loss_fn = CenteredDistillationLoss(n_cls=3, dim=4, student_temp=0.1, teacher_temp=0.04)
    loss_fn.center.copy_(0.04 * torch.randn(3, 4, generator=gen))
    q = 0.04 * torch.randn(2, 3, 4, generator=gen)  # keeps q_hat away from 0 (finite log)
    q_hat = loss_fn.teacher_probs(q)
    p_match = (0.1 * q_hat.log()).requires_grad_(True)
    best = loss_fn(p_match, q)
    best.backward()
    assert p_match.grad.abs().max().item() < 1e-6
    for _ in range(5):
        other = p_match.detach() + 0.05 * torch.randn(2, 3, 4, generator=gen)
        assert loss_fn(other, q).item() > best.item()


def test_centre_shifts_teacher_targets() -> None:
    loss_fn = CenteredDistillationLoss(n_cls=1, dim=2, teacher_temp=0.04)
    loss_fn.center.copy_(torch.tensor([[0.0, 0.04 * LN3]]))
    q = torch.tensor([[[0.0, 0.04 * LN3]]])  # equal to the centre -> uniform targets
    torch.testing.assert_close(loss_fn.teacher_probs(q), torch.full((1, 1, 2), 0.5))


def test_update_center_momentum_from_zero() -> None:
    loss_fn = CenteredDistillationLoss(n_cls=1, dim=2, center_momentum=0.9)
    q = torch.tensor([[[1.0, 2.0]], [[3.0, 4.0]]])  # batch mean [2, 3]
    loss_fn.update_center(q)
    torch.testing.assert_close(loss_fn.center, torch.tensor([[0.2, 0.3]]))
    loss_fn.update_center(torch.zeros(5, 1, 2))
    torch.testing.assert_close(loss_fn.center, torch.tensor([[0.18, 0.27]]))
    assert loss_fn.center_norm().item() == pytest.approx(math.hypot(0.18, 0.27), rel=1e-6)


def test_update_center_skips_all_reduce_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not dist.is_initialized()

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("all_reduce must not be called without a process group")

    monkeypatch.setattr(dist, "all_reduce", fail)
    loss_fn = CenteredDistillationLoss(n_cls=2, dim=3, center_momentum=0.5)
    loss_fn.update_center(torch.ones(4, 2, 3))
    torch.testing.assert_close(loss_fn.center, torch.full((2, 3), 0.5))


def test_update_center_averages_over_ranks_when_distributed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Simulate a second rank that holds 3 rows of 10s: all_reduce adds its sum and its count.
    calls: list[torch.Tensor] = []

    def fake_all_reduce(t: torch.Tensor) -> None:
        calls.append(t)
        t.add_(torch.full_like(t, 30.0) if t.dim() else torch.tensor(3.0))

    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "all_reduce", fake_all_reduce)
    loss_fn = CenteredDistillationLoss(n_cls=1, dim=2, center_momentum=0.0)
    loss_fn.update_center(torch.zeros(1, 1, 2))  # this rank: 1 row of 0s
    assert len(calls) == 2
    torch.testing.assert_close(loss_fn.center, torch.full((1, 2), 7.5))  # 30 / 4


def test_centered_loss_finite_for_extreme_inputs() -> None:
    loss_fn = CenteredDistillationLoss(n_cls=2, dim=5, student_temp=0.1, teacher_temp=0.04)
    for scale in (0.0, 1e4):
        q = torch.full((3, 2, 5), scale)
        q[..., 0] = -scale
        p = -q
        loss = loss_fn(p, q)
        assert torch.isfinite(loss)
        assert torch.isfinite(entropy(loss_fn.teacher_probs(q)))


def test_centered_loss_rejects_wrong_shapes() -> None:
    loss_fn = CenteredDistillationLoss(n_cls=10, dim=5)
    with pytest.raises(ValueError, match="n_cls"):
        loss_fn(torch.zeros(2, 9, 5), torch.zeros(2, 9, 5))
    with pytest.raises(ValueError, match="positive"):
        CenteredDistillationLoss(n_cls=1, dim=5, teacher_temp=0.0)


# --- cl_softmax = tokens (the paper's eqs. 4-5) ----------------------------------------------


def test_token_softmax_hand_computed_k2_d2() -> None:
    loss_fn = CenteredDistillationLoss(n_cls=2, dim=2, softmax="tokens")
    # feature 0: teacher over the 2 tokens softmax([0, ln3]) = [1/4, 3/4], student [3/4, 1/4];
    # feature 1: teacher and student uniform over the tokens -> log 2.
    q = torch.tensor([[[0.0, 0.5], [0.04 * LN3, 0.5]]])
    p = torch.tensor([[[0.1 * LN3, 1.0], [0.0, 1.0]]])
    q_hat = loss_fn.teacher_probs(q)
    torch.testing.assert_close(q_hat[0, :, 0], torch.tensor([0.25, 0.75]))
    torch.testing.assert_close(q_hat[0, :, 1], torch.tensor([0.5, 0.5]))
    ce0 = -(0.25 * math.log(0.75) + 0.75 * math.log(0.25))
    assert loss_fn(p, q).item() == pytest.approx((ce0 + math.log(2.0)) / 2, rel=1e-6)
    h0 = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert loss_fn.target_entropy(q_hat).item() == pytest.approx((h0 + math.log(2)) / 2, rel=1e-6)


def test_token_softmax_distributions_sum_to_one_over_the_k_tokens() -> None:
    gen = torch.Generator().manual_seed(0)
    tokens = CenteredDistillationLoss(n_cls=4, dim=3, softmax="tokens")
    tokens.center.copy_(torch.randn(4, 3, generator=gen))
    q = torch.randn(2, 4, 3, generator=gen)
    q_hat = tokens.teacher_probs(q)
    torch.testing.assert_close(q_hat.sum(dim=1), torch.ones(2, 3))
    assert not torch.allclose(q_hat.sum(dim=-1), torch.ones(2, 4))
    # centred per (token, feature) before the softmax over tokens
    expected = torch.softmax((q - tokens.center) / 0.04, dim=1)
    torch.testing.assert_close(q_hat, expected)
    assert 0.0 <= tokens.target_entropy(q_hat).item() <= math.log(4) + 1e-6
    # the minimum of the loss is where the student's token distributions match the teacher's
    p_match = (0.1 * torch.log(q_hat.clamp_min(1e-30))).requires_grad_(True)
    tokens(p_match, q).backward()
    assert p_match.grad.abs().max().item() < 1e-6


def test_token_softmax_is_float32_under_bf16_autocast() -> None:
    loss_fn = CenteredDistillationLoss(n_cls=3, dim=5, softmax="tokens")
    gen = torch.Generator().manual_seed(1)
    p, q = torch.randn(2, 3, 5, generator=gen), torch.randn(2, 3, 5, generator=gen)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = loss_fn(p.bfloat16(), q.bfloat16())
    assert half.dtype == torch.float32
    assert half.item() == pytest.approx(loss_fn(p, q).item(), rel=2e-2)
    with pytest.raises(ValueError, match="softmax='rows'"):
        CenteredDistillationLoss(n_cls=3, dim=5, softmax="rows")  # type: ignore[arg-type]
