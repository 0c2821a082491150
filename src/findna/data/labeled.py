""":class:`LabeledSequences`: a task's rows (sequences, class labels, regression targets or
multi-label 0/1 labels, row ids), as
every reader returns them (:mod:`findna.data.readers`, :mod:`findna.data.layouts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def as_labels(labels: np.ndarray | Sequence) -> np.ndarray:
    """Class labels as (N,) int64; regression targets (any float array) as (N, T) float32 (a 1-D
    float array becomes (N, 1)); multi-label 0/1 labels (a 2-D integer or bool array) as (N, L)
    int64."""
    arr = np.asarray(labels)
    if np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32, copy=False)
        return arr.reshape(-1, 1) if arr.ndim == 1 else arr
    return np.asarray(arr, dtype=np.int64)


@dataclass
class LabeledSequences:
    """Sequences with integer class labels (classification), float targets (regression) or 0/1
    labels (multi-label).

    Attributes:
        seqs: N DNA strings (as read; case kept).
        labels: (N,) int64 class indices for classification; (N, T) float32 targets for
            regression (T targets in the order of the task's ``targets``); (N, L) int64 0/1 for
            multi-label (L labels in the order of the task's ``targets``). A float array given
            stays float32 and 2-D (1-D becomes (N, 1)); anything else becomes int64.
        ids: N row identifiers (``file:row``, file stems or record names), unique within a task.
    """

    seqs: list[str]
    labels: np.ndarray
    ids: list[str]

    def __post_init__(self) -> None:
        self.labels = as_labels(self.labels)
        if self.labels.ndim not in (1, 2):
            raise ValueError(
                f"labels must be (N,) int class indices, (N, T) float targets or (N, L) 0/1 "
                f"labels, got shape {self.labels.shape} of {self.labels.dtype}"
            )
        if self.is_multilabel and self.labels.size and not np.isin(self.labels, (0, 1)).all():
            raise ValueError(
                f"(N, L) integer labels are multi-label and must be 0 or 1, got values "
                f"{sorted(set(np.unique(self.labels).tolist()) - {0, 1})[:5]}"
            )
        if not len(self.seqs) == len(self.labels) == len(self.ids):
            raise ValueError(
                f"seqs, labels and ids differ in length: "
                f"{len(self.seqs)}, {len(self.labels)}, {len(self.ids)}"
            )

    def __len__(self) -> int:
        return len(self.seqs)

    @property
    def is_regression(self) -> bool:
        """Whether the labels are (N, T) float targets."""
        return self.labels.dtype == np.float32

    @property
    def is_multilabel(self) -> bool:
        """Whether the labels are (N, L) 0/1 multi-label indicators."""
        return self.labels.ndim == 2 and self.labels.dtype == np.int64

    def lengths(self) -> np.ndarray:
        """(N,) int64 sequence lengths."""
        return np.fromiter(map(len, self.seqs), dtype=np.int64, count=len(self.seqs))

    def subset(self, index: np.ndarray | Sequence[int]) -> LabeledSequences:
        """The rows at ``index`` (in that order)."""
        index = np.asarray(index, dtype=np.int64)
        return LabeledSequences(
            [self.seqs[i] for i in index], self.labels[index], [self.ids[i] for i in index]
        )

    @staticmethod
    def concat(parts: Sequence[LabeledSequences]) -> LabeledSequences:
        """All rows of ``parts`` in order (all of one kind, with the same T targets or L labels)."""
        return LabeledSequences(
            [s for p in parts for s in p.seqs],
            np.concatenate([p.labels for p in parts]) if parts else np.zeros(0, np.int64),
            [i for p in parts for i in p.ids],
        )
