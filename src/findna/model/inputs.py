"""From DNA strings to a network's input: codes, CLS rows, padding and the padded length.

Sequences are encoded (:func:`findna.data.alphabet.encode`), ``n_cls`` all-zero CLS rows are
appended after each sequence's real tokens when the pooling reads them (:data:`CLS_POOLINGS`),
and a batch is right-padded with all-zero rows to its longest member, or to one fixed length
(:func:`fixed_pad_length`) where padding would otherwise change the outputs. Feature
extraction, fine-tuning and prediction all batch this way, so a sequence gets the same outputs in
each of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from findna.data.alphabet import PAD, encode
from findna.model.network import FinDNANetwork


def to_codes(item: str | np.ndarray, index: int) -> np.ndarray:
    """(L,) uint8 codes of a DNA string or code array; errors name the 0-based ``index``."""
    if isinstance(item, np.ndarray):
        codes = item.astype(np.uint8, copy=False)
        if codes.ndim != 1 or (codes.size and int(codes.max()) > 4):
            raise ValueError(f"sequence {index}: code arrays must be 1-D uint8 values 0..4 (ACGTN)")
    elif isinstance(item, str):
        codes = encode(item, source=f"sequence {index} (0-based)")
    else:
        raise ValueError(f"sequence {index}: expected a str or a code array, got {type(item)}")
    if codes.size == 0:
        raise ValueError(f"sequence {index} (0-based) is empty; remove it from the input")
    return codes


def pad_codes(
    codes: list[np.ndarray], n_cls: int, pad: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad code arrays into one batch, with ``n_cls`` CLS rows after each sequence.

    Args:
        codes: B (L_b,) uint8 code arrays.
        n_cls: CLS rows appended after each sequence's real tokens.
        pad: the fixed padded length P, or None for the longest ``L_b + n_cls``.

    Returns:
        (B, P) uint8 codes (CLS and padding are ``PAD``, the all-zero one-hot row) and (B,)
        int64 lengths (CLS included).
    """
    lengths = np.array([len(c) + n_cls for c in codes], dtype=np.int64)
    width = int(lengths.max()) if pad is None else pad
    if int(lengths.max()) > width:
        longest = int(lengths.max()) - n_cls
        raise ValueError(
            f"a sequence of {longest} bp (+{n_cls} CLS) is longer than the fixed padded length "
            f"{width} used for 'mean' pooling or a fixed-mode ChordMixer; use pooling "
            "'masked_mean' with length_mode 'length_aware', or raise pad_to / max_len"
        )
    out = np.full((len(codes), width), PAD, dtype=np.uint8)
    for row, c in enumerate(codes):
        out[row, : len(c)] = c  # CLS and padding rows stay PAD (all-zero one-hot)
    return out, lengths


def encode_sequences(seqs: Sequence[str], source: str = "input") -> list[np.ndarray]:
    """Every sequence as (L_i,) uint8 codes; an empty sequence or invalid character raises."""
    try:
        return [to_codes(s, i) for i, s in enumerate(seqs)]
    except ValueError as err:
        raise ValueError(f"{source}: {err}") from None


def fixed_pad_length(net: FinDNANetwork, pooling: str, pad_to: int | None = None) -> int | None:
    """The length every batch is padded to, or None when batches pad to their longest member.

    ``mean`` pooling averages over padding and a ``fixed``-mode ChordMixer rotates modulo the
    padded length, so both pad to one fixed length: ``pad_to``, default the network's ``max_len``.
    """
    fixed_mode = net.config.backbone == "chordmixer" and net.config.length_mode == "fixed"
    if pooling == "mean" or fixed_mode:
        return pad_to or net.config.max_len
    return None


__all__ = [
    "encode_sequences",
    "fixed_pad_length",
    "pad_codes",
    "to_codes",
]
