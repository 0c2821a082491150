"""The probe's heads for every task type but classification (issue 23): regression and
multi-label, driven by the type's :class:`findna.eval.task_types.TaskKind`.

One head per learning rate is trained on what the type's loss sees (regression: targets
standardised with the TRAIN split's mean and sd, MSE; multi-label: the 0/1 labels, BCE with
logits); the lr is selected on validation by the task's primary metric of the type's predictions
(un-standardised values; per-label sigmoids), and the test split is scored once by the driver.
kNN uses scikit-learn's ``KNeighborsRegressor`` on the raw targets (multi-label: the fraction of
the k neighbours with each label, a probability in [0, 1]).
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

from findna.eval.task_driver import CheckedTask
from findna.eval.task_types import TaskKind


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


def _metrics(task: CheckedTask, kind: TaskKind, split: str, preds: np.ndarray) -> dict:
    targets = task.data.spec.targets
    return kind.score(task.labels(split), preds, list(targets) if targets else None)


def _score(metrics: dict[str, float], name: str) -> float:
    value = metrics[name]
    return -math.inf if math.isnan(value) else value


@torch.inference_mode()
def head_outputs(head: nn.Module, x: np.ndarray) -> np.ndarray:
    """(N, outputs) raw outputs of a trained head."""
    return head(torch.tensor(x, dtype=torch.float32)).numpy()


def _2d(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y[:, None] if y.ndim == 1 else y


def fit_knn_kind(
    feats: dict[str, np.ndarray], task: CheckedTask, cfg: Any, kind: TaskKind
) -> Selected:
    """k nearest neighbours' mean target (nothing to select, nothing seeded)."""
    from sklearn.neighbors import KNeighborsRegressor

    start = time.perf_counter()
    y = _2d(task.labels("train"))
    knn = KNeighborsRegressor(n_neighbors=min(cfg.knn_k, len(y))).fit(feats["train"], y)
    val_metrics = _metrics(task, kind, "val", knn.predict(feats["val"]))
    train_s = time.perf_counter() - start
    test = knn.predict(feats["test"])
    return Selected(val_metrics, test, {"k": cfg.knn_k}, train_s, f"k {cfg.knn_k}")


def fit_heads_kind(
    feats: dict[str, np.ndarray],
    task: CheckedTask,
    cfg: Any,
    seed: int,
    train_heads: Callable[..., list[nn.Module]],
    kind: TaskKind,
) -> Selected:
    """A head per lr on the type's training targets and loss; the lr selected on validation."""
    start = time.perf_counter()
    metric = task.data.spec.metric
    y = task.labels("train")
    scaling = kind.fit_scaling(y)
    targets = kind.train_targets(y, scaling)
    heads = train_heads(feats["train"], targets, targets.shape[1], cfg, seed, loss=kind.loss_name)

    def predict(head: nn.Module, split: str) -> np.ndarray:
        return kind.predictions(head_outputs(head, feats[split]), scaling)

    val_all = [_metrics(task, kind, "val", predict(h, "val")) for h in heads]
    best = max(range(len(heads)), key=lambda i: _score(val_all[i], metric))
    hyper = cfg.lr_choice(best, val_all, metric)
    if scaling is not None:
        hyper.update(target_mean=scaling.mean.tolist(), target_std=scaling.std.tolist())
    train_s = time.perf_counter() - start
    return Selected(
        val_all[best], predict(heads[best], "test"), hyper, train_s, f"lr {cfg.lrs[best]}"
    )
