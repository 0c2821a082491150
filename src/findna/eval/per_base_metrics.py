"""Per-base metrics (issue 23), as BEND reports them: every base of every sequence is one sample.

Metrics come from a C x C confusion matrix (:func:`confusion`), so they can be accumulated over
batches of a streamed split and never need every prediction at once:

- ``mcc``: Matthews correlation over all bases (the multi-class R_K of Gorodkin 2004, equal to
  ``sklearn.metrics.matthews_corrcoef``); the primary metric;
- ``accuracy``: the share of bases predicted right;
- ``f1_<class>``: F1 of each class (one-vs-rest), and ``macro_f1``, their mean over the classes
  that occur in the truth or the predictions (scikit-learn's ``average="macro"``).

Padding positions (label :data:`findna.data.per_base.PAD_LABEL`) are never counted. A class with
no base in the truth or the predictions has no F1 (0/0): its ``f1_<class>`` is NaN and it is left
out of ``macro_f1``. A constant prediction's MCC (0/0) is 0, as scikit-learn reports it; with no
base scored at all, ``mcc``, ``accuracy`` and ``macro_f1`` are 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from findna.data.per_base import PAD_LABEL


def confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts, rows true class, columns predicted; padding positions skipped."""
    y_true = np.asarray(y_true).ravel().astype(np.int64)
    y_pred = np.asarray(y_pred).ravel().astype(np.int64)
    keep = y_true != PAD_LABEL
    flat = y_true[keep] * num_classes + y_pred[keep]
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, -1)


def mcc_from_confusion(cm: np.ndarray) -> float:
    """Matthews correlation of a (C, C) confusion matrix (0 when undefined)."""
    cm = np.asarray(cm, dtype=np.float64)
    n, correct = cm.sum(), np.trace(cm)
    pred, true = cm.sum(axis=0), cm.sum(axis=1)
    num = correct * n - pred @ true
    den = np.sqrt(n * n - pred @ pred) * np.sqrt(n * n - true @ true)
    return float(num / den) if den > 0 else 0.0


def metrics_from_confusion(
    cm: np.ndarray, classes: Sequence[str] | None = None
) -> dict[str, float]:
    """``mcc``, ``accuracy``, ``macro_f1`` and ``f1_<class>`` of a (C, C) confusion matrix.

    A class with no base in the truth or the predictions (a test split without it, that no base
    was predicted as) has no F1: its ``f1_<class>`` is NaN and ``macro_f1`` averages the other
    classes, as scikit-learn's ``f1_score(average="macro")`` and the sequence-level ``macro_f1``
    do; counting it as 0 would lower the mean by a class that was never there.

    Args:
        cm: counts, rows true class, columns predicted.
        classes: the C class names for the ``f1_`` keys (None: ``0``, ``1``, ...).
    """
    cm = np.asarray(cm, dtype=np.float64)
    names = list(classes) if classes is not None else [str(k) for k in range(len(cm))]
    tp = np.diag(cm)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # 2 tp + fp + fn
    seen = denom > 0
    f1 = np.divide(2 * tp, denom, out=np.full_like(tp, np.nan), where=seen)
    total = cm.sum()
    out = {
        "mcc": mcc_from_confusion(cm),
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "macro_f1": float(f1[seen].mean()) if seen.any() else 0.0,
    }
    out.update({f"f1_{name}": float(v) for name, v in zip(names, f1, strict=True)})
    return out


def per_base_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, classes: Sequence[str] | None = None
) -> dict[str, float]:
    """:func:`metrics_from_confusion` of per-base labels and predictions (any equal shapes)."""
    return metrics_from_confusion(confusion(y_true, y_pred, num_classes), classes)


__all__ = ["confusion", "mcc_from_confusion", "metrics_from_confusion", "per_base_metrics"]
