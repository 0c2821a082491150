"""Regression metrics and target standardisation (issue 23: one or more numeric targets).

For (N, T) true values and predictions, per target ``t``:

- ``pearson_<t>``: Pearson r (``scipy.stats.pearsonr``);
- ``spearman_<t>``: Spearman rho (``scipy.stats.spearmanr``);
- ``r2_<t>``: coefficient of determination (``sklearn.metrics.r2_score``);

and their means over targets, ``pearson`` (regression's primary metric), ``spearman`` and
``r2``. A constant prediction (or constant truth) leaves r and rho undefined: they are NaN
(reports show n/a), never an error; a mean over targets is NaN when any target's value is.
Standardisation (:class:`Standardiser`) is fitted on the training split only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import r2_score

REGRESSION_METRICS = ("pearson", "spearman", "r2")
"""The mean-over-targets metric names; ``pearson`` is the primary one."""


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor without importing torch
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def validate_regression(y_true: Any, preds: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both as (N, T) float64 arrays (a 1-D input is one target).

    Raises:
        ValueError: on an empty input, a shape mismatch or a non-finite true value.
    """
    y, p = _as_array(y_true), _as_array(preds)
    y = y[:, None] if y.ndim == 1 else y
    p = p[:, None] if p.ndim == 1 else p
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(
            f"regression targets and predictions must both be (N, T), got {y.shape} and {p.shape}"
        )
    if len(y) == 0:
        raise ValueError("cannot compute metrics on an empty set (N = 0)")
    if not np.all(np.isfinite(y)):
        raise ValueError("regression targets hold a NaN or infinite value")
    return y, p


def _correlation(fn: Any, y: np.ndarray, p: np.ndarray) -> float:
    if len(y) < 2 or np.ptp(y) == 0 or not np.all(np.isfinite(p)) or np.ptp(p) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(fn(y, p)[0])


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    if len(y) < 2 or not np.all(np.isfinite(p)):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(r2_score(y, p))


_PER_TARGET = {
    "pearson": lambda y, p: _correlation(pearsonr, y, p),
    "spearman": lambda y, p: _correlation(spearmanr, y, p),
    "r2": _r2,
}


def target_names(n_targets: int, targets: Sequence[str] | None = None) -> list[str]:
    """The targets' names: ``targets`` when given, else ``"0"``, ``"1"``, ..."""
    if targets is None:
        return [str(i) for i in range(n_targets)]
    if len(targets) != n_targets:
        raise ValueError(f"{len(targets)} target names for {n_targets} target columns")
    return [str(t) for t in targets]


def regression_metrics(
    y_true: Any, preds: Any, targets: Sequence[str] | None = None
) -> dict[str, float]:
    """``pearson``, ``spearman``, ``r2`` (means over targets) and each per target.

    Args:
        y_true: (N, T) or (N,) true values.
        preds: predictions of the same shape (un-standardised).
        targets: T target names for the per-target keys; None: ``0``, ``1``, ...
    """
    y, p = validate_regression(y_true, preds)
    names = target_names(y.shape[1], targets)
    out: dict[str, float] = {}
    per: dict[str, list[float]] = {m: [] for m in REGRESSION_METRICS}
    for j, name in enumerate(names):
        for metric, fn in _PER_TARGET.items():
            value = fn(y[:, j], p[:, j])
            per[metric].append(value)
            out[f"{metric}_{name}"] = value
    means = {m: float(np.mean(v)) for m, v in per.items()}
    return {**means, **out}


def pearson(y_true: Any, preds: Any) -> float:
    """Mean Pearson r over targets (NaN where a target's r is undefined)."""
    return regression_metrics(y_true, preds)["pearson"]


def spearman(y_true: Any, preds: Any) -> float:
    """Mean Spearman rho over targets."""
    return regression_metrics(y_true, preds)["spearman"]


def r2(y_true: Any, preds: Any) -> float:
    """Mean R^2 over targets."""
    return regression_metrics(y_true, preds)["r2"]


@dataclass(frozen=True)
class Standardiser:
    """Per-target mean and std of the TRAINING split; validation and test never fit it."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, train_targets: Any) -> Standardiser:
        y = _as_array(train_targets)
        y = y[:, None] if y.ndim == 1 else y
        std = y.std(axis=0)
        return cls(mean=y.mean(axis=0), std=np.where(std > 0, std, 1.0))

    def transform(self, y: Any) -> np.ndarray:
        y = _as_array(y)
        y = y[:, None] if y.ndim == 1 else y
        return ((y - self.mean) / self.std).astype(np.float32)

    def inverse(self, z: Any) -> np.ndarray:
        return _as_array(z) * self.std + self.mean
