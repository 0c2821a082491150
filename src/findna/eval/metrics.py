"""Classification metrics with scikit-learn definitions, named explicitly in every output.

Peers' tables mix MCC, macro F1 and micro F1 (torchmetrics' multiclass F1 defaults to *micro*,
which equals accuracy), so every number findna reports carries one of these names:

- ``accuracy``: fraction of argmax predictions equal to the label.
- ``mcc``: Matthews correlation coefficient (``sklearn.metrics.matthews_corrcoef``; the
  multi-class generalisation for C > 2). The GUE EMP metric.
- ``macro_f1``: unweighted mean of per-class F1 over the labels present in ``y_true`` or the
  predictions (scikit-learn's default label set; ``zero_division=0``). DNABERT-2's "F1".
- ``micro_f1``: F1 from pooled counts; for single-label classification it equals accuracy.
  Reported so that numbers from torchmetrics' default can be compared.
- ``auroc``: binary tasks only, area under the ROC curve of the positive-class (column 1)
  probability.
- ``auroc_ovr_macro``: multi-class tasks only (C > 2), one-vs-rest AUROC averaged with equal
  class weights (``roc_auc_score(multi_class="ovr", average="macro")``).

Degenerate inputs: when ``y_true`` holds a single class, AUROC is undefined and is returned as
NaN (with a logged warning), and MCC is 0 (scikit-learn's convention for a zero denominator).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, roc_auc_score

from findna.eval.multilabel import MULTILABEL_METRICS, multilabel_metrics
from findna.eval.regression import REGRESSION_METRICS, regression_metrics
from findna.logs import log_once

log = logging.getLogger(__name__)

PROB_ATOL = 1e-2
"""Tolerance on ``probs.sum(axis=1) == 1``: bfloat16 softmax rows are off by up to ~4e-3.

Rows within tolerance are renormalised to sum to 1 exactly (scikit-learn's multi-class AUROC
requires it); logits or unnormalised scores are still rejected."""

MetricFn = Callable[[Any, Any], float]


def to_numpy(x: Any) -> np.ndarray:
    """Array-likes and (CPU or GPU) torch tensors to a NumPy array."""
    if hasattr(x, "detach"):  # torch.Tensor without importing torch
        x = x.detach().float().cpu().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    return np.asarray(x)


def validate_inputs(y_true: Any, probs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Check shapes, label range and probability rows; return ``(y_true, probs)`` as arrays.

    Args:
        y_true: (N,) integer class labels in ``[0, C)``.
        probs: (N, C) class probabilities (rows sum to 1), C >= 2. For a binary model with a
            single sigmoid output ``p``, pass ``np.stack([1 - p, p], axis=1)``.

    Returns:
        ``y_true`` as (N,) int64 and ``probs`` as (N, C) float64, rows renormalised to sum to 1.

    Raises:
        ValueError: on an empty input, a length mismatch, labels out of range, or rows of
            ``probs`` that are negative, non-finite or do not sum to 1 within ``PROB_ATOL``.
    """
    y = to_numpy(y_true)
    p = to_numpy(probs)
    if y.ndim != 1:
        raise ValueError(f"y_true must be 1-D (N,), got shape {y.shape}")
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(
            f"probs must be 2-D (N, C) with C >= 2 columns, got shape {p.shape}; "
            "for a single sigmoid output p pass np.stack([1 - p, p], axis=1)"
        )
    if len(y) != len(p):
        raise ValueError(f"length mismatch: y_true has {len(y)} rows, probs has {len(p)}")
    if len(y) == 0:
        raise ValueError("cannot compute metrics on an empty set (N = 0)")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.number) or not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"y_true must hold integer class ids, got dtype {y.dtype}")
    y = y.astype(np.int64)
    n_classes = p.shape[1]
    bad = np.flatnonzero((y < 0) | (y >= n_classes))
    if bad.size:
        raise ValueError(
            f"label {y[bad[0]]} at row {bad[0]} is out of range [0, {n_classes}) "
            f"({bad.size} such rows); probs has {n_classes} columns"
        )
    p = p.astype(np.float64)
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        row = int(np.flatnonzero(~np.isfinite(p).all(axis=1) | (p < 0).any(axis=1))[0])
        raise ValueError(f"probs row {row} has a negative or non-finite entry: {p[row]}")
    sums = p.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > PROB_ATOL)
    if off.size:
        raise ValueError(
            f"probs row {off[0]} sums to {sums[off[0]]:.6f}, not 1 (tolerance {PROB_ATOL}; "
            f"{off.size} such rows); pass softmax probabilities, not logits"
        )
    return y, p / sums[:, None]


def accuracy(y_true: Any, probs: Any) -> float:
    """Top-1 accuracy of ``argmax(probs)``."""
    y_true, probs = validate_inputs(y_true, probs)
    return float(accuracy_score(y_true, probs.argmax(axis=1)))


def mcc(y_true: Any, probs: Any) -> float:
    """Matthews correlation coefficient of ``argmax(probs)``; 0 when undefined."""
    y_true, probs = validate_inputs(y_true, probs)
    with warnings.catch_warnings():
        # A single label in y_true and y_pred: sklearn warns and returns 0, which we document.
        warnings.simplefilter("ignore", UserWarning)
        return float(matthews_corrcoef(y_true, probs.argmax(axis=1)))


