"""What differs per task type, in one place (issue 23): a small object per ``TaskSpec.task_type``.

Each type says how many outputs a head has, what the loss sees and which loss it is, how head
outputs become predictions, which metrics score them (and which is primary), what a predictions
CSV holds and what a seed's result notes beside its metrics. Probes, fine-tuning and the task
driver ask :func:`task_kind` instead of testing the type themselves, so a new type is one new
object registered in :data:`KINDS`.

========================  ==============  ================  ==================================
type (``spec.task_type``)  outputs         loss              predictions (``predictions``)
========================  ==============  ================  ==================================
``classification``        C classes       cross-entropy     softmax probabilities, rows sum 1
``regression``            T targets       MSE on targets    head outputs * train sd + train
                                          standardised on   mean (the targets' units)
                                          the train split
``multilabel``            L labels        BCE with logits   sigmoid per label
========================  ==============  ================  ==================================

For ``transformers`` the types are ``problem_type`` ``single_label_classification``,
``regression`` and ``multi_label_classification``. Saving and predicting (``eval/predict.py``,
``model/classifier.py``, ``model/hf/``) read ``spec.task_type``, ``spec.targets`` (target or
label names in output order) and these objects' ``loss_name``, ``raw_outputs`` and
``predictions``.

``per_base`` (a class per base, :mod:`findna.data.per_base`) has no :class:`TaskKind`: a kind's
hooks map one output row per *sequence* ((N, C) outputs, (N,) truths, one predictions-CSV row
per sequence), while a per-base task has (N, L, C) outputs scored base by base from a streamed
confusion matrix, with padding skipped. Its probe and fine-tuning are methods of their own
(:class:`findna.eval.per_base_probe.PerBaseProbe`,
:class:`findna.eval.per_base_finetune.PerBaseFinetune`); callers ask :func:`is_per_base` of
``spec.task_type``, the one test of the type, and
:func:`findna.eval.finetune_methods.finetune_method` picks the fine-tuning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from findna.eval.metrics import compute_metrics
from findna.eval.multilabel import labels_without_both_classes, multilabel_metrics, sigmoid
from findna.eval.regression import Standardiser, regression_metrics


@dataclass(frozen=True)
class TaskKind:
    """One task type's outputs, loss, predictions and metrics (the base is classification).

    Attributes:
        name: the ``TaskSpec.task_type`` value.
        metrics: the names a task of this type may have as its primary metric (first: default).
        loss_name: ``cross_entropy``, ``mse`` or ``bce_with_logits`` (:meth:`loss`).
        raw_outputs: whether predictions start from the head's raw outputs (``predict_proba``'s
            ``raw=True``); classification starts from softmax probabilities.
        problem_type: the ``transformers`` ``problem_type`` of a model of this type.
        columns: a predictions CSV's prefixes for the truth and the prediction of each output
            (classification: one ``label`` column, then ``prob_<class>``).
    """

    name: str = "classification"
    metrics: tuple[str, ...] = ("mcc", "accuracy", "macro_f1")
    loss_name: str = "cross_entropy"
    raw_outputs: bool = False
    problem_type: str = "single_label_classification"
    columns: tuple[str, str] = ("label", "prob")

    def output_names(self, classes: Sequence[str] | None, targets: Sequence[str], n: int) -> list:
        """The names of the ``n`` outputs: class names (``classes`` or ``0..C-1``)."""
        return [str(c) for c in classes] if classes else [str(c) for c in range(n)]

    def fit_scaling(self, train_labels: np.ndarray) -> Standardiser | None:
        """What is fitted on the training labels before training (regression: the targets'
        mean and sd); None for types that need nothing."""
        return None

    def train_targets(self, labels: np.ndarray, scaling: Standardiser | None) -> np.ndarray:
        """What the loss compares the head's outputs with: int64 class indices here."""
        return np.asarray(labels, dtype=np.int64)

    def predictions(self, outputs: np.ndarray, scaling: Standardiser | None) -> np.ndarray:
        """Predictions from the head's outputs (here softmax probabilities, kept as they are)."""
        return outputs

    def score(self, y: np.ndarray, preds: np.ndarray, names: Sequence[str] | None) -> dict:
        """Every metric of this type for truths ``y`` and predictions ``preds``."""
        return compute_metrics(y, preds)

    def notes(self, labels: Mapping[str, np.ndarray], names: Sequence[str] | None) -> dict:
        """What a seed's result records beside its metrics about the splits' ``labels``."""
        return {}

    def loss(self, outputs: Any, targets: Any) -> Any:
        """The training loss (a torch scalar) of head ``outputs`` against ``targets``."""
        import torch.nn.functional as F

        return {
            "cross_entropy": F.cross_entropy,
            "mse": F.mse_loss,
            "bce_with_logits": F.binary_cross_entropy_with_logits,
        }[self.loss_name](outputs, targets)


