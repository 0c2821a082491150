"""What ``findna predict`` writes for a per-base model (task type ``per_base``), and how it is
scored.

A per-base model (:class:`~findna.model.token_classifier.TokenClassifier`) gives every base of a
sequence a class. The predictions CSV has one row per sequence: ``id``, the truth column when
the input has one, and ``predicted_labels``: a string of class characters (the model's one-
character class names, ``task.json``'s ``classes``), one per base, as long as the sequence. The
per-class probabilities of every base are too wide for a CSV: ``--per-base-probs FILE.npy``
writes them as one (T, C) float32 array, T the number of bases of all sequences in input order
(sequence i's rows follow sequence i-1's: its offset is the sum of the lengths of the sequences
before it, i.e. of the ``predicted_labels`` before it), column c the probability of class c.
The array is written as a memmap while the input streams through, so memory does not grow with
it.

Truths: a table's label column (``label``, or ``--label-column``) holding a label string per
row in the same form (a class character per base; the length must be the sequence's); the
metrics are per-base MCC, accuracy, macro F1 and F1 per class over every base of every row
(:mod:`findna.eval.per_base_metrics`), accumulated chunk by chunk from a confusion matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from findna.data.per_base import PAD_LABEL, parse_label_strings
from findna.eval.features import autocast
from findna.eval.per_base_metrics import confusion, metrics_from_confusion
from findna.model.classifier import ClassifierInfo, batch_tensors
from findna.model.token_classifier import TokenClassifier

PROBS_DTYPE = np.float32
"""The dtype of ``--per-base-probs``' array."""


@torch.no_grad()
def per_base_probs(
    model: TokenClassifier,
    codes: Sequence[np.ndarray],
    *,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
    precision: str = "auto",
) -> list[np.ndarray]:
    """Softmax class probabilities of every base of encoded sequences, in input order.

    Sequences are sorted by length before batching (less padding), padded as the model pads them
    (:func:`~findna.model.classifier.batch_tensors`) and the order is restored.

    Returns:
        N float32 arrays, (L_i, C) each; rows sum to 1.
    """
    if not codes:
        raise ValueError("no sequences to predict")
    device = torch.device(device)
    model.eval()
    order = np.argsort([len(c) for c in codes], kind="stable")
    out: list[np.ndarray | None] = [None] * len(codes)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        x, lengths = batch_tensors(model, [codes[i] for i in idx])
        with autocast(device, precision):
            logits = model(x.to(device), lengths.to(device))
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy().astype(PROBS_DTYPE)
        for row, i in enumerate(idx):
            out[i] = probs[row, : len(codes[i])]
    return [p for p in out if p is not None]


def label_strings(probs: Iterable[np.ndarray], classes: Sequence[str]) -> list[str]:
    """Each sequence's argmax classes as a string of class characters (one per base)."""
    names = np.asarray(list(classes), dtype="<U1")
    return ["".join(names[p.argmax(axis=1)]) for p in probs]


def counting(records: Iterable[tuple[str, np.ndarray]], total: list[int]) -> Iterator:
    """``records`` as they are, adding each one's length to ``total[0]`` (the bases of an input
    counted while its lengths are scanned)."""
    for rid, codes in records:
        total[0] += len(codes)
        yield rid, codes


