"""Multi-label metrics (issue 23: several 0/1 labels per sequence).

For (N, L) 0/1 truths and (N, L) predicted probabilities (sigmoids of the logits), per label
``l``:

- ``auroc_<l>``: area under the ROC curve (``sklearn.metrics.roc_auc_score``);
- ``auprc_<l>``: area under the precision-recall curve as average precision
  (``sklearn.metrics.average_precision_score``);

and their means over labels, ``macro_auroc`` (multi-label's primary metric) and
``macro_auprc``. A label with no positive (or no negative) row in the split has neither: its
per-label values are NaN (reports show n/a), it is **left out of the macro means** (never
averaged in as NaN or 0.5), and :func:`labels_without_both_classes` names it; the result records
those names (``labels_without_both_classes`` in a seed's hyperparameters) and ``labels_scored``
counts the labels the means are over. With no label scored the means are NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

MULTILABEL_METRICS = ("macro_auroc", "macro_auprc")
"""The macro metric names; ``macro_auroc`` is the primary one."""


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor without importing torch
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def label_names(n_labels: int, names: Sequence[str] | None = None) -> list[str]:
    """The labels' names: ``names`` when given, else ``"0"``, ``"1"``, ..."""
    if names is None:
        return [str(i) for i in range(n_labels)]
    if len(names) != n_labels:
        raise ValueError(f"{len(names)} label names for {n_labels} label columns")
    return [str(n) for n in names]


def validate_multilabel(y_true: Any, probs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both as (N, L) float64 arrays.

    Raises:
        ValueError: on an empty input, a shape mismatch, a truth other than 0/1 or a
            probability outside [0, 1] (or NaN).
    """
    y, p = _as_array(y_true), _as_array(probs)
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(
            f"multi-label truths and probabilities must both be (N, L), got {y.shape} and {p.shape}"
        )
    if len(y) == 0:
        raise ValueError("cannot compute metrics on an empty set (N = 0)")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("multi-label truths must be 0 or 1")
    if not (np.all(np.isfinite(p)) and p.min() >= 0.0 and p.max() <= 1.0):
        raise ValueError(
            "multi-label probabilities must lie in [0, 1] (sigmoids of the logits), got values "
            f"in [{np.nanmin(p):g}, {np.nanmax(p):g}]"
        )
    return y, p


def labels_without_both_classes(y_true: Any, names: Sequence[str] | None = None) -> list[str]:
    """The names of the labels whose column in ``y_true`` (N, L) is all 0 or all 1 (no AUROC)."""
    y = _as_array(y_true)
    names = label_names(y.shape[1], names)
    positives = y.sum(axis=0)
    return [n for n, k in zip(names, positives, strict=True) if k == 0 or k == len(y)]


def multilabel_metrics(
    y_true: Any, probs: Any, names: Sequence[str] | None = None
) -> dict[str, float]:
    """``macro_auroc``, ``macro_auprc`` (over the labels with both classes), ``labels_scored``
    and per label ``auroc_<name>``, ``auprc_<name>`` (NaN for a label without both classes).

    Args:
        y_true: (N, L) 0/1 truths.
        probs: (N, L) probabilities.
        names: the L label names for the per-label keys; None: ``0``, ``1``, ...
    """
    y, p = validate_multilabel(y_true, probs)
    names = label_names(y.shape[1], names)
    skipped = set(labels_without_both_classes(y, names))
    out: dict[str, float] = {}
    scored: dict[str, list[float]] = {"auroc": [], "auprc": []}
    for j, name in enumerate(names):
        if name in skipped:
            out[f"auroc_{name}"] = out[f"auprc_{name}"] = float("nan")
            continue
        for key, fn in (("auroc", roc_auc_score), ("auprc", average_precision_score)):
            value = float(fn(y[:, j], p[:, j]))
            out[f"{key}_{name}"] = value
            scored[key].append(value)
    means = {f"macro_{k}": float(np.mean(v)) if v else float("nan") for k, v in scored.items()}
    return {**means, "labels_scored": float(len(scored["auroc"])), **out}


def sigmoid(logits: Any) -> np.ndarray:
    """Elementwise logistic function of ``logits`` as float64 (stable for large magnitudes)."""
    x = _as_array(logits)
    return np.exp(-np.logaddexp(0.0, -x))
