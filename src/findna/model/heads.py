"""Heads on top of backbone hidden states: pooling, classification and the DINO projection head.

Token layout assumed by ``pool``: each sequence holds ``lengths[b]`` real tokens (all of the L
positions when ``lengths`` is None), of which the **last** ``n_cls`` are CLS tokens (FinDNA
appends its K = 10 CLS tokens at the end, docs/method.md §2.3); positions ``>= lengths[b]``
are padding.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from findna.model.pooling import CLS_POOLINGS, POOLINGS, Pooling


def pooled_dim(d: int, mode: Pooling) -> int:
    """Width of ``pool``'s output for hidden width ``d``."""
    if mode not in POOLINGS:
        raise ValueError(f"unknown pooling {mode!r}; choose one of {', '.join(POOLINGS)}")
    return 2 * d if mode == "mean+cls" else d


def _token_masks(hidden: Tensor, lengths: Tensor | None, n_cls: int) -> tuple[Tensor, Tensor]:
    """(B, L) float masks of the sequence tokens and of the CLS tokens."""
    batch, seq_len, _ = hidden.shape
    if lengths is None:
        lengths = torch.full((batch,), seq_len, device=hidden.device)
    lengths = lengths.to(hidden.device)[:, None]
    pos = torch.arange(seq_len, device=hidden.device)[None, :]
    seq_mask = pos < lengths - n_cls  # (B, L)
    cls_mask = (pos >= lengths - n_cls) & (pos < lengths)
    return seq_mask.to(hidden.dtype), cls_mask.to(hidden.dtype)


def _masked_mean(hidden: Tensor, mask: Tensor, what: str) -> Tensor:
    counts = mask.sum(dim=1, keepdim=True)  # (B, 1)
    if bool((counts == 0).any()):
        raise ValueError(f"a sequence has no {what} tokens to pool; check lengths and n_cls")
    return torch.einsum("bld,bl->bd", hidden, mask) / counts


def pool(
    hidden: Tensor,
    lengths: Tensor | None = None,
    mode: Pooling = "masked_mean",
    n_cls: int = 0,
) -> Tensor:
    """Pool token states into one vector per sequence.

    Args:
        hidden: (B, L, d) backbone outputs.
        lengths: (B,) real lengths including the CLS tokens; None means no padding.
        mode: ``"mean"``: mean over all L positions, padding and CLS included (the reference
            fine-tuning decoder); ``"masked_mean"``: mean over the real non-CLS tokens;
            ``"cls"``: mean of the ``n_cls`` CLS outputs (averaged, not flattened, so the width
            stays d); ``"mean+cls"``: ``[masked_mean, cls]`` concatenated.
        n_cls: number of CLS tokens at the end of each real sequence.

    Returns:
        (B, d), or (B, 2d) for ``"mean+cls"``.
    """
    pooled_dim(hidden.shape[-1], mode)  # validates the mode
    if n_cls < 0:
        raise ValueError(f"n_cls must be >= 0, got {n_cls}")
    if mode == "mean":
        return hidden.mean(dim=1)
    if mode in CLS_POOLINGS and n_cls == 0:
        raise ValueError(f"pooling {mode!r} needs n_cls >= 1 CLS tokens at the end of the input")
    seq_mask, cls_mask = _token_masks(hidden, lengths, n_cls)
    if mode == "masked_mean":
        return _masked_mean(hidden, seq_mask, "sequence")
    cls = _masked_mean(hidden, cls_mask, "CLS")
    if mode == "cls":
        return cls
    return torch.cat([_masked_mean(hidden, seq_mask, "sequence"), cls], dim=-1)


class ClassificationHead(nn.Module):
    """Pooled features -> class logits.

    Args:
        d: input width (``pooled_dim`` of the pooling in use).
        n_classes: number of classes.
        kind: ``"linear"`` (Xavier-uniform weight, zero bias, as the reference classifiers) or
            ``"mlp"`` (Linear -> GELU -> Dropout -> Linear).
        hidden: hidden width of the ``mlp`` kind.
        dropout: dropout of the ``mlp`` kind.
    """

    def __init__(
        self,
        d: int,
        n_classes: int,
        kind: Literal["linear", "mlp"] = "linear",
        hidden: int = 256,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if n_classes < 1:
            raise ValueError(f"n_classes must be >= 1, got {n_classes}")
        if kind == "linear":
            self.net: nn.Module = nn.Linear(d, n_classes)
        elif kind == "mlp":
            self.net = nn.Sequential(
                nn.Linear(d, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, n_classes)
            )
        else:
            raise ValueError(f"unknown head kind {kind!r}; choose 'linear' or 'mlp'")
        for module in self.net.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, features: Tensor) -> Tensor:
        """(B, d) -> (B, n_classes) logits."""
        return self.net(features)


class ProjectionHead(nn.Module):
    """DINO-style projection: MLP d -> hidden -> bottleneck, L2-normalise, weight-normed linear.

    Args:
        d: input width.
        out_dim: prototypes (output logits).
        hidden: MLP hidden width.
        bottleneck: width before the normalised last layer.
        n_layers: linear layers of the MLP (>= 1; 1 means Linear(d -> bottleneck)).
        norm_last_layer: freeze the weight-norm gain at 1 (DINO's default), so only the
            direction of each prototype is learned.

    Works token-wise: any leading shape (..., d) -> (..., out_dim).
    """

    def __init__(
        self,
        d: int,
        out_dim: int,
        hidden: int = 2048,
        bottleneck: int = 256,
        n_layers: int = 3,
        norm_last_layer: bool = True,
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"ProjectionHead n_layers must be >= 1, got {n_layers}")
        dims = [d] + [hidden] * (n_layers - 1) + [bottleneck]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < n_layers - 1:
                layers.append(nn.GELU())
        self.mlp = nn.Sequential(*layers)
        for module in self.mlp.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
        self.last_layer = nn.utils.parametrizations.weight_norm(
            nn.Linear(bottleneck, out_dim, bias=False)
        )
        gain = self.last_layer.parametrizations.weight.original0
        with torch.no_grad():
            gain.fill_(1.0)
        gain.requires_grad_(not norm_last_layer)

    def forward(self, x: Tensor) -> Tensor:
        """(..., d) -> (..., out_dim)."""
        z = F.normalize(self.mlp(x), dim=-1, p=2)
        return self.last_layer(z)
