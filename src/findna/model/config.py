"""``ModelConfig``: the architecture of one FinDNA network (embedding, backbone, per-token head).

The defaults are the paper's pretraining network (docs/method.md §1.4 / 2.2): a linear
projector 5 -> 308, four ChordMixer layers of ceil(log2 1010) = 10 blocks each (d = 11 tracks x 28
channels, MLP hidden 512, no dropout, no normalisation) and a per-token linear head 308 -> 5.
``ModelConfig.paper()`` and ``ModelConfig.tiny()`` (and the ``PRESETS`` dict) name the presets.

The width is resolved once, when a config is made: ``d_model=None`` becomes the width tied to
``max_len`` (``tied_width``), so ``replace(cfg, max_len=...)`` keeps the architecture's width and
only the block count follows the new length (docs/method.md §5.1). To tie the width to a new
length, say so: ``replace(cfg, d_model=None, max_len=...)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Backbone = Literal["chordmixer", "transformer"]


def blocks_per_layer(max_len: int) -> int:
    """Number of ChordMixer blocks in one layer: ``ceil(log2 max_len)`` (0 for ``max_len`` 1)."""
    return math.ceil(math.log2(max_len)) if max_len > 1 else 0


def tied_width(max_len: int, track_size: int) -> int:
    """ChordMixer's width for ``max_len``: ``(ceil(log2 max_len) + 1) * track_size`` (308 for the
    paper's 1010 tokens and 28 channels per track)."""
    return (blocks_per_layer(max_len) + 1) * track_size


