"""Transformer backbone for the FinDNA-T comparison (paper Table 1).

A non-causal pre-norm ``nn.TransformerEncoder`` (batch first, GELU feed-forward of width
``hidden``, a final LayerNorm) with learned or sinusoidal absolute positions up to ``max_len``.
Padding is excluded from attention by a key padding mask built from ``lengths``; padded
positions still produce outputs, but they never affect the real ones.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from findna.model.config import ModelConfig


def sinusoidal_positions(max_len: int, d: int) -> Tensor:
    """The fixed sine/cosine table of Vaswani et al.

    Returns:
        (max_len, d) float32; even channels sin, odd channels cos (odd ``d`` drops the last cos).
    """
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    table = torch.zeros(max_len, d)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq)[:, : d // 2]
    return table


def key_padding_mask(lengths: Tensor, seq_len: int) -> Tensor:
    """(B,) lengths -> (B, L) bool, True at padded positions (ignored as attention keys)."""
    return torch.arange(seq_len, device=lengths.device)[None, :] >= lengths[:, None]


class TransformerBackbone(nn.Module):
    """``n_layers`` pre-norm encoder layers over ``d_model`` channels with absolute positions."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        d = config.width
        self.max_len = config.max_len
        if config.positional == "learned":
            self.pos_embed = nn.Parameter(torch.empty(config.max_len, d))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
        else:
            # Not persistent: rebuilt from the config, so it is not stored in checkpoints.
            self.register_buffer(
                "pos_embed", sinusoidal_positions(config.max_len, d), persistent=False
            )
        layer = nn.TransformerEncoderLayer(
            d_model=d,
            nhead=config.n_heads,
            dim_feedforward=config.hidden,
            dropout=config.mlp_dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, config.n_layers, norm=nn.LayerNorm(d), enable_nested_tensor=False
        )

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Encode tokens.

        Args:
            x: (B, L, d) embedded tokens, ``L <= max_len``.
            lengths: (B,) real lengths; positions ``>= lengths`` are masked as keys.

        Returns:
            (B, L, d) hidden states.
        """
        x, mask = self.positioned(x, lengths)
        return self.encoder(x, src_key_padding_mask=mask)

    def positioned(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """The encoder's input: ``x`` plus the position table, and the key padding mask.

        Raises:
            ValueError: ``x`` is longer than the position table.
        """
        seq_len = x.shape[1]
        if seq_len > self.max_len:
            raise ValueError(
                f"input has {seq_len} tokens but the transformer's position table holds "
                f"model.max_len={self.max_len}: raise model.max_len or crop the input"
            )
        x = x + self.pos_embed[:seq_len].to(x.dtype)
        mask = None if lengths is None else key_padding_mask(lengths.to(x.device), seq_len)
        return x, mask
