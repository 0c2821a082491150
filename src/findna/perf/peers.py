"""Comparison models for ``findna bench compare``: a same-width SDPA Transformer and peer-class
masked language models built from ``transformers`` configs with random weights.

Nothing is downloaded: the peers are architectures, not checkpoints (``BertForMaskedLM`` sized like
DNABERT-2, about 117M parameters at L/4.5 BPE tokens per window; ``EsmForMaskedLM`` sized like
Nucleotide Transformer 500M at L/6 6-mer tokens). ``transformers`` is optional (``findna[bench]``);
:func:`peer_models` returns None without it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class SDPABlock(nn.Module):
    """Pre-norm encoder layer: attention through ``F.scaled_dot_product_attention``, GELU MLP."""

    def __init__(self, d: int, heads: int, ffn: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, ffn), nn.Linear(ffn, d)

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, d // self.heads).unbind(2)
        a = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class SDPATransformer(nn.Module):
    """One-hot (B, T, 5) -> (B, T, 5) logits, like ``FinDNANetwork`` but with attention blocks.

    No position encoding (it would not change the cost); ``d`` must be a multiple of ``heads``.
    """

    def __init__(self, d: int = 320, n_layers: int = 4, heads: int = 5, ffn: int = 1280) -> None:
        super().__init__()
        self.d, self.n_layers, self.ffn = d, n_layers, ffn
        self.embed, self.head = nn.Linear(5, d), nn.Linear(d, 5)
        self.blocks = nn.ModuleList(SDPABlock(d, heads, ffn) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d)

    def forward(self, x: Tensor) -> Tensor:
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))

    def forward_flops(self, batch: int, tokens: int) -> float:
        """Matmul FLOPs of one forward (projections, QK^T and AV, MLP, embed/head)."""
        d, t = self.d, tokens
        per_token = self.n_layers * (8 * d * d + 4 * t * d + 4 * d * self.ffn) + 2 * 2 * 5 * d
        return float(batch) * t * per_token


@dataclass
class PeerSpec:
    """A peer-class MLM: architecture sizes and tokens per 1 kb window."""

    name: str
    family: str  # "bert" or "esm"
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    bp_per_token: float

    def tokens(self, window_bp: int) -> int:
        return max(1, round(window_bp / self.bp_per_token))

    def forward_flops(self, batch: int, tokens: int) -> float:
        """Matmul FLOPs of one forward, the MLM decoder (d x vocab) included."""
        d, t = self.hidden, tokens
        per_token = self.layers * (8 * d * d + 4 * t * d + 4 * d * self.ffn) + 2 * d * self.vocab
        return float(batch) * t * per_token


PEERS = (
    PeerSpec("DNABERT-2-class BERT", "bert", 768, 12, 12, 3072, 4096, 4.5),
    PeerSpec("NT-500M-class ESM", "esm", 1280, 24, 20, 5120, 4107, 6.0),
)


def transformers_available() -> bool:
    """Whether the optional ``transformers`` package can be imported."""
    return importlib.util.find_spec("transformers") is not None


def build_peer(spec: PeerSpec, device: torch.device, max_positions: int = 1026) -> nn.Module:
    """A randomly initialised ``BertForMaskedLM`` / ``EsmForMaskedLM`` with SDPA attention."""
    import transformers as tf

    common = dict(
        vocab_size=spec.vocab,
        hidden_size=spec.hidden,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        intermediate_size=spec.ffn,
        max_position_embeddings=max_positions,
    )
    if spec.family == "bert":
        config = tf.BertConfig(**common)
        cls = tf.BertForMaskedLM
    else:
        config = tf.EsmConfig(
            **common,
            pad_token_id=1,
            mask_token_id=2,
            token_dropout=False,
            position_embedding_type="absolute",
        )
        cls = tf.EsmForMaskedLM
    config._attn_implementation = "sdpa"
    with torch.device(device):
        model = cls(config)
    return model.to(device).train()


def mlm_batch(
    spec: PeerSpec, batch: int, tokens: int, device: torch.device, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Random token ids (B, T) and MLM labels with 15% of positions to predict (-100 elsewhere)."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, spec.vocab, (batch, tokens), generator=gen)
    labels = torch.where(torch.rand(batch, tokens, generator=gen) < 0.15, ids, -100)
    return ids.to(device), labels.to(device)
