"""Probe settings (``ProbeConfig``): the head, its optimisation, the features it reads."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from findna.eval.feature_config import FeatureConfig


@dataclass
class ProbeConfig:
    """Settings of a frozen-feature probe.

    Attributes:
        head: ``"linear"`` (the paper), ``"mlp"`` (Linear -> GELU -> Linear) or ``"knn"``.
        lrs: learning rates trained side by side; the best on validation is kept.
        epochs: passes over the train features.
        batch_size: feature rows per step (paper: 1024).
        weight_decay: AdamW weight decay (paper: 0.1).
        warmup_frac: linear warm-up fraction of the cosine schedule (paper: 0.3).
        mlp_hidden: hidden width of the ``mlp`` head.
        knn_k: neighbours of the ``knn`` head.
        standardize: z-score features with train-split statistics before the head.
        which: ``"teacher"`` (downstream default) or ``"student"``.
        length_mode: ChordMixer rotation of the task network (see ``load_encoder``).
        max_len: task network length in tokens (CLS included); None: the task's ``max_len`` (or
            its longest sequence, whichever is larger) plus the appended CLS tokens.
        depth: ChordMixer blocks per layer of a pretrained network: ``"length"`` (default) from
            the task's length, which drops pretrained blocks on shorter tasks; ``"pretrained"``
            every pretrained block whatever the task's length (``findna.model.depth``). The
            results' hyperparameters name it with the blocks used.
        head_threads: CPU threads that train a ``linear`` head (tiny: thread hand-offs cost more
            than the maths, 10x slower on a loaded 2-core machine); torch's thread count is set
            for the training loop only and restored. None: leave it as it is.
        features: pooling, reverse-complement averaging, batch size, precision, device.
    """

    head: Literal["linear", "mlp", "knn"] = "linear"
    lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    epochs: int = 50
    batch_size: int = 1024
    weight_decay: float = 0.1
    warmup_frac: float = 0.3
    mlp_hidden: int = 256
    knn_k: int = 5
    standardize: bool = True
    which: Literal["teacher", "student"] = "teacher"
    length_mode: Literal["fixed", "length_aware"] = "length_aware"
    max_len: int | None = None
    depth: Literal["length", "pretrained"] = "length"
    head_threads: int | None = 1
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def __post_init__(self) -> None:
        if self.head not in ("linear", "mlp", "knn"):
            raise ValueError(f"head must be linear, mlp or knn, got {self.head!r}")
        if not self.lrs or any(not (lr > 0 and math.isfinite(lr)) for lr in self.lrs):
            raise ValueError(f"lrs must be a non-empty list of positive numbers, got {self.lrs}")
        if len(set(self.lrs)) != len(self.lrs):
            raise ValueError(f"lrs has duplicates: {self.lrs}")
        for name in ("epochs", "batch_size", "mlp_hidden", "knn_k", "head_threads"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0.0 <= self.warmup_frac <= 1.0:
            raise ValueError(f"warmup_frac must lie in [0, 1], got {self.warmup_frac}")
        if self.depth not in ("length", "pretrained"):
            raise ValueError(f"probe.depth must be 'length' or 'pretrained', got {self.depth!r}")
        if self.max_len is not None and self.max_len < 1:
            raise ValueError(
                f"probe.max_len must be a positive number of tokens or null (null: the task's "
                f"length plus the CLS tokens), got {self.max_len}"
            )

    def lr_choice(
        self, best: int, val_metrics: Sequence[Mapping[str, float]], metric: str
    ) -> dict[str, Any]:
        """What a probe records of the learning rate it chose: ``lr`` (``lrs[best]``), the grid,
        the training settings and each learning rate's validation ``metric`` (``val_by_lr``)."""
        return {
            "lr": self.lrs[best],
            "lrs": list(self.lrs),
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "weight_decay": self.weight_decay,
            "warmup_frac": self.warmup_frac,
            "val_by_lr": {repr(lr): m[metric] for lr, m in zip(self.lrs, val_metrics, strict=True)},
        }


__all__ = ["ProbeConfig"]
