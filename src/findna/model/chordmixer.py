"""ChordMixer backbone (docs/method.md §1): blocks, layers and the stacked backbone.

Reading order: the block (``x + rotate(dropout(MLP(prenorm(x))))``), then a layer
(``ceil(log2 max_len)`` blocks) and the stacked backbone. There is no positional encoding: the
rotation (``findna.model.rotation``, a parameter-free permutation of tokens per channel track) is
circular, so in ``fixed`` mode the whole backbone is equivariant to circular shifts of the token
axis.

How the rotation is implemented is a setting of each backbone, not of the process:
``ChordMixer(config, rotation=...)`` or ``set_rotation`` on a built one (``auto`` = ``padded`` on
CUDA, the measured CPU choice on the CPU; ``reference`` = the CPU choice everywhere; ``gather`` /
``padded`` on every device; see ``findna.model.rotation.ROTATION_IMPLS``). It is not part of
``ModelConfig``: every implementation computes the same function with the same weights.
``ChordMixer.compile_blocks`` (opt-in) runs every block through one ``torch.compile``d function.
"""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor, nn

from findna.model.config import ModelConfig
from findna.model.rotation import (
    Rotate,
    check_rotation,
    inverse_permutation,
    length_aware_index,
    make_rotation,
    padded_width,
    roll_index_pair,
)


class ChordMixerMLP(nn.Module):
    """Linear(d -> h) -> GELU (exact) -> Dropout -> Linear(h -> d) -> the same Dropout."""

    def __init__(self, d: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x: Tensor) -> Tensor:
        """(..., d) -> (..., d)."""
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class ChordMixerBlock(nn.Module):
    """One block: ``x + rotate(layer_dropout(MLP(prenorm(x))))``; the residual is not rotated."""

    def __init__(
        self,
        d: int,
        hidden: int,
        mlp_dropout: float = 0.0,
        layer_dropout: float = 0.0,
        prenorm: str = "none",
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d) if prenorm == "layernorm" else nn.Identity()
        self.mlp = ChordMixerMLP(d, hidden, mlp_dropout)
        self.drop = nn.Dropout(layer_dropout) if layer_dropout > 0 else nn.Identity()

    def forward(self, x: Tensor, rotate: Rotate) -> Tensor:
        """(B, L, d) -> (B, L, d)."""
        return x + rotate(self.drop(self.mlp(self.norm(x))))


class ChordMixerLayer(nn.Module):
    """``n_blocks`` blocks with their own weights (one ChordMixer "encoder")."""

    def __init__(self, n_blocks: int, **block_kwargs: object) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ChordMixerBlock(**block_kwargs) for _ in range(n_blocks))

    def forward(self, x: Tensor, rotate: Rotate) -> Tensor:
        """(B, L, d) -> (B, L, d)."""
        for block in self.blocks:
            x = block(x, rotate)
        return x


class ChordMixer(nn.Module):
    """``n_layers`` ChordMixer layers of ``ceil(log2 max_len)`` blocks each.

    Parameter names are ``layers.{i}.blocks.{j}.mlp.fc{1,2}.{weight,bias}``: a network built for
    longer inputs has the same names plus extra blocks, so it can load a shorter one's weights
    by name (see ``findna.model.network.load_pretrained_backbone_``).

    Args:
        config: the architecture.
        rotation: how ``fixed`` mode rotates, one of ``findna.model.rotation.ROTATION_IMPLS``
            (``auto`` by default); not saved with the weights, change it with
            :meth:`set_rotation`.
    """

    def __init__(self, config: ModelConfig, rotation: str = "auto") -> None:
        super().__init__()
        self.track_size = config.track_size
        self.length_mode = config.length_mode
        self.rotation = check_rotation(rotation)
        block_kwargs = dict(
            d=config.width,
            hidden=config.hidden,
            mlp_dropout=config.mlp_dropout,
            layer_dropout=config.layer_dropout,
            prenorm=config.prenorm,
        )
        self.layers = nn.ModuleList(
            ChordMixerLayer(config.n_blocks_per_layer, **block_kwargs)
            for _ in range(config.n_layers)
        )
        self.plain_blocks = (
            config.mlp_dropout == 0 and config.layer_dropout == 0 and config.prenorm == "none"
        )
        self._compiled: Callable[..., Tensor] | None = None

    def set_rotation(self, rotation: str) -> None:
        """Use the rotation implementation ``rotation`` from now on (this backbone only)."""
        self.rotation = check_rotation(rotation)

    def compile_blocks(self, enable: bool = True, **compile_kwargs: object) -> bool:
        """Run every block through one ``torch.compile``d function (``findna.model.compiled``).

        Opt-in and not saved with the weights. Blocks with dropout or a pre-norm stay eager.
        Returns whether the compiled path is now on.
        """
        from findna.model.compiled import compiled_block

        self._compiled = compiled_block(**compile_kwargs) if enable and self.plain_blocks else None
        return self._compiled is not None

    def _rotation_indices(self, x: Tensor, lengths: Tensor | None, d: int) -> tuple[Tensor, Tensor]:
        _, seq_len, width = x.shape
        if self.length_mode == "fixed" or lengths is None:
            return roll_index_pair(seq_len, d, self.track_size, x.device, width)
        perm = length_aware_index(lengths.to(x.device), seq_len, d, self.track_size, width)
        return perm, inverse_permutation(perm)

    def _forward_functional(self, x: Tensor, lengths: Tensor | None, pad: int) -> Tensor:
        """Every block through ``block_forward`` (compiled or eager), channels padded by ``pad``."""
        from findna.model.compiled import block_forward

        fn = self._compiled or block_forward
        d = x.shape[-1]
        if pad:
            x = F.pad(x, (0, pad))
        index, inverse = self._rotation_indices(x, lengths, d)
        for layer in self.layers:
            for block in layer.blocks:
                fc1, fc2 = block.mlp.fc1, block.mlp.fc2
                x = fn(x, fc1.weight, fc1.bias, fc2.weight, fc2.bias, index, inverse, pad)
        return x[..., :d] if pad else x

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Mix tokens.

        Args:
            x: (B, L, d) embedded tokens. L may differ from ``max_len``; in ``fixed`` mode the
                rotation is modulo L.
            lengths: (B,) real lengths; used only in ``length_aware`` mode.

        Returns:
            (B, L, d) hidden states.
        """
        d = x.shape[-1]
        pad = padded_width(d, x.device, self.rotation) - d if self.plain_blocks else 0
        if self._compiled is not None or pad:
            return self._forward_functional(x, lengths, pad)
        rotate = make_rotation(
            self.length_mode, self.track_size, x.shape, lengths, x.device, self.rotation
        )
        for layer in self.layers:
            x = layer(x, rotate)
        return x
