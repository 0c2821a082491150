"""Pretraining windows sampled from a prepared genome, deterministic by ``(seed, index)``.

Sampling (docs/method.md §4; the paper's code with the recommended N filter):

1. a record is chosen uniformly among the eligible records (``chrom_sampling="uniform"``, the
   paper's code: uniform over chromosome names) or in proportion to its number of valid starts
   (``"length"``);
2. a start is chosen uniformly among the record's valid starts, so the window lies wholly inside
   the record and outside the held-out part (the paper's code instead drew starts in
   ``[1, length]`` and dropped windows that ran off the end);
3. the window is read on the forward strand; a window whose N fraction exceeds ``max_n_frac`` is
   replaced by the draw of the next *attempt* (up to ``max_resample`` times), so resampling is
   deterministic too. N counts come from the genome's N-run index, not from the sequence.

Every random number is a splitmix64 hash of ``(seed, split, index, attempt)`` computed in
vectorised numpy uint64, so item ``i`` is the same window whatever the worker, rank, batch or
order, and two datasets with the same settings agree: the set of windows is a function of
``(seed, split, index)`` only (as in the paper's fixed 100k-window file). Which indices are drawn
at each step, and in what order, is decided by the batch sampler, not by this dataset: pretraining
uses :class:`findna.train.sampling.StepBatchSampler` with Lightning's
``use_distributed_sampler=False`` (no ``DistributedSampler``, also under DDP). It shuffles the
indices per data epoch from ``(seed, epoch)`` and gives each rank its own slice of each step's
global batch, so the order is a function of the optimizer step.

Items are ``torch.uint8`` code tensors of shape (L,) (A=0 C=1 G=2 T=3 N=4); convert with
:func:`findna.data.alphabet.one_hot` (float) or ``.long()`` (embedding indices) on the batch.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch.utils.data import Dataset

from findna.data.genome import PreparedGenome
from findna.data.window_config import WindowConfig, parse_region

log = logging.getLogger(__name__)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SPLIT_SALT = {"train": np.uint64(0x5EED0001), "val": np.uint64(0x5EED0002)}


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on a uint64 array (a bijective, well-mixed hash)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def uniform01(key: np.ndarray, stream: int) -> np.ndarray:
    """Floats in [0, 1) from uint64 keys: 53 high bits of ``splitmix64(key + stream * golden)``."""
    with np.errstate(over="ignore"):
        h = splitmix64(key + np.uint64(stream) * _GOLDEN)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


class GenomeWindows(Dataset):
    """Map-style dataset of fixed-length genome windows; item ``i`` is a pure function of
    ``(cfg.seed, cfg.split, i)``.

    Args:
        genome: from :func:`findna.data.genome.load_genome`.
        cfg: the sampling settings.

    Raises:
        ValueError: unknown held-out record/region, or no record long enough for one window.
    """

    def __init__(self, genome: PreparedGenome, cfg: WindowConfig) -> None:
        self.genome = genome
        self.cfg = cfg
        segments = self._segments()  # (record index, genome offset, number of starts)
        if not segments:
            longest = max((r.length for r in genome.records), default=0)
            raise ValueError(
                f"{genome.root}: genome shorter than one window for split '{cfg.split}': no "
                f"eligible record or region holds window_length={cfg.window_length} bases "
                f"(longest record: {longest} bp). Lower window_length or change the holdout."
            )
        rec_ids = np.array([s[0] for s in segments])
        self._seg_offset = np.array([s[1] for s in segments], dtype=np.int64)
        n_starts = np.array([s[2] for s in segments], dtype=np.int64)
        self._seg_cum = np.concatenate(([0], np.cumsum(n_starts)))  # global start space
        # Records as contiguous ranges of the global start space.
        first = np.flatnonzero(np.r_[True, rec_ids[1:] != rec_ids[:-1]])
        self._rec_lo = self._seg_cum[first]
        self._rec_n = np.add.reduceat(n_starts, first)
        self.record_names = tuple(genome.records[i].name for i in rec_ids[first])
        self._n_starts, self._n_cum = self._n_run_index()
        self._view = sliding_window_view(genome.codes, cfg.window_length)
        self._key_base = splitmix64(np.uint64(cfg.seed) ^ _SPLIT_SALT[cfg.split])

    def __getstate__(self) -> dict:
        # The window view would pickle as a full copy of the genome; workers rebuild it instead.
        state = self.__dict__.copy()
        del state["_view"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._view = sliding_window_view(self.genome.codes, self.cfg.window_length)

    def _segments(self) -> list[tuple[int, int, int]]:
        cfg, length = self.cfg, self.cfg.window_length
        names = set(self.genome.names)
        for name in cfg.holdout_records:
            if name not in names:
                self.genome.record(name)  # raises with the list of names
        region = parse_region(cfg.holdout_region) if cfg.holdout_region else None
        if region is not None:
            rec = self.genome.record(region[0])
            if region[2] > rec.length:
                raise ValueError(
                    f"holdout_region {cfg.holdout_region!r} ends after record '{rec.name}' "
                    f"({rec.length} bp)"
                )
        segments = []
        for i, rec in enumerate(self.genome.records):
            held = rec.name in cfg.holdout_records
            if cfg.split == "val":
                parts = [(0, rec.length)] if held else []
                if region and region[0] == rec.name and not held:
                    parts = [(region[1], region[2])]
            else:
                parts = [] if held else [(0, rec.length)]
                if region and region[0] == rec.name and not held:
                    parts = [(0, region[1]), (region[2], rec.length)]
            for a, b in parts:
                if b - a >= length:
                    segments.append((i, rec.offset + a, b - a - length + 1))
        return segments

    def _n_run_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted absolute N-run starts/ends and the cumulative N count before each run."""
        runs = [
            (rec.offset + a, rec.offset + b) for rec in self.genome.records for a, b in rec.n_runs
        ]
        arr = np.array(runs, dtype=np.int64).reshape(-1, 2)
        return arr, np.concatenate(([0], np.cumsum(arr[:, 1] - arr[:, 0])))

    def _n_before(self, pos: np.ndarray) -> np.ndarray:
        """Number of N bases in ``codes[:pos]`` for each absolute position."""
        runs, cum = self._n_starts, self._n_cum
        i = np.searchsorted(runs[:, 0], pos, side="right")  # runs starting before pos
        partial = np.zeros_like(pos)
        has = i > 0
        j = i[has] - 1
        partial[has] = np.minimum(pos[has], runs[j, 1]) - runs[j, 0]
        return cum[np.maximum(i - 1, 0)] * has + partial

    def n_fraction(self, starts: np.ndarray) -> np.ndarray:
        """(B,) fraction of N in the windows that start at absolute offsets ``starts``."""
        length = self.cfg.window_length
        return (self._n_before(starts + length) - self._n_before(starts)) / length

    def _draw(self, key: np.ndarray, attempt: int) -> np.ndarray:
        u_rec, u_pos = uniform01(key, 2 * attempt + 1), uniform01(key, 2 * attempt + 2)
        if self.cfg.chrom_sampling == "uniform":
            rec = np.minimum((u_rec * len(self._rec_n)).astype(np.int64), len(self._rec_n) - 1)
            k = self._rec_lo[rec] + np.minimum(
                (u_pos * self._rec_n[rec]).astype(np.int64), self._rec_n[rec] - 1
            )
        else:
            total = int(self._seg_cum[-1])
            k = np.minimum((u_pos * total).astype(np.int64), total - 1)
        seg = np.searchsorted(self._seg_cum, k, side="right") - 1
        return self._seg_offset[seg] + (k - self._seg_cum[seg])

    def starts(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """(B,) int64 absolute offsets into ``genome.codes`` of the windows for ``indices``."""
        idx = np.asarray(indices, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.cfg.num_windows):
            raise IndexError(f"window index out of range [0, {self.cfg.num_windows})")
        with np.errstate(over="ignore"):
            key = splitmix64(self._key_base ^ idx.astype(np.uint64))
        pos = self._draw(key, 0)
        todo = np.flatnonzero(self.n_fraction(pos) > self.cfg.max_n_frac)
        for attempt in range(1, self.cfg.max_resample + 1):
            if todo.size == 0:
                break
            pos[todo] = self._draw(key[todo], attempt)
            todo = todo[self.n_fraction(pos[todo]) > self.cfg.max_n_frac]
        if todo.size:
            raise ValueError(
                f"window {int(idx[todo[0]])}: still more than max_n_frac={self.cfg.max_n_frac} N "
                f"after max_resample={self.cfg.max_resample} redraws; the eligible part of "
                f"{self.genome.root} is mostly N. Raise max_n_frac or max_resample."
            )
        return pos

    def fetch(self, indices: np.ndarray | list[int]) -> np.ndarray:
        """(B, L) uint8 codes of the windows for ``indices`` (one fancy-indexed gather)."""
        return self._view[self.starts(indices)]

    def __len__(self) -> int:
        return self.cfg.num_windows

    def __getitem__(self, index: int) -> torch.Tensor:
        """(L,) uint8 codes of window ``index``."""
        return torch.from_numpy(self.fetch([index])[0])

    def __getitems__(self, indices: list[int]) -> list[torch.Tensor]:
        """A batch at once (torch DataLoader calls this): B views of one (B, L) uint8 array."""
        return list(torch.from_numpy(self.fetch(indices)).unbind(0))