@dataclass(frozen=True)
class RegressionKind(TaskKind):
    """T numeric targets: MSE on train-standardised targets; Pearson, Spearman and R^2."""

    name: str = "regression"
    metrics: tuple[str, ...] = ("pearson", "spearman", "r2")
    loss_name: str = "mse"
    raw_outputs: bool = True
    problem_type: str = "regression"
    columns: tuple[str, str] = ("target", "pred")

    def output_names(self, classes, targets, n) -> list:
        """The target names (``0..T-1`` when the task names none)."""
        return [str(t) for t in targets] if targets else [str(t) for t in range(n)]

    def fit_scaling(self, train_labels):
        return Standardiser.fit(train_labels)

    def train_targets(self, labels, scaling):
        assert scaling is not None, "regression targets are standardised on the train split"
        return scaling.transform(labels)

    def predictions(self, outputs, scaling):
        return scaling.inverse(outputs) if scaling is not None else np.asarray(outputs)

    def score(self, y, preds, names):
        return regression_metrics(y, preds, names)


@dataclass(frozen=True)
class MultilabelKind(RegressionKind):
    """L 0/1 labels: BCE with logits, one sigmoid per label; macro and per-label AUROC/AUPRC."""

    name: str = "multilabel"
    metrics: tuple[str, ...] = ("macro_auroc", "macro_auprc")
    loss_name: str = "bce_with_logits"
    problem_type: str = "multi_label_classification"
    columns: tuple[str, str] = ("target", "prob")

    def fit_scaling(self, train_labels):
        return None

    def train_targets(self, labels, scaling):
        return np.asarray(labels, dtype=np.float32)

    def predictions(self, outputs, scaling):
        return sigmoid(outputs)

    def score(self, y, preds, names):
        return multilabel_metrics(y, preds, names)

    def notes(self, labels, names):
        """``labels_without_both_classes``: per split, the labels left out of the macro means."""
        return {
            "labels_without_both_classes": {
                split: labels_without_both_classes(y, names) for split, y in labels.items()
            }
        }


KINDS: dict[str, TaskKind] = {
    kind.name: kind for kind in (TaskKind(), RegressionKind(), MultilabelKind())
}
"""Every task type this module defines, by ``TaskSpec.task_type`` (a new type registers here)."""


def is_per_base(task_type: str | None) -> bool:
    """Whether a spec's ``task_type`` is ``per_base``: a task whose probe and fine-tuning are
    methods of their own (module docstring). It takes the value, not the spec, as
    :func:`task_kind` does, so that the task's call path stays short."""
    return task_type == "per_base"


def task_kind(task_type: str) -> TaskKind:
    """The :class:`TaskKind` of a spec's ``task_type`` (the value, not the spec, so the task's
    call path stays short)."""
    if task_type not in KINDS:
        raise ValueError(
            f"task type {task_type!r} has no heads, loss or metrics here; known: {list(KINDS)}"
        )
    return KINDS[task_type]


__all__ = ["KINDS", "MultilabelKind", "RegressionKind", "TaskKind", "is_per_base", "task_kind"]
