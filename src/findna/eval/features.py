"""Frozen-feature extraction: DNA strings -> one pooled vector per sequence.

Sequences are encoded (:func:`findna.data.alphabet.encode`), ``n_cls`` all-zero CLS rows are
appended after each sequence's real tokens when the pooling reads them, and a batch is
right-padded with all-zero rows to its longest member. The network runs with ``lengths``, so in
``length_aware`` mode (ChordMixer) or with key masking (transformer) a sequence's features do not
depend on the other sequences of its batch. Two cases average over padding or mix it in and are
therefore padded to one fixed length instead (``FeatureConfig.pad_to``, default the network's
``max_len``), as the reference does: ``"mean"`` pooling, and a ChordMixer in ``fixed`` mode.

Within a chunk, sequences are sorted by length before batching (less padding) and the original
order is restored. :func:`iter_feature_chunks` streams any iterable in bounded memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from findna.config import (
    config_to_dict,
)
from findna.data.alphabet import one_hot, reverse_complement_codes
from findna.devices import resolve_device
from findna.eval.feature_config import FeatureConfig, resolve_precision
from findna.model.heads import pool, pooled_dim
from findna.model.inputs import (
    fixed_pad_length,
    pad_codes,
    to_codes,
)
from findna.model.network import FinDNANetwork

if TYPE_CHECKING:
    from findna.data.tasks import TaskData

log = logging.getLogger(__name__)

CACHE_VERSION = 1
SIZE_HINT = (
    "findna embed: leave --max-len out or give --max-len {n}; Python: findna.embed(source, "
    "seqs) sizes the network for its inputs, or build it with findna.load_model(source, "
    "max_len={n})"
)
"""How to build a network for longer inputs, in a refusal (docs/reliability.md)."""


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of a precision name (see :data:`findna.config.PRECISIONS`)."""
    precision = resolve_precision(precision, device)
    if precision == "32-true":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16-mixed" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def feature_dim(net: FinDNANetwork, cfg: FeatureConfig) -> int:
    """Width D of the features ``net`` gives under ``cfg``."""
    return pooled_dim(net.config.width, cfg.pooling)


@torch.inference_mode()
def _forward_pooled(
    net: FinDNANetwork, codes: list[np.ndarray], cfg: FeatureConfig, pad: int | None
) -> np.ndarray:
    """(B, D) float32 pooled features of one batch."""
    device = next(net.parameters()).device
    padded, lengths = pad_codes(codes, cfg.cls_tokens, pad)
    x = one_hot(torch.from_numpy(padded).to(device))
    lens = torch.from_numpy(lengths).to(device)
    with autocast(device, cfg.precision):
        hidden = net.encode(x, lens)
    return pool(hidden.float(), lens, cfg.pooling, cfg.cls_tokens).cpu().numpy()


def _features_of(
    net: FinDNANetwork, codes: list[np.ndarray], cfg: FeatureConfig, pad: int | None
) -> np.ndarray:
    feats = _forward_pooled(net, codes, cfg, pad)
    if cfg.rc_average:
        rc = [np.ascontiguousarray(reverse_complement_codes(c)) for c in codes]
        feats = 0.5 * (feats + _forward_pooled(net, rc, cfg, pad))
    return feats.astype(np.float32, copy=False)


def _chunk_features(
    net: FinDNANetwork, codes: list[np.ndarray], cfg: FeatureConfig, bar: tqdm
) -> np.ndarray:
    """(n, D) features of one chunk: sorted by length for batching, returned in input order."""
    pad = fixed_pad_length(net, cfg.pooling, cfg.pad_to)
    lengths = np.fromiter(map(len, codes), np.int64, len(codes))
    longest = int(lengths.max()) + cfg.cls_tokens
    if pad is None and longest > net.config.max_len:
        raise ValueError(
            f"a sequence of {longest - cfg.cls_tokens} bp (+{cfg.cls_tokens} CLS) is longer than "
            f"the {net.config.max_len} tokens the network was built for; its "
            f"{net.config.n_blocks_per_layer} blocks per layer would not mix the whole sequence. "
            f"Build it for the inputs: max_len >= {longest} ({SIZE_HINT.format(n=longest)})"
        )
    order = np.argsort(lengths, kind="stable")
    out = np.empty((len(codes), feature_dim(net, cfg)), dtype=np.float32)
    for start in range(0, len(order), cfg.batch_size):
        idx = order[start : start + cfg.batch_size]
        out[idx] = _features_of(net, [codes[i] for i in idx], cfg, pad)
        bar.update(len(idx))
    return out


