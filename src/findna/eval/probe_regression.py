"""The probe's regression path (issue 23): T outputs, MSE on train-standardised targets.

Targets are standardised with the TRAIN split's mean and std (validation and test never fit
it); heads regress the standardised values with MSE, one per learning rate, and the lr is
selected on validation by the task's primary metric (mean Pearson r) of the un-standardised
predictions; kNN is scikit-learn's ``KNeighborsRegressor`` on the raw targets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from findna.eval.metrics import compute_metrics
from findna.eval.regression import Standardiser, spec_targets
from findna.eval.task_driver import CheckedTask


@dataclass
class Selected:
    """A probe head fitted and selected on validation: its metrics, test probabilities (values,
    for regression), the settings that went into it and what selection chose, and the seconds
    it took."""

    val_metrics: dict[str, float]
    test_probs: np.ndarray
    hyperparameters: dict[str, Any]
    train_s: float
    choice: str


def _metrics(task: CheckedTask, split: str, preds: np.ndarray) -> dict[str, float]:
    spec = task.data.spec
    return compute_metrics(
        task.labels(split),
        preds,
        task_type="regression",
        targets=spec_targets(getattr(spec, "targets", None)),
    )


def _score(metrics: dict[str, float], name: str) -> float:
    value = metrics[name]
    return -math.inf if math.isnan(value) else value


@torch.inference_mode()
def head_values(head: nn.Module, x: np.ndarray, scaler: Standardiser) -> np.ndarray:
    """(N, T) un-standardised predictions of a trained regression head."""
    return scaler.inverse(head(torch.tensor(x, dtype=torch.float32)).numpy())


def _2d(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y[:, None] if y.ndim == 1 else y


def fit_knn_regression(feats: dict[str, np.ndarray], task: CheckedTask, cfg: Any) -> Selected:
    """k nearest neighbours' mean target (nothing to select, nothing seeded)."""
    from sklearn.neighbors import KNeighborsRegressor

    start = time.perf_counter()
    y = _2d(task.labels("train"))
    knn = KNeighborsRegressor(n_neighbors=min(cfg.knn_k, len(y))).fit(feats["train"], y)
    val_metrics = _metrics(task, "val", knn.predict(feats["val"]))
    train_s = time.perf_counter() - start
    test = knn.predict(feats["test"])
    return Selected(val_metrics, test, {"k": cfg.knn_k}, train_s, f"k {cfg.knn_k}")


def fit_regression_heads(
    feats: dict[str, np.ndarray],
    task: CheckedTask,
    cfg: Any,
    seed: int,
    train_heads: Callable[..., list[nn.Module]],
) -> Selected:
    """A head per lr on train-standardised targets (MSE); the lr selected on validation."""
    start = time.perf_counter()
    metric = task.data.spec.metric
    y = _2d(task.labels("train"))
    scaler = Standardiser.fit(y)
    heads = train_heads(feats["train"], scaler.transform(y), y.shape[1], cfg, seed, loss="mse")
    val_all = [_metrics(task, "val", head_values(h, feats["val"], scaler)) for h in heads]
    best = max(range(len(heads)), key=lambda i: _score(val_all[i], metric))
    hyper = {
        "lr": cfg.lrs[best],
        "lrs": list(cfg.lrs),
        "epochs": cfg.epochs,
        "batch_size": cfg.batch_size,
        "weight_decay": cfg.weight_decay,
        "warmup_frac": cfg.warmup_frac,
        "val_by_lr": {repr(lr): m[metric] for lr, m in zip(cfg.lrs, val_all, strict=True)},
        "target_mean": scaler.mean.tolist(),
        "target_std": scaler.std.tolist(),
    }
    train_s = time.perf_counter() - start
    test = head_values(heads[best], feats["test"], scaler)
    return Selected(val_all[best], test, hyper, train_s, f"lr {cfg.lrs[best]}")
