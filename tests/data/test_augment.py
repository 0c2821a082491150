"""Property tests for the batched DNA augmentations (caduceus style)."""

import numpy as np
import pytest
import torch

from findna.data import alphabet as ab
from findna.data import augment as aug

PAD = ab.PAD


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def random_codes(batch: int = 16, length: int = 100, seed: int = 123, n: bool = True):
    return torch.randint(0, 5 if n else 4, (batch, length), generator=gen(seed))


CODE_OPS = {
    "deletion": lambda x, g: aug.deletion(x, generator=g),
    "insertion": lambda x, g: aug.insertion(x, generator=g),
    "translocation": lambda x, g: aug.translocation(x, generator=g),
    "inversion": lambda x, g: aug.inversion(x, generator=g),
    "mutation": lambda x, g: aug.mutation(x, generator=g),
    "reverse_complement": lambda x, g: aug.reverse_complement(x, generator=g),
}


@pytest.mark.parametrize("name", CODE_OPS)
@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8])
def test_code_ops_keep_shape_dtype_and_input(name, dtype):
    x = random_codes().to(dtype)
    before = x.clone()
    out = CODE_OPS[name](x, gen(1))
    assert out.shape == x.shape and out.dtype == dtype
    assert torch.equal(x, before)  # no in-place edit
    assert int(out.max()) <= 4 and int(out.min()) >= 0


@pytest.mark.parametrize("name", CODE_OPS)
def test_code_ops_reproducible_and_seed_dependent(name):
    x = random_codes(batch=32)
    a, b = CODE_OPS[name](x, gen(7)), CODE_OPS[name](x, gen(7))
    assert torch.equal(a, b)
    assert not torch.equal(a, CODE_OPS[name](x, gen(8)))


def test_noise_keeps_shape_reproducible_and_has_the_requested_moments():
    x = ab.one_hot(random_codes(batch=64, length=200))
    out = aug.gaussian_noise(x, std=0.2, mean=0.1, generator=gen(3))
    assert out.shape == x.shape and out.dtype == torch.float32
    assert torch.equal(out, aug.gaussian_noise(x, std=0.2, mean=0.1, generator=gen(3)))
    assert not torch.equal(out, aug.gaussian_noise(x, std=0.2, mean=0.1, generator=gen(4)))
    noise = out - x  # 64000 draws: sd of the mean 0.2/253 = 8e-4, of the sd about 6e-4
    assert abs(noise.mean().item() - 0.1) < 4e-3
    assert abs(noise.std().item() - 0.2) < 4e-3
    half = aug.gaussian_noise(x.bfloat16(), std=0.2, mean=0.1, generator=gen(3))
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half.float(), out, atol=1e-2, rtol=1e-2)


def test_noise_rejects_codes():
    with pytest.raises(ValueError, match="one_hot"):
        aug.gaussian_noise(random_codes(), generator=gen())


def test_reverse_complement_is_an_involution_on_codes_and_one_hot_including_n():
    x = random_codes(n=True)
    assert (x == ab.N).any()
    once = aug.reverse_complement(x, p=1.0, generator=gen())
    assert torch.equal(aug.reverse_complement(once, p=1.0, generator=gen()), x)
    oh = ab.one_hot(x)
    oh_once = aug.reverse_complement(oh, p=1.0, generator=gen())
    assert torch.equal(aug.reverse_complement(oh_once, p=1.0, generator=gen()), oh)
    assert torch.equal(oh_once, ab.one_hot(once))  # codes and one-hot paths agree


def test_reverse_complement_matches_the_string_reverse_complement():
    seqs = ["ACGTNNACGGT", "TTTTACGNACC", "GATTACAGATT"]
    codes = torch.as_tensor(np.stack([ab.encode(s) for s in seqs])).long()
    out = aug.reverse_complement(codes, p=1.0, generator=gen())
    assert [ab.decode(row) for row in out] == [ab.reverse_complement(s) for s in seqs]


def test_reverse_complement_flips_whole_sequences_with_probability_p():
    x = random_codes(batch=400, length=30)
    rc = ab.reverse_complement_codes(x)
    out = aug.reverse_complement(x, p=0.5, generator=gen(5))
    same = (out == x).all(1)
    flipped = (out == rc).all(1)
    assert bool((same | flipped).all())
    assert 150 < int(flipped.sum()) < 250  # Binomial(400, 0.5): 4 sd = 40
    assert torch.equal(aug.reverse_complement(x, p=0.0, generator=gen()), x)


def test_reverse_complement_one_hot_rows_follow_the_same_coin_as_codes():
    x = random_codes(batch=50, length=20)
    codes_out = aug.reverse_complement(x, p=0.5, generator=gen(9))
    oh_out = aug.reverse_complement(ab.one_hot(x), p=0.5, generator=gen(9))
    assert torch.equal(oh_out, ab.one_hot(codes_out))


def test_deletion_and_insertion_fill_with_acgt_only_and_the_drawn_amount():
    # An all-PAD input makes every fill base visible (anything that is not PAD).
    x = torch.full((500, 60), PAD)
    for op, least in ((aug.deletion, 3), (aug.insertion, 1)):  # insertions may be cropped
        out = op(x, 3, 11, generator=gen(2))
        fill = out != PAD
        assert set(out[fill].unique().tolist()) == {0, 1, 2, 3}
        counts = fill.sum(1)
        assert int(counts.min()) >= least and int(counts.max()) == 11


