"""Frozen token states of a per-base split, cached on disk as a float16 memmap.

A per-base probe trains on one feature row per *base*: 20,000 windows of 500 bp are 10 million
rows, too many to hold in memory. :func:`token_store` streams the split through the frozen encoder
(:func:`findna.eval.features.iter_token_states`, ``batch_size`` sequences at a time) and writes
each sequence's (L_i, d) states into an ``.npy`` memmap of shape (sum L_i, d), float16; the head
is then trained by minibatches read from it (:mod:`findna.eval.per_base_probe`). Only one batch
of states is in memory at a time. The file is written under a temporary name and renamed when
complete, and reused when the same model, task, split and feature settings come again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from findna.config import config_to_dict
from findna.data.per_base import PerBaseSequences
from findna.eval.feature_config import FeatureConfig
from findna.eval.features import iter_token_states
from findna.model.network import FinDNANetwork

log = logging.getLogger(__name__)

STORE_VERSION = 1


@dataclass
class TokenStore:
    """One split's token states and labels, one row per base.

    Attributes:
        feats: (T, d) float16 states (a read-only memmap, or any array in tests).
        labels: (T,) int64 class of each row.
        offsets: (N + 1,) int64: sequence i's rows are ``offsets[i]:offsets[i + 1]``.
    """

    feats: np.ndarray
    labels: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    def rows(self, seqs: np.ndarray) -> np.ndarray:
        """Row indices of the tokens of sequences ``seqs`` (ascending when ``seqs`` is)."""
        starts, ends = self.offsets[seqs], self.offsets[seqs + 1]
        lens = ends - starts
        shift = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        return shift + np.arange(int(lens.sum()))

    def batch(self, seqs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(float32 (n, d) states, int64 (n,) labels) of the tokens of sequences ``seqs``."""
        idx = self.rows(np.sort(seqs))
        return np.asarray(self.feats[idx], dtype=np.float32), self.labels[idx]

    def moments(self, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean and std (ddof 0, float64) of all rows, read ``batch`` sequences at a
        time."""
        d = self.feats.shape[1]
        total, sq = np.zeros(d), np.zeros(d)
        for start in range(0, len(self), batch):
            x = self.batch(np.arange(start, min(start + batch, len(self))))[0].astype(np.float64)
            total += x.sum(axis=0)
            sq += (x * x).sum(axis=0)
        mean = total / self.n_tokens
        return mean, np.sqrt(np.maximum(sq / self.n_tokens - mean * mean, 0.0))


def flat_labels(part: PerBaseSequences) -> tuple[np.ndarray, np.ndarray]:
    """((T,) int64 labels of every base in order, (N + 1,) int64 offsets)."""
    lengths = part.lengths()
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    mask = np.arange(part.labels.shape[1])[None, :] < lengths[:, None]
    return part.labels[mask].astype(np.int64), offsets


def _key(net: FinDNANetwork, model_id: str, task: str, seed: int, split: str, part, cfg) -> str:
    digest = hashlib.sha256()
    for s in part.seqs:
        digest.update(s.encode())
        digest.update(b"\n")
    key = {
        "version": STORE_VERSION,
        "model_id": model_id,
        "model_config": config_to_dict(net.config),
        "task": task,
        "task_seed": seed,
        "split": split,
        "data_sha256": digest.hexdigest(),
        "precision": cfg.precision,
        "pad_to": cfg.pad_to,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def token_store(
    net: FinDNANetwork,
    model_id: str,
    task: str,
    seed: int,
    split: str,
    part: PerBaseSequences,
    cfg: FeatureConfig,
    folder: Path,
) -> tuple[TokenStore, float, bool]:
    """The token states of one split, read from or written to ``folder``.

    Args:
        net: the frozen encoder. model_id: its weights' id (part of the cache key).
        task, seed, split: the task name, its split seed and the split's name.
        part: the split's rows. cfg: batch size, precision, device of the extraction.
        folder: where the ``.npy`` memmap is kept.

    Returns:
        ``(store, seconds spent extracting (0 when read back), was_cached)``.
    """
    labels, offsets = flat_labels(part)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", task)
    path = Path(folder) / f"{safe}.{split}.{_key(net, model_id, task, seed, split, part, cfg)}"
    path = path.with_name(path.name + ".tokens.npy")
    if path.is_file():
        feats = np.load(path, mmap_mode="r")
        if feats.shape[0] == len(labels):
            log.info("%s %s: token states read from %s", task, split, path)
            return TokenStore(feats, labels, offsets), 0.0, True
        log.warning("%s holds %d rows, not %d; extracting again", path, len(feats), len(labels))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npy")
    start = time.perf_counter()
    out = np.lib.format.open_memmap(
        tmp, mode="w+", dtype=np.float16, shape=(len(labels), net.config.width)
    )
    for i, states in enumerate(iter_token_states(net, part.seqs, cfg)):
        out[offsets[i] : offsets[i + 1]] = states
    out.flush()
    del out
    os.replace(tmp, path)
    seconds = time.perf_counter() - start
    return TokenStore(np.load(path, mmap_mode="r"), labels, offsets), seconds, False


__all__ = ["TokenStore", "flat_labels", "token_store"]
