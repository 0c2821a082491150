"""How pooled features are computed (``FeatureConfig``). No torch: ``findna <command> --help`` and
``findna config show`` read these settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from findna.config import (
    DEPRECATED_PRECISIONS,
    check_device,
    normalize_precision,
)
from findna.model.cls_rows import cls_rows, pooling_n_cls
from findna.model.pooling import CLS_POOLINGS, POOLINGS, Pooling

_CACHE_PRECISION = {new: old for old, new in DEPRECATED_PRECISIONS.items()}
"""Cache keys spell ``32-true``/``bf16-mixed`` as before the names changed (``32``/``bf16``):
the computation is the same, so caches written then are still found."""


@dataclass
class FeatureConfig:
    """How pooled features are computed.

    Attributes:
        pooling: how token states become one vector per sequence. ``"masked_mean"`` (mean
            over real non-CLS tokens; findna's default, docs/method.md §5.2 and §7 row 18),
            ``"mean"`` (over all padded positions, the reference's decoder), ``"cls"`` (mean of
            the CLS outputs) or ``"mean+cls"`` (both, concatenated: width 2d); see
            :data:`findna.model.pooling.POOLINGS`.
        n_cls: CLS rows appended after each sequence when the pooling reads them; None: as
            many as the model was pretrained with (its ``ssl.n_cls``), else 10
            (:meth:`for_source`). Ignored (no CLS rows) for ``"mean"``/``"masked_mean"``.
        rc_average: average the features of each sequence and of its reverse complement.
        batch_size: sequences per forward pass (does not change the features).
        precision: numeric precision of the forward pass. ``"32-true"`` (float32, the
            default), ``"bf16-mixed"`` (bfloat16 autocast, meant for GPUs), ``"16-mixed"``
            (float16 autocast) or ``"auto"`` (:func:`findna.precision.choose_precision`); see
            :data:`findna.config.PRECISIONS`. The old spellings
            ``"32"`` and ``"bf16"`` are read as ``32-true`` and ``bf16-mixed`` with a warning.
            On the 2-core Xeon (AVX512-BF16) this was developed on, bf16 was slower: 4.3 vs 5.7
            sequences/s for the paper network on 500 bp (batch 32, median of 3), with relative
            feature differences of about 3e-3.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or
            ``"cuda:N"``. The network is moved there.
        pad_to: the fixed padded length (tokens, CLS included) used for ``"mean"`` pooling and
            for ``fixed``-mode ChordMixers; None uses the network's ``max_len``.
    """

    pooling: Pooling = "masked_mean"
    n_cls: int | None = None
    rc_average: bool = False
    batch_size: int = 64
    precision: str = "32-true"
    device: str = "auto"
    pad_to: int | None = None

    def __post_init__(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.n_cls is not None and self.pooling in CLS_POOLINGS and self.n_cls < 1:
            raise ValueError(f"pooling {self.pooling!r} needs n_cls >= 1, got {self.n_cls}")
        if self.n_cls is not None and self.n_cls < 0:
            raise ValueError(f"n_cls must be >= 0, got {self.n_cls}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        self.precision = normalize_precision(self.precision)
        if self.pad_to is not None and self.pad_to < 1:
            raise ValueError(f"pad_to must be a positive integer or null, got {self.pad_to}")
        check_device(self.device)

    @property
    def cls_tokens(self) -> int:
        """CLS rows actually appended (:func:`findna.model.cls_rows.cls_rows`)."""
        return cls_rows(self.pooling, self.n_cls)

    def for_source(self, source: str | Path, which: str) -> FeatureConfig:
        """These settings for one model source: a CLS pooling with ``n_cls`` None gets the CLS
        rows the source was pretrained with (:func:`findna.model.cls_rows.source_n_cls`)."""
        return replace(self, n_cls=pooling_n_cls(self.pooling, self.n_cls, source, which))

    def value_key(self) -> dict[str, Any]:
        """The settings that change feature values (for cache keys; not batch size or device).

        ``auto`` precision is keyed by the precision it resolves to on ``device``.
        """
        from findna.devices import resolve_device  # torch: only when a key is made

        precision = resolve_precision(self.precision, resolve_device(self.device))
        return {
            "pooling": self.pooling,
            "cls_tokens": self.cls_tokens,
            "rc_average": self.rc_average,
            "precision": _CACHE_PRECISION.get(precision, precision),
            "pad_to": self.pad_to,
        }


def resolve_precision(precision: str, device: Any) -> str:
    """``auto`` -> what :func:`findna.precision.choose_precision` picks on ``device`` (bf16 on
    CUDA; on a CPU bf16 where it has AMX or measured faster, else float32); other names as
    given. ``device`` is a ``torch.device`` (only its ``type`` is read)."""
    from findna.precision import resolve_precision as resolve  # the one home of the choice

    return resolve(precision, device)


__all__ = ["FeatureConfig", "resolve_precision"]