def test_deletion_removes_one_segment_and_splits_the_fill_half_before_half_after():
    # Position-tagged input (values >= 10 are original indices + 10; fill bases are < 4).
    L, lo, hi = 50, 0, 20
    x = (torch.arange(L) + 10).repeat(300, 1)
    out = aug.deletion(x, lo, hi, generator=gen(11))
    seen_lengths = set()
    for row in out.tolist():
        fill = [v < 4 for v in row]
        n = sum(fill)
        seen_lengths.add(n)
        left = n // 2
        assert fill == [True] * left + [False] * (L - n) + [True] * (n - left)
        kept = [v - 10 for v in row[left : L - (n - left)]]
        gap = [i for i in range(L) if i not in kept]
        assert kept == sorted(kept) and len(gap) == n
        if n:
            start = gap[0]
            assert gap == list(range(start, start + n)) and start <= L - hi
    assert seen_lengths == set(range(lo, hi + 1))


def test_insertion_inserts_one_fragment_and_keeps_the_first_l_positions():
    L = 40
    x = (torch.arange(L) + 10).repeat(300, 1)
    out = aug.insertion(x, 1, 20, generator=gen(12))
    ends = set()
    for row in out.tolist():
        fill = [v < 4 for v in row]
        p = fill.index(True)
        n = sum(fill)
        ends.add(p + n >= L)
        assert fill == [False] * p + [True] * n + [False] * (L - p - n)  # one contiguous fragment
        # Original bases in order, nothing skipped: the crop drops the last n originals.
        assert [v - 10 for v in row if v >= 10] == list(range(L - n))
    assert ends == {True, False}  # fragments near the end are themselves cropped


def test_translocation_is_a_circular_roll_per_sequence():
    L, hi = 30, 7
    x = random_codes(batch=200, length=L)
    out = aug.translocation(x, 0, hi, generator=gen(4))
    tags = (torch.arange(L) + 10).repeat(200, 1)
    tagged = aug.translocation(tags, 0, hi, generator=gen(4))  # same draws, position tags
    shifts = []
    for b in range(200):
        shift = (-(int(tagged[b, 0]) - 10)) % L  # output[0] = input[-shift]
        shift = shift - L if shift > L // 2 else shift
        assert abs(shift) <= hi
        assert torch.equal(out[b], torch.roll(x[b], shift))
        shifts.append(shift)
    assert min(shifts) == -hi and max(shifts) == hi


def _naive_inversion(seq: list[int], start: int, length: int) -> list[int]:
    seg = seq[start : start + length]
    comp = [int(ab.COMPLEMENT_CODES[c]) for c in reversed(seg)]
    return seq[:start] + comp + seq[start + length :]


def test_inversion_matches_a_naive_per_sequence_reference():
    B, L, lo, hi = 64, 40, 2, 15
    x = random_codes(batch=B, length=L)
    out = aug.inversion(x, lo, hi, generator=gen(21))
    # Replay the draws in the documented order: lengths (B,), then starts (B,).
    g = gen(21)
    lengths = torch.randint(lo, hi + 1, (B,), generator=g).tolist()
    starts = torch.randint(0, L - hi + 1, (B,), generator=g).tolist()
    for b in range(B):
        assert out[b].tolist() == _naive_inversion(x[b].tolist(), starts[b], lengths[b])


def test_inversion_of_a_full_length_segment_is_the_reverse_complement():
    x = random_codes(batch=4, length=12)
    out = aug.inversion(x, 12, 12, generator=gen())
    assert torch.equal(out, ab.reverse_complement_codes(x))


def test_mutation_changes_exactly_round_frac_over_075_positions_to_acgt():
    x = torch.full((50, 200), PAD)
    out = aug.mutation(x, 0.05, generator=gen(6))
    n = round(0.05 / 0.75 * 200)  # 13
    assert ((out != PAD).sum(1) == n).all()
    assert set(out[out != PAD].unique().tolist()) == {0, 1, 2, 3}
    changed = (
        (
            aug.mutation(random_codes(200, 300, n=False), 0.05, generator=gen(1))
            != random_codes(200, 300, n=False)
        )
        .float()
        .mean()
        .item()
    )
    assert abs(changed - 0.05) < 0.006  # 3/4 of 20 draws per sequence change the base
    assert torch.equal(aug.mutation(x, 0.0, generator=gen()), x)


def test_mutation_rejects_fraction_above_075():
    with pytest.raises(ValueError, match=r"\[0, 0.75\]"):
        aug.mutation(random_codes(), 0.8, generator=gen())


@pytest.mark.parametrize("op", [aug.deletion, aug.inversion])
def test_segment_longer_than_sequence_is_a_clear_error(op):
    with pytest.raises(ValueError, match="exceeds the sequence length 10"):
        op(random_codes(length=10), 0, 20, generator=gen())


@pytest.mark.parametrize("op", [aug.deletion, aug.insertion, aug.translocation, aug.inversion])
def test_bad_ranges_and_float_input_are_rejected(op):
    with pytest.raises(ValueError, match="min"):
        op(random_codes(), 5, 2, generator=gen())
    with pytest.raises(ValueError, match=r"\(B, L\)"):
        op(ab.one_hot(random_codes()), generator=gen())


def test_zero_length_ranges_are_the_identity():
    x = random_codes()
    assert torch.equal(aug.deletion(x, 0, 0, generator=gen()), x)
    assert torch.equal(aug.insertion(x, 0, 0, generator=gen()), x)
    assert torch.equal(aug.translocation(x, 0, 0, generator=gen()), x)
    assert torch.equal(aug.inversion(x, 0, 0, generator=gen()), x)


def test_empty_batch_works():
    x = torch.zeros((0, 30), dtype=torch.long)
    for name, op in CODE_OPS.items():
        assert op(x, gen()).shape == (0, 30), name


def test_reverse_complement_of_soft_rows_equals_the_alphabet_helper():
    x = torch.randn(6, 25, 5, generator=gen(2))
    out = aug.reverse_complement(x, p=1.0, generator=gen())
    assert torch.equal(out, ab.reverse_complement_one_hot(x))
