"""Masked nucleotide modelling (MNM) corruption: BERT-style 80/10/10 masking of DNA codes.

Selection is a **Bernoulli draw per position** with probability ``ratio`` (like the reference
data script), not an exact count per sequence: the number of masked positions of a length-L
sequence is Binomial(L, ratio). This keeps the draw a single vectorised comparison and matches
the released code; at L = 1000 and ratio 0.3 the per-sequence count has a standard deviation of
about 14.5 positions.

Every non-PAD position can be selected, **including N positions** (an N is a legitimate input
token and a legitimate MNM target). PAD positions (code 5: padding, already-zero rows) are never
selected. Of the selected positions, a fraction ``p_zero`` becomes the zero vector (code PAD=5),
``p_random`` becomes a random base and ``p_keep`` stays unchanged; ``mask`` marks all of them
(the loss is computed on every selected position, BERT-style). Random bases come from A/C/G/T
(docs/method.md §7 row 6); ``random_from="acgtn"`` reproduces the reference code, which drew
uniformly over all 5 classes including N.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from findna.data.alphabet import PAD
from findna.ssl.view_config import check_mask_params

RandomFrom = Literal["acgt", "acgtn"]
_N_RANDOM = {"acgt": 4, "acgtn": 5}


@dataclass(frozen=True)
class MaskedTokens:
    """Result of :func:`mask_tokens`.

    Attributes:
        inputs: (B, L) codes fed to the student; zero-vector positions hold PAD (5).
        targets: (B, L) the original codes (the same tensor that was passed in, not a copy).
        mask: (B, L) bool, True at every selected position (zeroed, randomised or kept).
    """

    inputs: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor


def mask_tokens(
    codes: torch.Tensor,
    ratio: float = 0.3,
    p_zero: float = 0.8,
    p_random: float = 0.1,
    p_keep: float = 0.1,
    *,
    random_from: RandomFrom = "acgt",
    generator: torch.Generator,
) -> MaskedTokens:
    """Select positions with probability ``ratio`` and corrupt them 80/10/10.

    The generator draws, in this order, a (B, L) uniform for selection, a (B, L) uniform for
    the zero/random/keep split and (B, L) random bases, whatever the parameters, so a seed
    always consumes the same amount of randomness.

    Args:
        codes: (B, L) integer codes (A=0 C=1 G=2 T=3 N=4 PAD=5).
        ratio: probability that a non-PAD position is selected.
        p_zero: fraction of selected positions turned into the zero vector (PAD code).
        p_random: fraction replaced by a uniformly random base.
        p_keep: fraction left unchanged.
        random_from: ``"acgt"`` (default) or ``"acgtn"`` (reference code: N included).
        generator: on ``codes.device``.

    Returns:
        :class:`MaskedTokens` with inputs, targets and mask, all (B, L).
    """
    if codes.dim() != 2 or codes.dtype.is_floating_point or codes.dtype == torch.bool:
        raise ValueError(
            f"mask_tokens: expected integer codes of shape (B, L), got {codes.dtype} "
            f"{tuple(codes.shape)}"
        )
    check_mask_params(ratio, p_zero, p_random, p_keep, random_from)
    dev = codes.device
    select = torch.rand(codes.shape, generator=generator, device=dev) < ratio
    mask = select & (codes != PAD)
    action = torch.rand(codes.shape, generator=generator, device=dev)
    bases = torch.randint(
        0, _N_RANDOM[random_from], codes.shape, generator=generator, device=dev, dtype=codes.dtype
    )
    zero = mask & (action < p_zero)
    rand = mask & (action >= p_zero) & (action < p_zero + p_random)
    inputs = torch.where(zero, torch.full_like(codes, PAD), codes)
    inputs = torch.where(rand, bases, inputs)
    return MaskedTokens(inputs=inputs, targets=codes, mask=mask)
