"""Frozen-feature probes: a linear (or MLP, or kNN) head on cached pooled features.

Protocol (paper Table 1, docs/method.md §5.2): the embedding and backbone are frozen; features of
the train, validation and test splits are extracted once per (model, task, split, feature
settings) and cached as ``.npy``; heads are trained with AdamW and a cosine schedule with warm-up
(paper: batch 1024, lr 0.01, weight decay 0.1, 50 epochs, 30% warm-up). Several learning rates are
trained in one pass (one head per lr, same initialisation and batch order), the lr is **selected on
the validation split only** by the task's primary metric, and the test split is evaluated once, with
the selected head. ``head="knn"`` fits scikit-learn's k-nearest neighbours (k=5) instead, a cheap
sanity check with nothing to select.
Features are standardised with the train split's mean and std by default (the paper is silent;
a linear head could learn the same affine map, this only conditions the optimisation).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from findna.config import config_to_dict
from findna.data.splits import check_splits, split_sizes
from findna.data.tasks import TaskData, task_max_len
from findna.devices import resolve_device
from findna.eval.features import FeatureConfig, cached_features
from findna.eval.metrics import compute_metrics
from findna.eval.report import (
    BenchmarkReport,
    SeedResult,
    write_seed_results,
    write_task_report,
)
from findna.model.config import ModelConfig
from findna.model.heads import ClassificationHead
from findna.model.loading import default_model_name, load_encoder
from findna.ssl.schedules import cosine_with_warmup

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")


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
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def __post_init__(self) -> None:
        if self.head not in ("linear", "mlp", "knn"):
            raise ValueError(f"head must be linear, mlp or knn, got {self.head!r}")
        if not self.lrs or any(not (lr > 0 and math.isfinite(lr)) for lr in self.lrs):
            raise ValueError(f"lrs must be a non-empty list of positive numbers, got {self.lrs}")
        if len(set(self.lrs)) != len(self.lrs):
            raise ValueError(f"lrs has duplicates: {self.lrs}")
        for name in ("epochs", "batch_size", "mlp_hidden", "knn_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0.0 <= self.warmup_frac <= 1.0:
            raise ValueError(f"warmup_frac must lie in [0, 1], got {self.warmup_frac}")
        if self.max_len is not None and self.max_len < 1:
            raise ValueError(
                f"probe.max_len must be a positive number of tokens or null (null: the task's "
                f"length plus the CLS tokens), got {self.max_len}"
            )


def _make_head(d: int, n_classes: int, cfg: ProbeConfig, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ClassificationHead(d, n_classes, kind=cfg.head, hidden=cfg.mlp_hidden)


def train_heads(
    x: np.ndarray, y: np.ndarray, n_classes: int, cfg: ProbeConfig, seed: int
) -> list[nn.Module]:
    """One head per learning rate in ``cfg.lrs``, trained together on the same batches.

    Args:
        x: (N, D) float32 train features.
        y: (N,) int64 labels.
        n_classes: C.
        cfg: the probe settings (``head`` linear or mlp).
        seed: seeds the (shared) head initialisation and the batch order.

    Returns:
        The heads in ``cfg.lrs`` order, on the CPU, in eval mode.
    """
    device = resolve_device(cfg.features.device)
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.long, device=device)
    init = _make_head(x.shape[1], n_classes, cfg, seed)
    heads = [copy.deepcopy(init).to(device).train() for _ in cfg.lrs]
    groups = [{"params": h.parameters(), "lr": lr} for h, lr in zip(heads, cfg.lrs, strict=True)]
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    steps_per_epoch = math.ceil(len(x) / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: cosine_with_warmup(s, total, cfg.warmup_frac)
    )
    gen = torch.Generator().manual_seed(seed)
    # Linear heads are tiny: on a CPU, thread hand-offs cost more than the maths (10x slower
    # on a loaded 2-core machine), so they train on one thread.
    threads = torch.get_num_threads()
    if device.type == "cpu" and cfg.head == "linear":
        torch.set_num_threads(1)
    try:
        _train_loop(heads, opt, sched, xt, yt, cfg, gen)
    finally:
        torch.set_num_threads(threads)
    return [h.cpu().eval() for h in heads]


def _train_loop(
    heads: list[nn.Module],
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    xt: torch.Tensor,
    yt: torch.Tensor,
    cfg: ProbeConfig,
    gen: torch.Generator,
) -> None:
    """``cfg.epochs`` passes; all heads see the same shuffled batches, one summed loss."""
    for _ in range(cfg.epochs):
        order = torch.randperm(len(xt), generator=gen).to(xt.device)
        for start in range(0, len(xt), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            xb, yb = xt[idx], yt[idx]
            loss = sum(F.cross_entropy(h(xb), yb) for h in heads)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()


@torch.inference_mode()
def head_probs(head: nn.Module, x: np.ndarray) -> np.ndarray:
    """(N, C) softmax probabilities of a trained head."""
    return torch.softmax(head(torch.as_tensor(x, dtype=torch.float32)), dim=-1).numpy()


def _knn_probs(
    x_train: np.ndarray, y_train: np.ndarray, x: np.ndarray, n_classes: int, k: int
) -> np.ndarray:
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=min(k, len(x_train))).fit(x_train, y_train)
    probs = np.zeros((len(x), n_classes))
    probs[:, knn.classes_] = knn.predict_proba(x)
    return probs


def _standardise(feats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    mean = feats["train"].mean(axis=0)
    std = np.maximum(feats["train"].std(axis=0), 1e-6)
    return {k: ((v - mean) / std).astype(np.float32) for k, v in feats.items()}


def _score(metrics: dict[str, float], name: str) -> float:
    value = metrics[name]
    return -math.inf if math.isnan(value) else value


def run_probe(
    task: TaskData,
    source: str | Path,
    cfg: ProbeConfig,
    seed: int,
    *,
    cache_dir: Path | None = None,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    progress: bool = False,
) -> SeedResult:
    """Probe one model on one task with one seed.

    Args:
        task: the loaded task (its splits are used as they are).
        source: a model source for :func:`findna.model.loading.load_encoder`.
        cfg: probe settings.
        seed: seeds the scratch/fresh weights, the head initialisation and the batch order.
        cache_dir: where features are cached (None: no cache).
        scratch_config: architecture of a ``"scratch"`` source.
        model_name: the result's model name (default :func:`default_model_name`).
        progress: tqdm bars for feature extraction.

    Returns:
        A ``SeedResult`` (mode ``"probe"``) with the selected lr's validation and test metrics,
        the per-lr validation scores, the model id and timings (``features_s``, ``train_s``,
        ``eval_s``).
    """
    check_splits(task.spec.name, task.splits())
    spec = task.spec
    cfg = replace(cfg, features=cfg.features.for_source(source, cfg.which))
    max_len = task_max_len(task, cfg.features.cls_tokens, cfg.max_len)
    net, model_id = load_encoder(
        source, which=cfg.which, max_len=max_len, length_mode=cfg.length_mode, seed=seed,
        scratch_config=scratch_config,
    )  # fmt: skip
    feats: dict[str, np.ndarray] = {}
    features_s, all_cached = 0.0, True
    for split in SPLIT_NAMES:
        feats[split], seconds, cached = cached_features(
            net, model_id, task, split, cfg.features, cache_dir, progress=progress
        )
        features_s += seconds
        all_cached &= cached
    if cfg.standardize:
        feats = _standardise(feats)
    labels = {split: part.labels for split, part in task.splits().items()}
    c, metric = spec.num_classes, spec.metric
    hyper: dict[str, Any] = {
        "head": cfg.head, "model_id": model_id, "which": cfg.which, "max_len": max_len,
        "pooling": cfg.features.pooling, "cls_tokens": cfg.features.cls_tokens,
        "rc_average": cfg.features.rc_average,
        "standardize": cfg.standardize, "features_cached": all_cached,
    }  # fmt: skip
    start = time.perf_counter()
    if cfg.head == "knn":
        hyper["k"] = cfg.knn_k
        val_probs = _knn_probs(feats["train"], labels["train"], feats["val"], c, cfg.knn_k)
        val_metrics = compute_metrics(labels["val"], val_probs)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        test_probs = _knn_probs(feats["train"], labels["train"], feats["test"], c, cfg.knn_k)
    else:
        heads = train_heads(feats["train"], labels["train"], c, cfg, seed)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        val_all = [compute_metrics(labels["val"], head_probs(h, feats["val"])) for h in heads]
        best = max(range(len(heads)), key=lambda i: _score(val_all[i], metric))  # first of ties
        val_metrics = val_all[best]
        hyper.update(
            lr=cfg.lrs[best], lrs=list(cfg.lrs), epochs=cfg.epochs, batch_size=cfg.batch_size,
            weight_decay=cfg.weight_decay, warmup_frac=cfg.warmup_frac,
            val_by_lr={repr(lr): m[metric] for lr, m in zip(cfg.lrs, val_all, strict=True)},
        )  # fmt: skip
        test_probs = head_probs(heads[best], feats["test"])  # the test split, once
    test_metrics = compute_metrics(labels["test"], test_probs)
    eval_s = time.perf_counter() - start
    log.info(
        "%s seed %d: val %s %.4f, test %.4f (%s)", spec.name, seed, metric, val_metrics[metric],
        test_metrics[metric], f"lr {hyper['lr']}" if "lr" in hyper else f"k {cfg.knn_k}",
    )  # fmt: skip
    return SeedResult(
        task=spec.name,
        model=model_name or default_model_name(source),
        mode="probe",
        split_sizes=split_sizes(task.splits()),
        seed=seed,
        primary_metric=metric,
        val_metrics=val_metrics,
        test_metrics=test_metrics,
        hyperparameters=hyper,
        timings={"features_s": features_s, "train_s": train_s, "eval_s": eval_s},
    )


def probe_task(
    task: TaskData,
    source: str | Path,
    cfg: ProbeConfig,
    seeds: list[int],
    out_dir: Path,
    *,
    cache_dir: Path | None = None,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    progress: bool = False,
) -> BenchmarkReport:
    """``run_probe`` for each seed; writes ``probe.json``, ``probe.md`` and ``config.yaml``.

    ``cache_dir`` defaults to ``out_dir/features``. Each finished seed is also written to
    ``probe_seeds.json`` at once (results only), so a later failure, e.g. while collecting
    provenance, never loses finished runs.
    """
    from findna.config import dump_config

    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and non-empty, got {seeds}")
    check_splits(task.spec.name, task.splits())  # before anything is written
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = cache_dir if cache_dir is not None else out_dir / "features"
    dump_config(cfg, out_dir / "config.yaml")
    results: list[SeedResult] = []
    for seed in seeds:
        results.append(
            run_probe(task, source, cfg, seed, cache_dir=cache, scratch_config=scratch_config,
                      model_name=model_name, progress=progress)
        )  # fmt: skip
        write_seed_results(results, out_dir / "probe_seeds.json")
    return write_task_report(
        results,
        task,
        source,
        cfg.which,
        {"probe": config_to_dict(cfg)},
        out_dir,
        "probe",
        scratch_config,
    )


__all__ = [
    "ProbeConfig",
    "probe_task",
    "head_probs",
    "run_probe",
    "train_heads",
]