@dataclass
class ModelConfig:
    """Architecture of a ``FinDNANetwork``.

    Attributes:
        backbone: ``"chordmixer"`` (the paper) or ``"transformer"`` (the FinDNA-T comparison).
        in_channels: one-hot width of the input (A, C, G, T, N).
        out_channels: width of the per-token linear head (the MNM classes; the shared
            contrastive head uses the same output, as in the paper).
        track_size: channels per ChordMixer track; the last track is shorter when ``d_model``
            is not a multiple of it.
        d_model: channel width ``d``. ``None`` (when making a config) ties it to the length as
            ChordMixer does, ``(ceil(log2 max_len) + 1) * track_size`` (308 for the paper); the
            made config holds that number, so it is never None afterwards.
        hidden: MLP hidden width of a ChordMixer block; the feed-forward width of a
            transformer layer.
        n_layers: ChordMixer layers (each ``ceil(log2 max_len)`` blocks) or transformer layers.
        max_len: L_max, the longest input the network is built for (tokens, CLS included).
            Sets the blocks per ChordMixer layer and the transformer's position table size.
        mlp_dropout: dropout after the GELU and after the second linear of each MLP
            (transformer: the attention/feed-forward dropout).
        layer_dropout: element-wise dropout on a ChordMixer block's MLP branch before rotation.
        prenorm: normalisation before each ChordMixer MLP; FinDNA uses none.
        length_mode: ``"fixed"`` rotates modulo the padded tensor length (the paper);
            ``"length_aware"`` rotates each sequence modulo its own length, so padding never
            mixes into real positions (needs ``lengths`` at call time).
        n_heads: attention heads (transformer only; must divide ``d_model``).
        positional: position encoding of the transformer (ChordMixer has none).
        special_inputs: ``"zero"`` (the paper): CLS rows, the MNM mask token and padding are
            all the all-zero row, so the input layer gives them one vector; ``"distinct"``: a
            learned vector per kind is added (``findna.model.special_inputs``, issue 21).
        cls_rows: with ``special_inputs="distinct"``, the CLS rows appended after each sequence
            (the pretraining ``ssl.n_cls``); 0 otherwise.
    """

    backbone: Backbone = "chordmixer"
    in_channels: int = 5
    out_channels: int = 5
    track_size: int = 28
    d_model: int | None = None
    hidden: int = 512
    n_layers: int = 4
    max_len: int = 1010
    mlp_dropout: float = 0.0
    layer_dropout: float = 0.0
    prenorm: Literal["none", "layernorm"] = "none"
    length_mode: Literal["fixed", "length_aware"] = "fixed"
    n_heads: int = 4
    positional: Literal["learned", "sinusoidal"] = "learned"
    special_inputs: Literal["zero", "distinct"] = "zero"
    cls_rows: int = 0

    def __post_init__(self) -> None:
        for name, allowed in (
            ("backbone", ("chordmixer", "transformer")),
            ("prenorm", ("none", "layernorm")),
            ("length_mode", ("fixed", "length_aware")),
            ("positional", ("learned", "sinusoidal")),
            ("special_inputs", ("zero", "distinct")),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(
                    f"model.{name}={value!r} is not supported; use one of "
                    f"{', '.join(repr(a) for a in allowed)}"
                )
        for name in ("in_channels", "out_channels", "track_size", "hidden", "n_layers", "n_heads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"model.{name} must be a positive integer, got {value!r}")
        if not isinstance(self.max_len, int) or self.max_len < 2:
            raise ValueError(
                f"model.max_len must be an integer >= 2 (the longest input in tokens, CLS "
                f"included, e.g. 1010), got {self.max_len!r}"
            )
        if self.d_model is not None and (not isinstance(self.d_model, int) or self.d_model < 1):
            raise ValueError(
                f"model.d_model must be a positive integer or null (null ties it to max_len), "
                f"got {self.d_model!r}"
            )
        if not isinstance(self.cls_rows, int) or self.cls_rows < 0:
            raise ValueError(f"model.cls_rows must be an integer >= 0, got {self.cls_rows!r}")
        if self.special_inputs == "zero" and self.cls_rows:
            raise ValueError(
                f"model.cls_rows={self.cls_rows} is read only with model.special_inputs=distinct; "
                "set both, or drop model.cls_rows"
            )
        if self.d_model is None:
            self.d_model = tied_width(self.max_len, self.track_size)
        for name in ("mlp_dropout", "layer_dropout"):
            p = getattr(self, name)
            if not 0.0 <= p < 1.0:
                raise ValueError(f"model.{name} must be in [0, 1), got {p!r}")
        if self.backbone == "chordmixer" and self.width < self.track_size:
            raise ValueError(
                f"model.d_model={self.width} is smaller than model.track_size="
                f"{self.track_size}: lower track_size or raise d_model"
            )
        if self.backbone == "transformer" and self.width % self.n_heads:
            raise ValueError(
                f"model.d_model={self.width} is not divisible by model.n_heads={self.n_heads}: "
                f"pick n_heads among the divisors of {self.width} or set d_model explicitly"
            )

    @property
    def width(self) -> int:
        """The channel width ``d`` (``d_model``, resolved when the config was made)."""
        assert self.d_model is not None  # __post_init__ resolves it
        return self.d_model

    @property
    def n_tracks(self) -> int:
        """ChordMixer tracks: ``ceil(d / track_size)``."""
        return math.ceil(self.width / self.track_size)

    @property
    def n_blocks_per_layer(self) -> int:
        """ChordMixer blocks per layer: ``ceil(log2 max_len)``."""
        return blocks_per_layer(self.max_len)

    @classmethod
    def paper(cls, **changes: object) -> ModelConfig:
        """The paper's pretraining network: 12,651,873 parameters (d=308, h=512, 4 x 10 blocks)."""
        return cls(**changes)  # type: ignore[arg-type]

    @classmethod
    def tiny(cls, **changes: object) -> ModelConfig:
        """A CPU-sized network for tests and smoke runs.

        256 bp windows + 10 CLS = 266 tokens -> 9 blocks per layer, 10 tracks x 4 = 40 channels,
        hidden 32, 2 layers: 47,821 parameters.
        """
        # Made from the merged arguments, so that a changed max_len or track_size gives the tied
        # width of the new values (unless d_model is given).
        base: dict[str, object] = {"track_size": 4, "hidden": 32, "n_layers": 2, "max_len": 266}
        return cls(**{**base, **changes})  # type: ignore[arg-type]


PRESETS: dict[str, ModelConfig] = {"paper": ModelConfig.paper(), "tiny": ModelConfig.tiny()}
