"""Per-base repeat labels from soft-masked genomes: "is this base in an annotated repeat?".

Soft-masked FASTA files write repeats (RepeatMasker, TRF, DUST) in lower case. findna's encoder
reads lower case as upper case, so the case is a label the model cannot see; it is read here from
the raw bytes of each record (:attr:`findna.data.fasta.FastaRecord.raw`, case kept), never from
the encoded sequence. Class 0 is ``other`` (upper case), class 1 ``repeat`` (lower case).

The split never shares a stretch of genome across splits (:func:`repeat_windows`):

1. each record is cut into *regions* of ``region_bp`` bases (a record shorter than that is one
   region, so records of ``hg19_chr22_blocks.fa.gz``, at most 33 kb, are split by record);
2. each region is cut into non-overlapping windows of ``window`` bases from its start (its tail
   shorter than a window is not used); a window with more than ``max_n_fraction`` N is left
   out (the count is logged and returned);
3. the regions are shuffled with ``numpy.random.default_rng(seed)``; laid end to end in that
   order, a region whose middle falls in the first 70% of the windows goes to train, in the
   next 10% to validation, in the last 20% to test (the first region always to train, the last
   always to test, so no split is empty).

Every window lies inside one region and every region in one split, so no base, and no window,
is in two splits. Sequences are stored upper case: what the model reads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from findna.data.fasta import read_fasta
from findna.data.per_base import PerBaseSequences

log = logging.getLogger(__name__)

REPEAT_CLASSES = ("other", "repeat")
"""Class names of a repeat task: 0 upper case (not annotated), 1 lower case (annotated)."""
REGION_BP = 100_000
"""Bases per region, the unit the split assigns (a shorter record is one region)."""
MAX_N_FRACTION = 0.1
"""Windows holding a larger fraction of N are left out."""
FRACTIONS = (0.7, 0.1, 0.2)
"""Train, validation and test shares of the windows."""


@dataclass
class RepeatWindows:
    """Windows of a soft-masked genome with their regions.

    Attributes:
        windows: every kept window (sequence upper case, labels 1 = lower case in the file,
            id ``<record>:<start>-<end>``, 0-based half-open).
        region: (N,) int64 region index of each window.
        region_names: ``<record>:<start>-<end>`` of each region.
        dropped_n: windows left out for holding more than ``max_n_fraction`` N.
    """

    windows: PerBaseSequences
    region: np.ndarray
    region_names: list[str]
    dropped_n: int


def read_repeat_windows(
    path: str | Path,
    window: int,
    *,
    region_bp: int = REGION_BP,
    max_n_fraction: float = MAX_N_FRACTION,
) -> RepeatWindows:
    """Non-overlapping ``window``-bp windows of every region of a soft-masked FASTA.

    Returns:
        The windows in file order, each labelled by the case of its bases in the file.
    """
    if window < 1 or region_bp < window:
        raise ValueError(f"need 1 <= window <= region_bp, got window {window}, region {region_bp}")
    seqs, rows, ids, region, names, dropped = [], [], [], [], [], 0
    for record in read_fasta(path):
        upper = record.raw.upper().decode("ascii")
        mask = record.softmask().astype(np.int8)
        is_n = record.codes == 4
        for r_start in range(0, len(record), region_bp):
            r_end = min(r_start + region_bp, len(record))
            k = (r_end - r_start) // window  # whole windows of the region
            if k == 0:
                continue
            cut = slice(r_start, r_start + k * window)
            n_frac = is_n[cut].reshape(k, window).mean(axis=1)
            keep = np.flatnonzero(n_frac <= max_n_fraction)
            dropped += k - len(keep)
            if not len(keep):
                continue
            starts = r_start + keep * window
            seqs += [upper[a : a + window] for a in starts.tolist()]
            rows.append(mask[cut].reshape(k, window)[keep])
            ids += [f"{record.name}:{a}-{a + window}" for a in starts.tolist()]
            region += [len(names)] * len(keep)
            names.append(f"{record.name}:{r_start}-{r_end}")
    if not seqs:
        raise ValueError(
            f"{path}: no window of {window} bp (no record or region is that long, or every "
            f"window holds more than {max_n_fraction:.0%} N)"
        )
    labels = np.concatenate(rows)
    if dropped:
        log.info(
            "%s: %d windows left out (more than %.0f%% N)", path, dropped, 100 * max_n_fraction
        )
    return RepeatWindows(
        PerBaseSequences(seqs, labels, ids), np.asarray(region, np.int64), names, dropped
    )


def split_regions(region: np.ndarray, n_regions: int, seed: int) -> dict[str, np.ndarray]:
    """Window indices of train, val and test: regions shuffled by ``seed``, filled in turn.

    Args:
        region: (N,) region index of each window.
        n_regions: number of regions.
        seed: seeds ``numpy.random.default_rng``.

    Returns:
        ``{"train", "val", "test"}`` -> sorted int64 window indices; no region in two splits.

    Raises:
        ValueError: fewer than 3 regions (a split would be empty).
    """
    if n_regions < 3:
        raise ValueError(
            f"{n_regions} region(s): a split by region needs at least 3 (one per split)"
        )
    order = np.random.default_rng(seed).permutation(n_regions)
    per_region = np.bincount(region, minlength=n_regions)
    cum = np.cumsum(per_region[order]) / len(region)
    bounds = np.cumsum(FRACTIONS)[:2]
    which = np.searchsorted(bounds, cum - per_region[order] / len(region) / 2)
    # Each split gets at least one region.
    which[0], which[-1] = 0, 2
    if not (which == 1).any():
        which[len(which) // 2] = 1
    split_of = np.empty(n_regions, dtype=np.int64)
    split_of[order] = which
    return {
        name: np.flatnonzero(split_of[region] == k)
        for k, name in enumerate(("train", "val", "test"))
    }


def repeat_splits(
    path: str | Path, window: int, seed: int, *, region_bp: int = REGION_BP
) -> dict[str, PerBaseSequences]:
    """The train/val/test windows of a repeat task (see the module docstring)."""
    found = read_repeat_windows(path, window, region_bp=region_bp)
    parts = split_regions(found.region, len(found.region_names), seed)
    return {name: found.windows.subset(index) for name, index in parts.items()}


__all__ = [
    "FRACTIONS",
    "MAX_N_FRACTION",
    "REGION_BP",
    "REPEAT_CLASSES",
    "RepeatWindows",
    "read_repeat_windows",
    "repeat_splits",
    "split_regions",
]
