"""DNA sequence augmentations (EvoAug-style), batched and vectorised, with an explicit generator.

Every function works on a whole batch at once: per-sequence random draws (lengths, positions,
shifts, coin flips) are (B,) tensors and the per-sequence edits are expressed as index arithmetic
plus ``gather``, so there is no Python loop over the batch. Randomness comes only from the
``generator`` argument, which must live on the device of the input (device-agnostic code: the
same seed gives the same output on the same device).

Inputs are codes (B, L) of any integer dtype (A=0, C=1, G=2, T=3, N=4, PAD=5, see
:mod:`findna.data.alphabet`) unless noted; :func:`gaussian_noise` works on one-hot floats
(B, L, 5) and :func:`reverse_complement` on either. All functions keep the length L and the dtype,
and never modify their input in place.

The edits assume unpadded, equal-length windows (pretraining windows are all exactly L bases):
PAD codes are moved like any other code. Random fill bases are drawn from A/C/G/T only, never N
(docs/method.md §7 row 9; the reference code's 5-channel fill drew N with probability 1/5).

Definitions follow EvoAug (docs/method.md §8) except insertion, which crops back to L
(docs/method.md §7 row 10), see :func:`insertion`.
"""

from __future__ import annotations

import torch

from findna.data.alphabet import (
    COMPLEMENT_CHANNELS,
    COMPLEMENT_CODES,
    NUM_CHANNELS,
    reverse_complement_codes,
)

NUM_BASES = 4  # random fill draws from A, C, G, T (codes 0..3)


def _check_codes(codes: torch.Tensor, op: str) -> tuple[int, int]:
    if codes.dim() != 2 or codes.dtype.is_floating_point or codes.dtype == torch.bool:
        raise ValueError(
            f"{op}: expected integer codes of shape (B, L), got {codes.dtype} "
            f"{tuple(codes.shape)}; encode sequences with findna.data.alphabet.encode first"
        )
    return codes.shape[0], codes.shape[1]


def _check_span(
    op: str, low: int, high: int, what: str = "length", seq_len: int | None = None
) -> None:
    """Check a ``min..max`` range; with ``seq_len``, the segment must also fit in the sequence."""
    if low < 0 or high < low:
        raise ValueError(f"{op}: need 0 <= min_{what} <= max_{what}, got {low} and {high}")
    if seq_len is not None and high > seq_len:
        raise ValueError(
            f"{op}: max_{what}={high} exceeds the sequence length {seq_len}; lower max_{what}"
        )


def _draw(low: int, high: int, batch: int, generator: torch.Generator, device) -> torch.Tensor:
    """(B,) int64 uniform on {low, ..., high} (both inclusive)."""
    return torch.randint(low, high + 1, (batch,), generator=generator, device=device)


def _random_bases(shape: tuple[int, ...], like: torch.Tensor, generator: torch.Generator):
    return torch.randint(
        0, NUM_BASES, shape, generator=generator, device=like.device, dtype=like.dtype
    )