def macro_f1(y_true: Any, probs: Any) -> float:
    """Unweighted mean of per-class F1 (labels present in y_true or predictions)."""
    y_true, probs = validate_inputs(y_true, probs)
    return float(f1_score(y_true, probs.argmax(axis=1), average="macro", zero_division=0))


def micro_f1(y_true: Any, probs: Any) -> float:
    """F1 from pooled counts; equals accuracy for single-label classification."""
    y_true, probs = validate_inputs(y_true, probs)
    return float(f1_score(y_true, probs.argmax(axis=1), average="micro", zero_division=0))


def auroc(y_true: Any, probs: Any) -> float:
    """Binary AUROC from the positive-class probability ``probs[:, 1]``; NaN if undefined."""
    y_true, probs = validate_inputs(y_true, probs)
    if probs.shape[1] != 2:
        raise ValueError(
            f"auroc is defined for binary tasks (2 columns), got {probs.shape[1]}; "
            "use auroc_ovr_macro for multi-class"
        )
    if np.unique(y_true).size < 2:
        log_once(  # once per label vector: a probe scores it per lr
            log,
            logging.WARNING,
            _labels_key(y_true, 2),
            "auroc is undefined: y_true holds a single class (%d rows); returning NaN",
            len(y_true),
        )
        return float("nan")
    return float(roc_auc_score(y_true, probs[:, 1]))


def _labels_key(y_true: np.ndarray, n_classes: int) -> tuple[int, str]:
    """What an undefined-AUROC warning is said once for: the class count and the labels."""
    return n_classes, hashlib.sha256(np.ascontiguousarray(y_true).tobytes()).hexdigest()


def auroc_ovr_macro(y_true: Any, probs: Any) -> float:
    """Multi-class one-vs-rest AUROC, macro-averaged; NaN unless every class occurs in y_true."""
    y_true, probs = validate_inputs(y_true, probs)
    n_classes = probs.shape[1]
    if n_classes == 2:  # both one-vs-rest curves equal the binary one
        return auroc(y_true, probs)
    present = np.unique(y_true).size
    if present < n_classes:
        log_once(  # once per label vector: a probe scores it per lr
            log,
            logging.WARNING,
            _labels_key(y_true, n_classes),
            "auroc_ovr_macro is undefined: only %d of %d classes occur in y_true (%d rows); "
            "returning NaN",
            present,
            n_classes,
            len(y_true),
        )
        return float("nan")
    return float(
        roc_auc_score(y_true, probs, multi_class="ovr", average="macro", labels=range(n_classes))
    )


PRIMARY_METRICS: dict[str, MetricFn] = {
    "accuracy": accuracy,
    "mcc": mcc,
    "macro_f1": macro_f1,
    "micro_f1": micro_f1,
    "auroc": auroc,
    "auroc_ovr_macro": auroc_ovr_macro,
}
"""Every classification metric name findna reports, mapped to
``fn(y_true (N,), probs (N, C)) -> float``.

Each validates its inputs (see :func:`validate_inputs`). Any of them can be a task's primary
metric; all are "higher is better"."""


METRIC_NAMES: tuple[str, ...] = (*PRIMARY_METRICS, *REGRESSION_METRICS, *MULTILABEL_METRICS)
"""Every name a task's primary metric may have: classification's, regression's ``pearson``,
``spearman``, ``r2`` (means over targets, :mod:`findna.eval.regression`) and multi-label's
``macro_auroc``, ``macro_auprc`` (:mod:`findna.eval.multilabel`)."""


def compute_metrics(
    y_true: Any,
    probs: Any,
    multiclass_auroc: bool = True,
    task_type: str | None = None,
    targets: Any = None,
) -> dict[str, float]:
    """All metrics of one prediction set, after validating the inputs.

    A regression task (``task_type="regression"``, or with ``task_type`` None 2-D (N, T)
    float ``y_true``) gets :func:`findna.eval.regression.regression_metrics` of its predicted values
    (``targets`` names the per-target keys); a multi-label task (``task_type="multilabel"``)
    gets :func:`findna.eval.multilabel.multilabel_metrics` of its (N, L) probabilities; the rest
    of this docstring is classification's.

    Args:
        y_true: (N,) integer labels in ``[0, C)``; NumPy array, list or torch tensor.
        probs: (N, C) softmax probabilities.
        multiclass_auroc: for C > 2, also report ``auroc_ovr_macro``.

    Returns:
        ``accuracy``, ``mcc``, ``macro_f1``, ``micro_f1`` and, for C == 2, ``auroc`` (positive
        class = column 1) or, for C > 2 and ``multiclass_auroc``, ``auroc_ovr_macro``. Undefined
        AUROCs are NaN (see the module docstring).

    Raises:
        ValueError: see :func:`validate_inputs`.
    """
    y = to_numpy(y_true)
    if task_type == "multilabel":
        return multilabel_metrics(y, probs, targets)
    if task_type == "regression" or (
        task_type is None and y.ndim == 2 and np.issubdtype(y.dtype, np.floating)
    ):
        return regression_metrics(y, probs, targets)
    y, p = validate_inputs(y_true, probs)
    names = ["accuracy", "mcc", "macro_f1", "micro_f1"]
    if p.shape[1] == 2:
        names.append("auroc")
    elif multiclass_auroc:
        names.append("auroc_ovr_macro")
    return {name: PRIMARY_METRICS[name](y, p) for name in names}