class PerBaseOutputs:
    """A per-base model's CSV columns, probabilities file and metrics, one chunk at a time.

    Args:
        info: the model's ``task.json``.
        truths: the input's label strings (all rows), or None.
        where: data row index -> location text (file and row) for messages.
        probs_file: an open (T, C) memmap for ``--per-base-probs`` (None: not written).
        splits: each row's split (all rows), to score every split apart too; None: not asked.
    """

    def __init__(
        self,
        info: ClassifierInfo,
        truths: Sequence[str] | None,
        where: Callable[[int], str],
        probs_file: np.ndarray | None = None,
        splits: np.ndarray | None = None,
    ) -> None:
        self.info, self.truths, self.where, self.probs_file = info, truths, where, probs_file
        self.splits = splits
        self.cm = np.zeros((info.num_classes, info.num_classes), dtype=np.int64)
        self.split_cm: dict[str, np.ndarray] = {}
        self.split_rows: dict[str, int] = {}
        self.rows = self.bases = 0

    def chunk(self, codes: Sequence[np.ndarray], probs: list[np.ndarray]) -> dict[str, list]:
        """The CSV columns of a chunk (``predicted_labels``); its probabilities written and its
        truths scored.

        Raises:
            ValueError: naming the file and row of a truth whose length is not the sequence's or
                that holds a character that is no class of the model.
        """
        preds = label_strings(probs, self.info.classes)
        n = len(codes)
        if self.truths is not None:
            first = self.rows
            given = self.truths[first : first + n]
            y = parse_label_strings(
                given, codes, self.info.classes, lambda i: self.where(first + i)
            )
            pred = np.zeros(y.shape, dtype=np.int64)
            for row, p in enumerate(probs):
                pred[row, : len(p)] = p.argmax(axis=1)
            pred = np.where(y == PAD_LABEL, 0, pred)
            self.cm += confusion(y, pred, self.info.num_classes)
            if self.splits is not None:
                self._count_splits(self.splits[first : first + n], y, pred)
        if self.probs_file is not None:
            for p in probs:
                self.probs_file[self.bases : self.bases + len(p)] = p
                self.bases += len(p)
        self.rows += n
        return {"predicted_labels": preds}

    def _count_splits(self, splits: np.ndarray, y: np.ndarray, pred: np.ndarray) -> None:
        """Add a chunk's confusion counts to those of its rows' splits."""
        c = self.info.num_classes
        for name in dict.fromkeys(splits):
            rows = splits == name
            cm = self.split_cm.setdefault(name, np.zeros((c, c), dtype=np.int64))
            cm += confusion(y[rows], pred[rows], c)
            self.split_rows[name] = self.split_rows.get(name, 0) + int(rows.sum())

    def close(self) -> None:
        """Flush the probabilities file and let it go (before it is renamed)."""
        if self.probs_file is not None:
            self.probs_file.flush()
            self.probs_file = None

    def metrics(self) -> dict[str, float]:
        """Per-base MCC, accuracy, macro F1 and ``f1_<class>`` over every scored base."""
        return metrics_from_confusion(self.cm, self.info.classes)

    def split_metrics(self) -> dict[str, dict] | None:
        """:meth:`metrics` of each split's rows (split -> ``{"rows": n, "metrics": {...}}``, in
        order of first appearance); None when no splits were given."""
        if self.splits is None:
            return None
        return {
            name: {
                "rows": self.split_rows[name],
                "metrics": metrics_from_confusion(cm, self.info.classes),
            }
            for name, cm in self.split_cm.items()
        }


def open_probs_file(path: Path, bases: int, num_classes: int) -> np.ndarray:
    """A (bases, num_classes) float32 ``.npy`` memmap written at ``path`` (a temporary name)."""
    return np.lib.format.open_memmap(path, mode="w+", dtype=PROBS_DTYPE, shape=(bases, num_classes))


def check_probs_path(path: str | Path | None, info: ClassifierInfo) -> Path | None:
    """``path`` as a Path (None: not asked).

    Raises:
        ValueError: ``--per-base-probs`` given for a model that is not per-base, or a name that
            does not end in ``.npy``.
    """
    if path is None:
        return None
    if info.task_type != "per_base":
        raise ValueError(
            f"--per-base-probs {path}: the model is a {info.task_type} model ({info.task}); "
            "per-base probabilities are for per-base models only. Drop --per-base-probs"
        )
    if not str(path).endswith(".npy"):
        raise ValueError(f"--per-base-probs {path}: name a .npy file (a (bases, classes) array)")
    return Path(path)


__all__ = [
    "PROBS_DTYPE",
    "PerBaseOutputs",
    "check_probs_path",
    "counting",
    "label_strings",
    "open_probs_file",
    "per_base_probs",
]
