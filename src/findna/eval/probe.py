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

:class:`Probe` is the method the task driver (:mod:`findna.eval.task_driver`) runs; ``run_probe``
and ``probe_task`` are the driver's ``run_seed`` and ``run_task`` with it.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from findna.data.tasks import TaskData
from findna.devices import resolve_device
from findna.eval.features import cached_features
from findna.eval.metrics import compute_metrics
from findna.eval.per_base_probe import PerBaseProbe
from findna.eval.probe_config import ProbeConfig
from findna.eval.probe_kinds import Selected as _Selected
from findna.eval.probe_kinds import fit_heads_kind, fit_knn_kind
from findna.eval.report import BenchmarkReport, SeedResult
from findna.eval.task_driver import SPLIT_NAMES, CheckedTask, Fit, SeedJob, run_seed, run_task
from findna.eval.task_types import is_per_base, task_kind
from findna.model.config import ModelConfig
from findna.model.heads import ClassificationHead
from findna.model.loading import depth_max_len
from findna.ssl.schedules import cosine_with_warmup


def _make_head(d: int, n_classes: int, cfg: ProbeConfig, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return ClassificationHead(d, n_classes, kind=cfg.head, hidden=cfg.mlp_hidden)


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    """torch's CPU thread count set to ``n`` (None: unchanged) inside the block, then restored."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_heads(
    x: np.ndarray, y: np.ndarray, n_classes: int, cfg: ProbeConfig, seed: int, loss: str = "ce"
) -> list[nn.Module]:
    """One head per learning rate in ``cfg.lrs``, trained together on the same batches.

    Args:
        x: (N, D) float32 train features.
        y: (N,) int64 labels; with another ``loss`` (N, T) float targets (regression) or 0/1
            labels (multi-label).
        n_classes: C (regression: T outputs; multi-label: L).
        cfg: the probe settings (``head`` linear or mlp; a linear head on the CPU trains on
            ``head_threads`` threads).
        seed: seeds the (shared) head initialisation and the batch order.
        loss: ``ce`` (cross-entropy on class ids), ``mse`` (regression on standardised targets)
            or ``bce_with_logits`` (multi-label), as :attr:`TaskKind.loss_name` names them.

    Returns:
        The heads in ``cfg.lrs`` order, on the CPU, in eval mode.
    """
    device = resolve_device(cfg.features.device)
    # Copies (torch.tensor): task arrays are read-only, which torch.as_tensor warns about.
    xt = torch.tensor(x, dtype=torch.float32, device=device)
    classes = loss in ("ce", "cross_entropy")
    yt = torch.tensor(y, dtype=torch.long if classes else torch.float32, device=device)
    loss_fn = None if classes else _LOSSES[loss]
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
    one_core = device.type == "cpu" and cfg.head == "linear"
    with _threads(cfg.head_threads if one_core else None):
        _train_loop(heads, opt, sched, xt, yt, cfg, gen, loss_fn)
    return [h.cpu().eval() for h in heads]


_LOSSES = {"mse": F.mse_loss, "bce_with_logits": F.binary_cross_entropy_with_logits}


def _train_loop(
    heads: list[nn.Module],
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler,
    xt: torch.Tensor,
    yt: torch.Tensor,
    cfg: ProbeConfig,
    gen: torch.Generator,
    loss_fn: Any = None,
) -> None:
    """``cfg.epochs`` passes; all heads see the same shuffled batches, one summed loss
    (``loss_fn``, default cross-entropy)."""
    loss_fn = loss_fn or F.cross_entropy
    for _ in range(cfg.epochs):
        order = torch.randperm(len(xt), generator=gen).to(xt.device)
        for start in range(0, len(xt), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            xb, yb = xt[idx], yt[idx]
            loss = sum(loss_fn(h(xb), yb) for h in heads)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()


@torch.inference_mode()
def head_probs(head: nn.Module, x: np.ndarray) -> np.ndarray:
    """(N, C) softmax probabilities of a trained head."""
    return torch.softmax(head(torch.tensor(x, dtype=torch.float32)), dim=-1).numpy()


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


def fit_knn(
    feats: dict[str, np.ndarray], task: CheckedTask, cfg: ProbeConfig, seed: int
) -> _Selected:
    """k nearest neighbours on the train features (nothing to select, nothing seeded)."""
    start = time.perf_counter()
    c, y = task.data.spec.num_classes, task.labels("train")
    val_metrics = compute_metrics(
        task.labels("val"), _knn_probs(feats["train"], y, feats["val"], c, cfg.knn_k)
    )
    train_s = time.perf_counter() - start
    test_probs = _knn_probs(feats["train"], y, feats["test"], c, cfg.knn_k)
    return _Selected(val_metrics, test_probs, {"k": cfg.knn_k}, train_s, f"k {cfg.knn_k}")


def fit_heads(
    feats: dict[str, np.ndarray], task: CheckedTask, cfg: ProbeConfig, seed: int
) -> _Selected:
    """A linear or MLP head per learning rate; the lr is selected on validation (first of ties)."""
    start = time.perf_counter()
    metric = task.data.spec.metric
    heads = train_heads(feats["train"], task.labels("train"), task.data.spec.num_classes, cfg, seed)
    val_all = [compute_metrics(task.labels("val"), head_probs(h, feats["val"])) for h in heads]
    best = max(range(len(heads)), key=lambda i: _score(val_all[i], metric))
    hyper = cfg.lr_choice(best, val_all, metric)
    train_s = time.perf_counter() - start
    return _Selected(
        val_all[best], head_probs(heads[best], feats["test"]), hyper, train_s, f"lr {cfg.lrs[best]}"
    )


@dataclass
class Probe:
    """The frozen-feature probe as a task-driver method (:mod:`findna.eval.task_driver`)."""

    config: ProbeConfig
    mode: str = field(default="probe", init=False)

    @property
    def which(self) -> str:
        return self.config.which

    @property
    def cls_tokens(self) -> int:
        return self.config.features.cls_tokens

    @property
    def max_len(self) -> int | None:
        return self.config.max_len

    def for_source(self, source: str | Path) -> Probe:
        """A CLS pooling with ``n_cls`` None gets the CLS rows ``source`` was pretrained with."""
        features = self.config.features.for_source(source, self.config.which)
        return Probe(replace(self.config, features=features))

    def fit(self, job: SeedJob) -> Fit:
        """Features of the three splits (cached), then kNN or heads selected on validation."""
        cfg = self.config
        if is_per_base(job.task.data.spec.task_type):  # a head per base
            job.max_len = job.task.max_len(0, cfg.max_len)  # token states: no CLS rows
            return PerBaseProbe(cfg).fit(job)
        start = time.perf_counter()
        job.max_len = depth_max_len(job.source, cfg.which, job.max_len, cfg.depth)
        net = job.load_encoder(cfg.which, cfg.length_mode)
        feats, features_s, all_cached = {}, 0.0, True
        for split in SPLIT_NAMES:
            feats[split], seconds, cached = cached_features(
                net,
                job.model_id,
                job.task.data,
                split,
                cfg.features,
                job.cache_dir,
                progress=job.progress,
            )
            features_s += seconds
            all_cached &= cached
        if cfg.standardize:
            feats = _standardise(feats)
        load_s = time.perf_counter() - start
        spec = job.task.data.spec
        kind = task_kind(spec.task_type)
        if kind.name == "classification":  # softmax heads, as before the task types
            fit = (fit_knn if cfg.head == "knn" else fit_heads)(feats, job.task, cfg, job.seed)
        elif cfg.head == "knn":
            fit = fit_knn_kind(feats, job.task, cfg, kind)
        else:
            fit = fit_heads_kind(feats, job.task, cfg, job.seed, train_heads, kind)
        start = time.perf_counter()
        names = list(spec.targets) if spec.targets else None
        test_metrics = kind.score(job.task.labels("test"), fit.test_probs, names)  # once
        hyper = {
            "head": cfg.head,
            "pooling": cfg.features.pooling,
            "cls_tokens": cfg.features.cls_tokens,
            "rc_average": cfg.features.rc_average,
            "standardize": cfg.standardize,
            "depth": cfg.depth,
            "blocks_per_layer": net.config.n_blocks_per_layer,
            "features_cached": all_cached,
            **fit.hyperparameters,
        }
        timings = {
            "load_s": load_s,
            "features_s": features_s,  # extracting (0 when every split came from the cache)
            "train_s": fit.train_s,
            "test_s": time.perf_counter() - start,
        }
        return Fit(fit.val_metrics, test_metrics, hyper, timings, fit.choice, fit.test_probs)


def run_probe(
    task: TaskData | CheckedTask,
    source: str | Path,
    cfg: ProbeConfig,
    seed: int,
    *,
    cache_dir: Path | None = None,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    progress: bool = False,
) -> SeedResult:
    """Probe one model on one task with one seed (:func:`~findna.eval.task_driver.run_seed`).

    Args:
        task: the loaded task (its splits are used as they are).
        source: a model source for :func:`findna.model.loading.load_encoder`.
        cfg: probe settings.
        seed: seeds the scratch/fresh weights, the head initialisation and the batch order.
        cache_dir: where features are cached (None: no cache).
        scratch_config: architecture of a ``"scratch"`` source.
        model_name: the result's model name (default the source's name).
        progress: tqdm bars for feature extraction.

    Returns:
        A ``SeedResult`` (mode ``"probe"``) with the selected lr's validation and test metrics,
        the per-lr validation scores, the model id and timings.
    """
    return run_seed(
        task,
        source,
        Probe(cfg),
        seed,
        scratch_config=scratch_config,
        model_name=model_name,
        cache_dir=cache_dir,
        progress=progress,
    )


def probe_task(
    task: TaskData | CheckedTask,
    source: str | Path,
    cfg: ProbeConfig,
    seeds: Sequence[int],
    out_dir: Path,
    *,
    cache_dir: Path | None = None,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    progress: bool = False,
    force: bool = False,
) -> BenchmarkReport:
    """``run_probe`` for each seed (``findna probe``); writes ``probe.json``, ``probe.md``,
    ``probe_seeds.json`` and ``config.yaml`` (:func:`~findna.eval.task_driver.run_task`).

    ``cache_dir`` defaults to ``out_dir/features``; ``force`` replaces a finished report there.
    """
    return run_task(
        task,
        source,
        Probe(cfg),
        seeds,
        out_dir,
        scratch_config=scratch_config,
        model_name=model_name,
        cache_dir=cache_dir,
        progress=progress,
        force=force,
    )


__all__ = [
    "Probe",
    "ProbeConfig",
    "fit_heads",
    "fit_knn",
    "head_probs",
    "probe_task",
    "run_probe",
    "train_heads",
]