def iter_feature_chunks(
    net: FinDNANetwork,
    seqs_iterable: Iterable[str | np.ndarray],
    cfg: FeatureConfig,
    chunk_size: int = 4096,
    *,
    progress: bool = False,
    total: int | None = None,
) -> Iterator[np.ndarray]:
    """Features of a stream of sequences, ``chunk_size`` sequences at a time.

    Only one chunk of sequences and its features are held at once. The features of a sequence
    do not depend on the chunk or batch it falls in (up to float rounding).

    Args:
        net: the encoder (moved to ``cfg.device``, run in eval mode, its mode restored after).
        seqs_iterable: DNA strings or (L,) uint8 code arrays (A=0 C=1 G=2 T=3 N=4).
        cfg: pooling and batching.
        chunk_size: sequences per yielded block.
        progress: show a tqdm bar on stderr.
        total: number of sequences, for the progress bar only.

    Yields:
        (n, D) float32 arrays, n = ``chunk_size`` except for the last chunk.

    Raises:
        ValueError: an empty sequence or an invalid character, naming the 0-based sequence index.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    was_training = net.training
    net.to(resolve_device(cfg.device)).eval()
    items = iter(seqs_iterable)
    bar = tqdm(total=total, unit="seq", disable=not progress, file=sys.stderr, desc="features")
    try:
        for start in itertools.count(0, chunk_size):
            block = list(itertools.islice(items, chunk_size))
            if not block:
                break
            codes = [to_codes(item, start + i) for i, item in enumerate(block)]
            yield _chunk_features(net, codes, cfg, bar)
    finally:
        bar.close()
        net.train(was_training)


def extract_features(
    net: FinDNANetwork,
    seqs: list[str] | list[np.ndarray],
    cfg: FeatureConfig,
    *,
    progress: bool = False,
    chunk_size: int = 65536,
) -> np.ndarray:
    """Pooled features of a list of sequences.

    Args:
        net: the encoder (see :func:`iter_feature_chunks`).
        seqs: N DNA strings (any lengths, N allowed) or uint8 code arrays.
        cfg: pooling and batching.
        progress: show a tqdm bar on stderr.
        chunk_size: sequences sorted together; bounds the memory of the encoded chunk.

    Returns:
        (N, D) float32, D = d (or 2d for ``"mean+cls"``); (0, D) for an empty list.
    """
    chunks = list(
        iter_feature_chunks(net, seqs, cfg, chunk_size, progress=progress, total=len(seqs))
    )
    if not chunks:
        return np.zeros((0, feature_dim(net, cfg)), dtype=np.float32)
    return np.concatenate(chunks, axis=0)


@torch.inference_mode()
def iter_token_states(
    net: FinDNANetwork, seqs_iterable: Iterable[str | np.ndarray], cfg: FeatureConfig
) -> Iterator[np.ndarray]:
    """Per-token hidden states of each sequence, in input order: (L_i, d) float32 arrays of the
    real tokens (no CLS rows, no padding), computed ``cfg.batch_size`` sequences at a time.

    In the network's length-aware mode (the downstream default) a sequence's states do not depend
    on its batch; a fixed-mode network pads every batch to its ``max_len``. ``cfg.pooling`` and
    ``cfg.rc_average`` do not apply (the reverse complement's tokens run the other way).
    """
    was_training = net.training
    device = resolve_device(cfg.device)
    net.to(device).eval()
    pad = fixed_pad_length(net, "masked_mean", cfg.pad_to)
    items = enumerate(iter(seqs_iterable))
    try:
        while batch := list(itertools.islice(items, cfg.batch_size)):
            codes = [to_codes(item, i) for i, item in batch]
            longest = max(map(len, codes))
            if pad is None and longest > net.config.max_len:
                raise ValueError(
                    f"a sequence of {longest} bp is longer than the {net.config.max_len} tokens "
                    f"the network was built for; build it with max_len >= {longest} "
                    f"({SIZE_HINT.format(n=longest)})"
                )
            padded, lengths = pad_codes(codes, 0, pad)
            x = one_hot(torch.from_numpy(padded).to(device))
            with autocast(device, cfg.precision):
                hidden = net.encode(x, torch.from_numpy(lengths).to(device)).float().cpu()
            for row, n in enumerate(lengths.tolist()):
                yield hidden[row, :n].numpy().astype(np.float32, copy=True)
    finally:
        net.train(was_training)


def _data_digest(seqs: list[str]) -> str:
    digest = hashlib.sha256()
    for s in seqs:
        digest.update(s.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def cached_features(
    net: FinDNANetwork,
    model_id: str,
    task: TaskData,
    split: str,
    cfg: FeatureConfig,
    cache_dir: Path | None,
    *,
    progress: bool = False,
) -> tuple[np.ndarray, float, bool]:
    """Features of one split, read from or written to ``cache_dir``.

    The cache key hashes the model id, the network config, the task name and split seed, the
    split's sequences and the value-changing feature settings.

    Returns:
        ``(features (N, D) float32, seconds spent extracting (0 when cached), was_cached)``.
    """
    seqs = task.splits()[split].seqs
    key_data = {
        "version": CACHE_VERSION,
        "model_id": model_id,
        "model_config": config_to_dict(net.config),
        "task": task.spec.name,
        "task_seed": task.seed,
        "split": split,
        "data_sha256": _data_digest(seqs),
        "features": cfg.value_key(),
    }
    key = hashlib.sha256(json.dumps(key_data, sort_keys=True).encode()).hexdigest()
    path = None
    if cache_dir is not None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", task.spec.name)
        path = Path(cache_dir) / f"{safe}.{split}.{key[:24]}.npy"
        if path.is_file():
            feats = np.load(path)
            if feats.shape[0] == len(seqs):
                log.info("%s %s: features read from %s", task.spec.name, split, path)
                return feats, 0.0, True
            log.warning("%s holds %d rows, not %d; extracting again", path, len(feats), len(seqs))
    start = time.perf_counter()
    feats = extract_features(net, seqs, cfg, progress=progress)
    seconds = time.perf_counter() - start
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}.npy")
        np.save(tmp, feats)
        os.replace(tmp, path)
        path.with_suffix(".json").write_text(json.dumps(key_data, indent=2) + "\n")
    return feats, seconds, False


__all__ = [
    "FeatureConfig",
    "autocast",
    "cached_features",
    "extract_features",
    "feature_dim",
    "iter_feature_chunks",
    "iter_token_states",
    "resolve_precision",
]
