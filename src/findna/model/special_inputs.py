"""Distinct inputs for the special rows (``model.special_inputs=distinct``, issue 21).

In the paper's network the CLS rows, the MNM mask token and padding are all the all-zero one-hot
row, so after the input layer each is ``embed.bias``: a gradient that moves one moves all three.
:class:`SpecialInputEmbedding` is the same ``Linear(in_channels -> d)`` (same ``weight`` and
``bias`` names, so every loader and the ``transformers`` classes see ``embed`` as before) plus a
learned vector per kind, added where the row is special:

- CLS: an all-zero row among the last ``cls_rows`` rows of a sequence (before its padding);
- padding: every row at or after the sequence's length (``lengths``; none without lengths);
- mask: any other all-zero row (a sequence row that MNM zeroed).

The kinds are read from the input itself, so no caller passes anything new. A real base is never
all-zero (A, C, G, T and N each set one channel); a noisy view (Gaussian noise) has no all-zero
rows except the CLS rows appended after it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

SPECIAL_KINDS = ("cls", "mask", "pad")
"""The rows of ``SpecialInputEmbedding.special``, in order."""


def special_kinds(x: Tensor, cls_rows: int, lengths: Tensor | None = None) -> Tensor:
    """(B, L) int64 kind of every row: 0 = a real token, then 1 + the index in
    :data:`SPECIAL_KINDS` (1 CLS, 2 mask, 3 padding).

    Args:
        x: (B, L, C) one-hot rows.
        cls_rows: the CLS rows appended after each sequence (the pretraining ``ssl.n_cls``).
        lengths: (B,) real lengths (CLS included), or None when nothing is padded.
    """
    b, length = x.shape[:2]
    zero = (x == 0).all(dim=-1)
    pos = torch.arange(length, device=x.device).expand(b, length)
    end = (
        torch.full((b, 1), length, device=x.device)
        if lengths is None
        else lengths.to(x.device).view(b, 1)
    )
    pad = pos >= end
    cls = zero & ~pad & (pos >= end - cls_rows)
    mask = zero & ~pad & ~cls
    kinds = torch.zeros((b, length), dtype=torch.long, device=x.device)
    kinds = kinds.masked_fill(cls, 1).masked_fill(mask, 2)
    return kinds.masked_fill(pad, 3)


class SpecialInputEmbedding(nn.Linear):
    """``Linear(in_channels -> d)`` plus a learned (3, d) vector per special kind.

    Args:
        in_channels, d: as ``nn.Linear``.
        cls_rows: the CLS rows appended after each sequence.
    """

    def __init__(self, in_channels: int, d: int, cls_rows: int) -> None:
        super().__init__(in_channels, d)
        self.cls_rows = cls_rows
        self.special = nn.Parameter(torch.empty(len(SPECIAL_KINDS), d))
        bound = 1.0 / math.sqrt(in_channels)
        nn.init.uniform_(self.special, -bound, bound)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:  # type: ignore[override]
        """(B, L, d): the linear projection, plus the vector of each special row's kind."""
        kinds = special_kinds(x, self.cls_rows, lengths)
        table = torch.cat([self.special.new_zeros(1, self.special.shape[1]), self.special])
        return super().forward(x) + table.to(x.dtype)[kinds]


__all__ = ["SPECIAL_KINDS", "SpecialInputEmbedding", "special_kinds"]
