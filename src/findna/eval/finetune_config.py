"""Fine-tuning settings (``FinetuneConfig``) and the shipped presets ``configs/finetune/*.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from findna.config import Precision, config_from_dict, preset_path, read_preset
from findna.model.cls_rows import cls_rows, pooling_n_cls
from findna.model.pooling import CLS_POOLINGS, POOLINGS, Pooling

_POSITIVE = (
    "epochs",
    "batch_size",
    "eval_batch_size",
    "head_hidden",
    "n_cls",
    "track_size",
    "n_layers",
    "max_len",
)
"""Integer settings that must be positive when given (``n_cls`` may be 0)."""


@dataclass
class FinetuneConfig:
    """Settings of one fine-tuning run (defaults: the paper's GUE EMP setting, docs/method.md
    §5.3/5.6).

    Attributes:
        which: pretrained network to start from: ``teacher`` (the paper) or ``student``.
        pooling: one of :data:`findna.model.pooling.POOLINGS`: ``masked_mean`` (real tokens only;
            default), ``mean`` (all padded positions, the reference), ``cls`` or ``mean+cls``
            (CLS rows appended, see ``n_cls``).
        n_cls: CLS rows appended after each sequence for the CLS poolings; None: as many as
            the model was pretrained with (its ``ssl.n_cls``), else 10 (:meth:`for_source`).
        head: ``linear`` (the reference) or ``mlp``.
        head_hidden: the hidden width of the ``mlp`` head.
        epochs: passes over the training split.
        batch_size: sequences per optimiser step.
        eval_batch_size: sequences per forward pass when scoring val/test.
        lr: peak learning rate.
        weight_decay: AdamW decoupled weight decay.
        warmup_frac: linear warm-up share of all steps.
        num_cycles: cosine cycles after the warm-up.
        grad_clip: gradient-norm clipping (0 disables it).
        mlp_dropout: ChordMixer MLP dropout during fine-tuning (docs/method.md §5.5).
        layer_dropout: ChordMixer layer dropout during fine-tuning (docs/method.md §5.5).
        track_size: rebuild the encoder with this track size (the reference's per-task value);
            None keeps the pretrained one (findna's default; docs/method.md §7 row 19).
        n_layers: keep only the first ``n_layers`` layers (extra ones would start fresh); None
            keeps the pretrained count.
        length_mode: ``length_aware`` (default) or ``fixed`` (rotation modulo the padded length).
        max_len: the encoder's input length in tokens; None = the task's longest sequence (or
            its registered ``max_len`` if larger) plus the CLS rows.
        selection: ``best_val`` (best validation epoch by the task's primary metric) or ``last``.
        precision: ``auto`` (:func:`findna.precision.choose_precision`), ``32-true``,
            ``bf16-mixed``, ``16-mixed`` (with a gradient scaler); see
            :data:`findna.config.PRECISIONS`.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
    """

    which: Literal["teacher", "student"] = "teacher"
    pooling: Pooling = "masked_mean"
    n_cls: int | None = None
    head: Literal["linear", "mlp"] = "linear"
    head_hidden: int = 256
    epochs: int = 20
    batch_size: int = 32
    eval_batch_size: int = 128
    lr: float = 5e-4
    weight_decay: float = 0.1
    warmup_frac: float = 0.3
    num_cycles: float = 0.5
    grad_clip: float = 0.5
    mlp_dropout: float = 0.1
    layer_dropout: float = 0.1
    track_size: int | None = None
    n_layers: int | None = None
    length_mode: Literal["length_aware", "fixed"] = "length_aware"
    max_len: int | None = None
    selection: Literal["best_val", "last"] = "best_val"
    precision: Precision = "auto"
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"finetune.pooling must be one of {POOLINGS}, got {self.pooling!r}")
        for name in _POSITIVE:
            value = getattr(self, name)
            if value is not None and value < (0 if name == "n_cls" else 1):
                raise ValueError(f"finetune.{name} must be a positive integer, got {value}")
        if self.lr <= 0 or self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError(
                f"finetune: lr must be > 0 and weight_decay, grad_clip >= 0 "
                f"(got {self.lr}, {self.weight_decay}, {self.grad_clip})"
            )
        if not 0.0 <= self.warmup_frac <= 1.0:
            raise ValueError(f"finetune.warmup_frac must be in [0, 1], got {self.warmup_frac}")
        for name in ("mlp_dropout", "layer_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"finetune.{name} must be in [0, 1), got {getattr(self, name)}")
        if self.pooling in CLS_POOLINGS and self.n_cls is not None and self.n_cls < 1:
            raise ValueError(f"finetune.pooling {self.pooling!r} needs n_cls >= 1 (paper: 10)")

    @property
    def cls_tokens(self) -> int:
        """CLS rows actually appended (:func:`findna.model.cls_rows.cls_rows`)."""
        return cls_rows(self.pooling, self.n_cls)

    def for_source(self, source: str | Path, which: str) -> FinetuneConfig:
        """These settings for one model source: a CLS pooling with ``n_cls`` None gets the CLS
        rows the source was pretrained with (:func:`findna.model.cls_rows.source_n_cls`)."""
        return replace(self, n_cls=pooling_n_cls(self.pooling, self.n_cls, source, which))


def preset_settings(name: str) -> dict:
    """The settings the shipped fine-tuning preset ``configs/finetune/<name>.yaml`` changes."""
    return read_preset(preset_path("finetune", name))


def finetune_preset(name: str, **changes: object) -> FinetuneConfig:
    """``FinetuneConfig`` of the shipped preset ``name`` (e.g. ``tiny``, ``paper``), with changes.

    Raises:
        FileNotFoundError: no such preset (the message lists the shipped ones).
    """
    return config_from_dict(FinetuneConfig, {**preset_settings(name), **changes}, name)


__all__ = ["FinetuneConfig", "finetune_preset", "preset_settings"]
