"""How pretraining windows are drawn (``WindowConfig``). No torch: ``findna pretrain --help`` and
``findna config show pretrain`` read it; :mod:`findna.data.windows` draws the windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_REGION = re.compile(r"^(?P<name>[^:\s]+):(?P<start>[\d,]+)-(?P<end>[\d,]+)$")


@dataclass(frozen=True)
class WindowConfig:
    """How pretraining windows are drawn.

    Attributes:
        window_length: bases per window (L); the paper uses 1000.
        num_windows: dataset length; the paper uses 100,000 (train) and 10,000 (val).
        seed: windows are a pure function of ``(seed, split, index)``.
        chrom_sampling: ``"uniform"`` over records (paper's code) or ``"length"``-weighted.
        max_n_frac: windows with a larger fraction of N are redrawn; 1.0 keeps every window
            (the paper's code); findna's default 0.5 follows docs/method.md §4.
        max_resample: redraws allowed per item before giving up with an error.
        holdout_records: records kept out of training (the only val source with the region).
        holdout_region: an extra held-out region ``"name:start-end"`` (1-based, inclusive, as
            samtools); train windows never overlap it, val windows lie inside it.
        split: ``"train"`` or ``"val"``.
    """

    window_length: int = 1000
    num_windows: int = 100_000
    seed: int = 0
    chrom_sampling: Literal["uniform", "length"] = "uniform"
    max_n_frac: float = 0.5
    max_resample: int = 100
    holdout_records: tuple[str, ...] = ()
    holdout_region: str | None = None
    split: Literal["train", "val"] = "train"

    def __post_init__(self) -> None:
        if self.window_length < 1:
            raise ValueError(f"window_length must be >= 1, got {self.window_length}")
        if self.num_windows < 1:
            raise ValueError(f"num_windows must be >= 1, got {self.num_windows}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be in [0, 2**63), got {self.seed}")
        if self.chrom_sampling not in ("uniform", "length"):
            raise ValueError(
                f"chrom_sampling must be 'uniform' or 'length', got {self.chrom_sampling!r}"
            )
        if not 0.0 <= self.max_n_frac <= 1.0:
            raise ValueError(f"max_n_frac must be in [0, 1] (1 keeps all), got {self.max_n_frac}")
        if self.max_resample < 0:
            raise ValueError(f"max_resample must be >= 0, got {self.max_resample}")
        if self.split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {self.split!r}")
        if self.holdout_region is not None:
            parse_region(self.holdout_region)
        if self.split == "val" and not self.holdout_records and self.holdout_region is None:
            raise ValueError(
                "split='val' needs a held-out part: set holdout_records or holdout_region"
            )


def parse_region(region: str) -> tuple[str, int, int]:
    """Parse a samtools-style region, 1-based inclusive, into 0-based ``[start, end)``.

    ``"chr1:1,001-2,000"`` -> ``("chr1", 1000, 2000)``.
    """
    m = _REGION.match(region.strip())
    if not m:
        raise ValueError(f"holdout_region {region!r} must look like 'name:start-end' (1-based)")
    start, end = int(m["start"].replace(",", "")), int(m["end"].replace(",", ""))
    if not 1 <= start <= end:
        raise ValueError(f"holdout_region {region!r}: need 1 <= start <= end")
    return m["name"], start - 1, end


__all__ = ["WindowConfig", "parse_region"]
