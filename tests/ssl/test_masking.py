"""Statistical and structural tests for MNM masking."""

import math

import pytest
import torch

from findna.data.alphabet import PAD
from findna.ssl.masking import mask_tokens


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def codes(batch: int = 200, length: int = 1000, high: int = 5, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, high, (batch, length), generator=gen(seed))


def within(observed: float, p: float, n: int, sigmas: float = 4.0) -> bool:
    return abs(observed - p) <= sigmas * math.sqrt(p * (1 - p) / n)


def test_mask_rate_and_80_10_10_split_are_within_4_sigma():
    x = codes(high=4)
    out = mask_tokens(x, generator=gen(3))
    n = x.numel()
    assert within(out.mask.float().mean().item(), 0.3, n)
    m = out.mask
    k = int(m.sum())
    zero = (out.inputs == PAD) & m
    changed = (out.inputs != x) & (out.inputs != PAD) & m  # random draws that hit a new base
    same = (out.inputs == x) & m  # kept (10%) + random draws of the same base (10% * 1/4)
    assert int(zero.sum() + changed.sum() + same.sum()) == k
    assert within(zero.sum().item() / k, 0.8, k)
    assert within(changed.sum().item() / k, 0.1 * 0.75, k)
    assert within(same.sum().item() / k, 0.1 + 0.1 * 0.25, k)


def test_unmasked_positions_are_untouched_and_targets_are_the_originals():
    x = codes(batch=20, length=300)
    out = mask_tokens(x, generator=gen(4))
    assert torch.equal(out.targets, x)
    assert torch.equal(out.inputs[~out.mask], x[~out.mask])
    assert out.inputs.dtype == x.dtype and out.mask.dtype == torch.bool
    assert out.inputs.shape == out.mask.shape == x.shape


def test_pad_is_never_selected_but_n_can_be():
    x = codes(batch=100, length=200)
    x[:, 150:] = PAD
    out = mask_tokens(x, ratio=0.9, generator=gen(5))
    assert not out.mask[:, 150:].any()
    assert torch.equal(out.inputs[:, 150:], x[:, 150:])
    assert (out.mask & (x == 4)).any()


def test_random_replacements_come_from_acgt_by_default_and_acgtn_when_asked():
    x = torch.zeros((200, 500), dtype=torch.long)  # all A
    kw = dict(ratio=1.0, p_zero=0.0, p_random=1.0, p_keep=0.0)
    acgt = mask_tokens(x, **kw, generator=gen(6)).inputs
    assert set(acgt.unique().tolist()) == {0, 1, 2, 3}
    acgtn = mask_tokens(x, **kw, random_from="acgtn", generator=gen(6)).inputs
    assert set(acgtn.unique().tolist()) == {0, 1, 2, 3, 4}
    assert within((acgtn == 4).float().mean().item(), 0.2, acgtn.numel())


def test_extreme_settings():
    x = codes(batch=10, length=100)
    none = mask_tokens(x, ratio=0.0, generator=gen())
    assert not none.mask.any() and torch.equal(none.inputs, x)
    everything = mask_tokens(x, ratio=1.0, p_zero=1.0, p_random=0.0, p_keep=0.0, generator=gen())
    assert everything.mask.all() and (everything.inputs == PAD).all()


def test_reproducible_for_a_seed_and_different_for_another():
    x = codes(batch=8, length=200)
    a, b = mask_tokens(x, generator=gen(9)), mask_tokens(x, generator=gen(9))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.mask, b.mask)
    assert not torch.equal(a.mask, mask_tokens(x, generator=gen(10)).mask)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(p_zero=0.8, p_random=0.1, p_keep=0.2), "sum to 1"),
        (dict(ratio=1.5), r"ratio must be in \[0, 1\]"),
        (dict(p_zero=1.2, p_random=-0.1, p_keep=-0.1), "p_zero"),
        (dict(random_from="acgu"), "random_from"),
    ],
)
def test_bad_parameters_raise_with_a_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mask_tokens(codes(2, 10), **kwargs, generator=gen())


def test_rejects_one_hot_input():
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        mask_tokens(torch.zeros(2, 10, 5), generator=gen())