def deletion(
    codes: torch.Tensor,
    min_len: int = 0,
    max_len: int = 20,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """Delete a random segment per sequence and refill to length L with random bases (EvoAug).

    Per sequence: length l ~ U{min_len..max_len}, start s ~ U{0..L-max_len}; bases s..s+l-1 are
    removed, then floor(l/2) random A/C/G/T bases are prepended and the remaining l - floor(l/2)
    appended.

    Args:
        codes: (B, L) integer codes.
        min_len: shortest deletion.
        max_len: longest deletion, at most L.
        generator: on ``codes.device``.

    Returns:
        (B, L) codes, same dtype.
    """
    batch, seq_len = _check_codes(codes, "deletion")
    _check_span("deletion", min_len, max_len, seq_len=seq_len)
    dev = codes.device
    length = _draw(min_len, max_len, batch, generator, dev)[:, None]  # (B, 1)
    start = _draw(0, seq_len - max_len, batch, generator, dev)[:, None]  # (B, 1)
    fill = _random_bases((batch, seq_len), codes, generator)
    pos = torch.arange(seq_len, device=dev)[None, :]  # (1, L)
    short = pos - length // 2  # index into the shortened sequence (length L - l), (B, L)
    src = torch.where(short < start, short, short + length)
    keep = (short >= 0) & (short < seq_len - length)
    kept = codes.gather(1, src.clamp(0, seq_len - 1))
    return torch.where(keep, kept, fill)


def insertion(
    codes: torch.Tensor,
    min_len: int = 0,
    max_len: int = 20,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """Insert a random fragment per sequence, then crop back to the first L positions.

    Per sequence: l ~ U{min_len..max_len} random A/C/G/T bases are inserted before position
    p ~ U{0..L-1}. The result (length L + l) is cropped to its **first L positions**, so the last
    l original bases are dropped (docs/method.md §7 row 10). EvoAug instead pads every sequence to
    L + max_len with random bases; cropping keeps a fixed L so the CLS slicing stays at L.

    Args:
        codes: (B, L) integer codes.
        min_len: shortest insertion.
        max_len: longest insertion.
        generator: on ``codes.device``.

    Returns:
        (B, L) codes, same dtype.
    """
    batch, seq_len = _check_codes(codes, "insertion")
    _check_span("insertion", min_len, max_len)
    dev = codes.device
    length = _draw(min_len, max_len, batch, generator, dev)[:, None]  # (B, 1)
    at = _draw(0, max(seq_len - 1, 0), batch, generator, dev)[:, None]  # (B, 1)
    fill = _random_bases((batch, seq_len), codes, generator)
    pos = torch.arange(seq_len, device=dev)[None, :]  # (1, L)
    rel = pos - at
    inserted = (rel >= 0) & (rel < length)
    src = torch.where(rel < 0, pos, pos - length)
    kept = codes.gather(1, src.clamp(0, seq_len - 1))
    return torch.where(inserted, fill, kept)


def translocation(
    codes: torch.Tensor,
    min_shift: int = 0,
    max_shift: int = 20,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """Circular roll per sequence by +/- s, s ~ U{min_shift..max_shift}, sign 50/50 (EvoAug).

    Output position j holds input position (j - shift) mod L, i.e. ``torch.roll(x, shift)``
    per sequence. This is the paper's "cut at a breakpoint and swap the two pieces".

    Args:
        codes: (B, L) integer codes.
        min_shift: smallest absolute shift.
        max_shift: largest absolute shift.
        generator: on ``codes.device``.

    Returns:
        (B, L) codes, same dtype.
    """
    batch, seq_len = _check_codes(codes, "translocation")
    _check_span("translocation", min_shift, max_shift, "shift")
    if seq_len == 0:
        return codes.clone()
    dev = codes.device
    shift = _draw(min_shift, max_shift, batch, generator, dev)
    sign = torch.randint(0, 2, (batch,), generator=generator, device=dev) * 2 - 1
    pos = torch.arange(seq_len, device=dev)[None, :]
    src = (pos - (shift * sign)[:, None]) % seq_len  # remainder is non-negative
    return codes.gather(1, src)


def inversion(
    codes: torch.Tensor,
    min_len: int = 0,
    max_len: int = 20,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """Reverse-complement one segment per sequence (EvoAug RandomInversion).

    Per sequence: l ~ U{min_len..max_len}, start s ~ U{0..L-max_len}; positions s..s+l-1 are
    replaced by the reverse complement of that segment (A<->T, C<->G, N and PAD fixed).

    Args:
        codes: (B, L) integer codes.
        min_len: shortest segment.
        max_len: longest segment, at most L.
        generator: on ``codes.device``.

    Returns:
        (B, L) codes, same dtype.
    """
    batch, seq_len = _check_codes(codes, "inversion")
    _check_span("inversion", min_len, max_len, seq_len=seq_len)
    dev = codes.device
    length = _draw(min_len, max_len, batch, generator, dev)[:, None]
    start = _draw(0, seq_len - max_len, batch, generator, dev)[:, None]
    pos = torch.arange(seq_len, device=dev)[None, :]
    rel = pos - start
    inside = (rel >= 0) & (rel < length)
    mirror = 2 * start + length - 1 - pos  # s + (l - 1 - (j - s))
    src = torch.where(inside, mirror, pos).clamp(0, seq_len - 1)
    table = torch.as_tensor(COMPLEMENT_CODES, device=dev).to(codes.dtype)
    flipped = table[codes.gather(1, src).long()]
    return torch.where(inside, flipped, codes)


def mutation(
    codes: torch.Tensor,
    frac: float = 0.05,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """Replace round(frac / 0.75 * L) positions per sequence by random A/C/G/T (EvoAug).

    Positions are drawn without replacement (top-k of i.i.d. uniforms). The division by 0.75
    compensates for the 1/4 of draws that pick the base already there, so about ``frac`` of
    the bases actually change.

    Args:
        codes: (B, L) integer codes.
        frac: expected fraction of changed bases, in [0, 0.75].
        generator: on ``codes.device``.

    Returns:
        (B, L) codes, same dtype.
    """
    batch, seq_len = _check_codes(codes, "mutation")
    if not 0.0 <= frac <= 0.75:
        raise ValueError(f"mutation: frac must be in [0, 0.75], got {frac}")
    n_mut = round(frac / 0.75 * seq_len)
    if n_mut == 0:
        return codes.clone()
    scores = torch.rand((batch, seq_len), generator=generator, device=codes.device)
    idx = scores.topk(n_mut, dim=1).indices  # (B, n_mut), distinct per row
    out = codes.clone()
    out.scatter_(1, idx, _random_bases((batch, n_mut), codes, generator))
    return out


def reverse_complement(
    x: torch.Tensor,
    p: float = 0.5,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """Reverse-complement whole sequences, each with probability ``p`` (EvoAug RandomRC).

    The complement is an explicit permutation (A<->T, C<->G, N fixed; zero rows stay zero),
    not a channel flip, so it is correct for the 5-channel alphabet (docs/method.md §7 row 7).

    Args:
        x: (B, L) integer codes, or (B, L, 5) one-hot / soft float rows.
        p: probability of reverse-complementing each sequence.
        generator: on ``x.device``.

    Returns:
        Same shape and dtype as ``x``.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"reverse_complement: p must be in [0, 1], got {p}")
    if x.dtype.is_floating_point:
        if x.dim() != 3 or x.shape[-1] != NUM_CHANNELS:
            raise ValueError(
                f"reverse_complement: float input must be one-hot (B, L, {NUM_CHANNELS}), "
                f"got {tuple(x.shape)}"
            )
        flip = torch.rand((x.shape[0],), generator=generator, device=x.device) < p
        # Same as alphabet.reverse_complement_one_hot, but index_select on the channel axis is
        # several times faster than advanced indexing with a list on CPU.
        perm = torch.as_tensor(COMPLEMENT_CHANNELS, device=x.device)
        return torch.where(flip[:, None, None], x.flip(-2).index_select(-1, perm), x)
    _check_codes(x, "reverse_complement")
    flip = torch.rand((x.shape[0],), generator=generator, device=x.device) < p
    return torch.where(flip[:, None], reverse_complement_codes(x), x)


def gaussian_noise(
    x: torch.Tensor,
    std: float = 0.2,
    mean: float = 0.0,
    *,
    generator: torch.Generator,
) -> torch.Tensor:
    """Add i.i.d. N(mean, std^2) noise to every entry of a one-hot batch (EvoAug RandomNoise).

    Noise is drawn in float32 whatever the input dtype, so a seed gives the same noise for
    float32 and bfloat16 inputs (up to the final rounding).

    Args:
        x: (B, L, 5) float one-hot rows (zero rows for mask/PAD get noise too).
        std: noise standard deviation.
        mean: noise mean.
        generator: on ``x.device``.

    Returns:
        (B, L, 5), dtype of ``x``.
    """
    if not x.dtype.is_floating_point:
        raise ValueError(
            f"gaussian_noise: expected float one-hot rows (B, L, 5), got {x.dtype}; "
            "convert codes with findna.data.alphabet.one_hot first"
        )
    if std < 0:
        raise ValueError(f"gaussian_noise: std must be >= 0, got {std}")
    noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=torch.float32)
    return noise.mul_(std).add_(mean).add_(x).to(x.dtype)  # in place on the fresh noise only
