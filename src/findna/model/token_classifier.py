"""A per-base (token classification) model: an encoder and a head applied to every token.

:class:`TokenClassifier` is what per-base fine-tuning trains (:mod:`findna.eval.per_base_finetune`)
and what a saved per-base model folder loads as (:mod:`findna.model.classifier`, task type
``per_base``). No CLS rows are appended and nothing is pooled: the head reads each token's hidden
state, so the logits have one row per input position. Batches are padded as for a classifier
(:func:`findna.model.classifier.batch_tensors`): to the network's ``max_len`` for a ``fixed``-mode
ChordMixer, else to the batch's longest member.
"""

from __future__ import annotations

from torch import Tensor, nn

from findna.model.inputs import fixed_pad_length
from findna.model.network import FinDNANetwork

PER_BASE_POOLING = "none"
"""``task.json``'s ``pooling`` of a per-base model: token states are not pooled."""


class TokenClassifier(nn.Module):
    """An encoder and a head applied to every token: (B, L, 5) one-hot -> (B, L, C) logits.

    Attributes:
        n_cls: 0 (a class per base: no CLS rows), as :func:`batch_tensors` reads it.
        pooling: :data:`PER_BASE_POOLING`.
    """

    n_cls = 0
    pooling = PER_BASE_POOLING

    def __init__(self, encoder: FinDNANetwork, head: nn.Module) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    @property
    def pad_length(self) -> int | None:
        """Fixed padded length of every batch (a ``fixed``-mode ChordMixer), else None."""
        return fixed_pad_length(self.encoder, "masked_mean")

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """(B, L, C) logits of every position (padding rows too: read only the first
        ``lengths`` rows)."""
        return self.head(self.encoder.encode(x, lengths))


__all__ = ["PER_BASE_POOLING", "TokenClassifier"]
