"""DNA alphabet: byte lookup-table encoding, one-hot, decoding and reverse complement.

Codes (uint8) follow the paper's channel order A, C, G, T, N:

    A=0, C=1, G=2, T=3, N=4, and PAD=5 for a row that one-hot encodes as the all-zero vector
    (padding, the MNM mask token and the CLS tokens are all zero vectors, docs/method.md §2.1).

Everything is vectorised through 256-entry lookup tables; there is no Python loop per base.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

BASES = "ACGTN"
A, C, G, T, N = 0, 1, 2, 3, 4
PAD = 5
NUM_CHANNELS = 5  # one-hot width D
OnInvalid = Literal["error", "n"]

_INVALID = 255
IUPAC_AMBIGUOUS = "RYKMSWBDHV"


def _build_encode_table() -> np.ndarray:
    table = np.full(256, _INVALID, dtype=np.uint8)
    for code, base in enumerate(BASES):
        table[ord(base)] = code
        table[ord(base.lower())] = code
    for ch in "Uu":  # RNA
        table[ord(ch)] = T
    for ch in IUPAC_AMBIGUOUS + IUPAC_AMBIGUOUS.lower():
        table[ord(ch)] = N
    return table


ENCODE_TABLE = _build_encode_table()
_LOWER_TABLE = np.zeros(256, dtype=bool)
_LOWER_TABLE[ord("a") : ord("z") + 1] = True
DECODE_TABLE = np.frombuffer(b"ACGTN-", dtype=np.uint8)

# Complement as an explicit permutation of codes: A<->T, C<->G, N->N, PAD->PAD.
COMPLEMENT_CODES = np.array([T, G, C, A, N, PAD], dtype=np.uint8)
# The same permutation on one-hot channels: channel i of the complement is channel PERM[i].
COMPLEMENT_CHANNELS = [T, G, C, A, N]
_STRING_COMPLEMENT = str.maketrans(
    "ACGTUNRYKMSWBDHVacgtunrykmswbdhv", "TGCAANYRMKSWVHDBtgcaanyrmkswvhdb"
)

# Row PAD of the one-hot table is all zeros.
_ONE_HOT_TABLE = np.eye(NUM_CHANNELS + 1, NUM_CHANNELS, dtype=np.float32)


def _as_bytes(seq: str | bytes | np.ndarray) -> np.ndarray:
    if isinstance(seq, np.ndarray):
        return seq.astype(np.uint8, copy=False)
    if isinstance(seq, str):
        try:
            seq = seq.encode("ascii")
        except UnicodeEncodeError as err:
            bad = seq[err.start]
            raise ValueError(
                f"non-ASCII character {bad!r} at position {err.start + 1}; "
                "DNA sequences must be plain ASCII letters"
            ) from None
    return np.frombuffer(seq, dtype=np.uint8)


def encode(
    seq: str | bytes | np.ndarray,
    *,
    on_invalid: OnInvalid = "error",
    source: str = "sequence",
    offset: int = 0,
) -> np.ndarray:
    """Encode a DNA string into uint8 codes (A=0, C=1, G=2, T=3, N=4).

    Lower case (soft-masked repeats) is upper-cased, IUPAC ambiguity codes and N become N, U
    becomes T.

    Args:
        seq: the sequence as ``str``, ``bytes`` or a uint8 array of ASCII bytes.
        on_invalid: ``"error"`` raises on any other character; ``"n"`` turns it into N.
        source: where the sequence comes from (file, record or row), used in error messages.
        offset: 0-based position of ``seq[0]`` inside ``source``, used in error messages.

    Returns:
        (L,) uint8 codes.

    Raises:
        ValueError: naming ``source``, the 1-based position and the character.
    """
    raw = _as_bytes(seq)
    codes = ENCODE_TABLE[raw]
    bad = codes == _INVALID
    if bad.any():
        if on_invalid == "n":
            codes[bad] = N
        elif on_invalid == "error":
            pos = int(np.flatnonzero(bad)[0])
            char = chr(raw[pos])
            raise ValueError(
                f"{source}: invalid character {char!r} at position {offset + pos + 1} "
                f"({int(bad.sum())} invalid in total). Allowed: A C G T N, lower case, U and the "
                f"IUPAC codes {IUPAC_AMBIGUOUS}. Fix the input, or pass on_invalid='n' "
                "(CLI: --on-invalid n) to read invalid characters as N."
            )
        else:
            raise ValueError(f"on_invalid must be 'error' or 'n', got {on_invalid!r}")
    return codes


def softmask(seq: str | bytes | np.ndarray) -> np.ndarray:
    """Boolean track of soft-masked (lower-case) positions, shape (L,)."""
    return _LOWER_TABLE[_as_bytes(seq)]


def decode(codes: np.ndarray | torch.Tensor) -> str:
    """Codes back to an upper-case string; PAD decodes as ``-``."""
    if isinstance(codes, torch.Tensor):
        codes = codes.detach().cpu().numpy()
    codes = np.asarray(codes)
    if codes.size and codes.max() > PAD:
        raise ValueError(f"code {int(codes.max())} is out of range 0..{PAD}")
    return DECODE_TABLE[codes.astype(np.intp)].tobytes().decode("ascii")


def one_hot(codes: np.ndarray | torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One-hot encode codes of any shape (...,) into (..., 5); PAD becomes the zero vector."""
    table = torch.as_tensor(_ONE_HOT_TABLE, dtype=dtype)
    codes_t = torch.as_tensor(np.asarray(codes) if not isinstance(codes, torch.Tensor) else codes)
    return table.to(codes_t.device)[codes_t.long()]


def reverse_complement(seq: str) -> str:
    """Reverse complement of a string; case and IUPAC codes are complemented too."""
    return seq.translate(_STRING_COMPLEMENT)[::-1]


def reverse_complement_codes(codes: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Reverse complement of codes along the last axis (numpy or torch, batched or not)."""
    if isinstance(codes, torch.Tensor):
        table = torch.as_tensor(COMPLEMENT_CODES, device=codes.device).to(codes.dtype)
        return table[codes.long()].flip(-1)
    return COMPLEMENT_CODES[np.asarray(codes)][..., ::-1]


def reverse_complement_one_hot(x: torch.Tensor) -> torch.Tensor:
    """Reverse complement of one-hot (or soft) rows, shape (..., L, 5).

    Channels are permuted explicitly (A<->T, C<->G, N fixed), then positions are reversed.
    """
    return x[..., COMPLEMENT_CHANNELS].flip(-2)
