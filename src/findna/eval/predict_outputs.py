"""What ``findna predict`` writes for each task type, and the truths it scores against.

A saved model's ``task.json`` names its task type (:mod:`findna.model.classifier`):

- ``classification``: ``prob_<class>`` per class (softmax), ``predicted`` (the argmax class
  index) and ``predicted_label`` (its name); truths: one label column (``label``, or
  ``--label-column``) of class names or indices;
- ``regression``: ``pred_<target>`` per target, in the targets' units (the head's standardised
  outputs times the training split's sd plus its mean); truths: one numeric column per target,
  named after the targets (or ``--label-column a,b`` in target order);
- ``multilabel``: ``prob_<label>`` per label (sigmoid) and ``predicted_labels``, the labels whose
  probability is at least the threshold (0.5 unless ``--threshold``), joined by
  :data:`LABEL_JOIN` (empty: none); truths: one 0/1 column per label, named after the labels
  (or ``--label-column a,b`` in label order), or ``--label-column NAME``: one column listing
  each row's labels in ``predicted_labels``' form.

A table holding every truth column (or given ``--label-column``) keeps them (after ``id``) and
is scored: regression by Pearson r, Spearman rho and R^2 per target and their means, multi-label
by AUROC/AUPRC per label and their macro means (:func:`findna.eval.metrics.compute_metrics`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from findna.eval.task_types import task_kind
from findna.model.classifier import ClassifierInfo

log = logging.getLogger(__name__)

LABEL_JOIN = ";"
"""Separator of ``predicted_labels`` (a multi-label model's labels over the threshold)."""
LABEL_COLUMN = "label"
"""A classifier's truth column in a table input when ``--label-column`` is not given."""
DEFAULT_THRESHOLD = 0.5
"""A multi-label model's probability at or above which a label is predicted."""


def check_threshold(threshold: float | None, info: ClassifierInfo) -> float:
    """The multi-label threshold: ``threshold``, or :data:`DEFAULT_THRESHOLD` when None.

    Raises:
        ValueError: naming ``--threshold``: a value not strictly between 0 and 1, or a value
            given for a model that is not multi-label (it would be ignored).
    """
    if threshold is None:
        return DEFAULT_THRESHOLD
    if info.task_type != "multilabel":
        raise ValueError(
            f"--threshold {threshold}: the model is a {info.task_type} model ({info.task}); "
            "a threshold is for multi-label models only. Drop --threshold"
        )
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(
            f"--threshold {threshold}: a multi-label threshold is a probability strictly "
            f"between 0 and 1 (default {DEFAULT_THRESHOLD})"
        )
    return float(threshold)


def output_columns(
    info: ClassifierInfo, outputs: np.ndarray, threshold: float = DEFAULT_THRESHOLD
) -> dict[str, np.ndarray]:
    """The prediction CSV's columns after ``id`` and the truths, for (N, C) ``outputs`` of
    :func:`findna.eval.predict.model_outputs` (see the module docstring)."""
    names = info.classes
    prefix = task_kind(info.task_type).columns[1]  # prob_<class>, pred_<target>, prob_<label>
    columns = {f"{prefix}_{c}": outputs[:, j] for j, c in enumerate(names)}
    if info.task_type == "regression":
        return columns
    if info.task_type == "multilabel":
        over = outputs >= threshold
        labels = np.asarray(names, dtype=object)
        columns["predicted_labels"] = np.array(
            [LABEL_JOIN.join(labels[row]) for row in over], dtype=object
        )
        return columns
    columns["predicted"] = outputs.argmax(axis=1)
    columns["predicted_label"] = np.asarray(names, dtype=object)[columns["predicted"]]
    return columns


def truth_columns(
    path: Path, info: ClassifierInfo, header: Sequence[str], given: str | None
) -> list[str] | None:
    """The truth columns of a regression or multi-label model in a table's ``header``: those
    named by ``given`` (``--label-column a,b``, one per output, in output order; for a model of
    several labels also one column listing each row's labels, :func:`listed_labels`), else the
    outputs' own names when the header has them all; None when it lacks some (nothing scored).

    Raises:
        ValueError: ``given`` names the wrong number of columns, or a column not in the header.
    """
    what = "target" if info.task_type == "regression" else "label"
    if given is None:
        return list(info.classes) if all(c in header for c in info.classes) else None
    columns = [c.strip() for c in given.split(",")]
    listing = info.task_type == "multilabel" and len(columns) == 1 < info.num_classes
    if len(columns) != info.num_classes and not listing:
        raise ValueError(
            f"--label-column {given}: the model has {info.num_classes} {what}(s) "
            f"({', '.join(info.classes)}); name one column per {what}, in that order, separated "
            f"by commas{' (or one column listing the labels)' * (what == 'label')}, or drop "
            "--label-column to use the columns named after them"
        )
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(
            f"{path}: no column(s) {missing}; the header has {list(header)}. Fix --label-column "
            f"(one column per {what}: {', '.join(info.classes)}), or drop it to score nothing."
        )
    return columns


def parse_truths(
    frame, columns: Sequence[str], info: ClassifierInfo, path: Path
) -> tuple[dict[str, list[str]], np.ndarray]:
    """The truth cells of ``columns`` (read as text) as written, and as (N, C) numbers:
    float64 targets, or int64 0/1 labels.

    Raises:
        ValueError: naming the file, data row and column of an empty, non-numeric or infinite
            target, or of a label cell that is not 0 or 1.
    """
    from findna.data.readers import data_row
    from findna.data.targets import parse_targets

    given = {c: frame[c].str.strip().tolist() for c in columns}
    if info.task_type == "multilabel" and len(columns) == 1 < info.num_classes:
        return given, listed_labels(given[columns[0]], columns[0], info, path)
    if info.task_type == "regression":
        return given, parse_targets(frame, columns, lambda i: data_row(path, i)).astype(np.float64)
    for c in columns:
        bad = next((i for i, v in enumerate(given[c]) if v not in ("0", "1")), None)
        if bad is not None:
            raise ValueError(
                f"{data_row(path, bad)}, column {c!r}: the label {given[c][bad]!r} is not 0 or 1. "
                "A multi-label truth column holds 1 (the label applies) or 0: fix the cell, or "
                "drop the column."
            )
    truths = np.array([[int(v) for v in given[c]] for c in columns], dtype=np.int64).T
    return given, truths.reshape(len(frame), len(columns))


def input_labels(
    path: Path, info: ClassifierInfo, column: str | None = None
) -> tuple[dict[str, list[str]], np.ndarray] | None:
    """The truths of a table input, as written (column name -> cells) and as numbers; None for
    FASTA/text, or a table without them when ``column`` is not given.

    A classifier's: the label column (``column``, default ``label``) as class indices (its cells
    are integers ``0..C-1`` or the class names); a per-base model's: that column's label strings
    as they are (checked per sequence: ``findna.eval.predict_per_base``). A regression or
    multi-label model's: one column per output (:func:`truth_columns`, ``parse_truths``).

    Raises:
        ValueError: naming the row of a label that is neither, or a ``column`` given that the
            input lacks (or a FASTA/text input, which has no columns).
    """
    import pandas as pd

    from findna.data.readers import data_row
    from findna.data.table_files import read_column, table_errors, table_header, table_separator
    from findna.eval.embed import input_format

    name = column or LABEL_COLUMN
    if input_format(path) != "table":
        if column is not None:
            raise ValueError(f"--label-column {column}: {path} is not a table; it has no columns")
        return None
    sep = table_separator(path)
    if info.task_type not in ("classification", "per_base"):
        columns = truth_columns(path, info, table_header(path), column)
        if columns is None:
            return None
        with table_errors(path, sep):
            frame = pd.read_csv(
                path, sep=sep, dtype=str, keep_default_na=False, usecols=lambda c: c in columns
            )
        frame.columns = frame.columns.str.strip()
        return parse_truths(frame, columns, info, path)
    values = read_column(path, name)
    if values is None:
        if column is None:
            return None
        raise ValueError(
            f"{path}: no label column {column!r}; the header has {table_header(path)}. Fix "
            "--label-column, or drop it to score no labels."
        )
    given = values.str.strip().tolist()
    if info.task_type == "per_base":  # label strings, parsed against each sequence's length
        return {name: given}, np.asarray(given, dtype=object)
    names = {name: i for i, name in enumerate(info.classes)}
    numbers = {str(i): i for i in range(info.num_classes)}
    lookup = names if all(v in names for v in given) else numbers
    bad = next((i for i, v in enumerate(given) if v not in lookup), None)
    if bad is not None:
        raise ValueError(
            f"{data_row(path, bad)}: label {given[bad]!r} is not a class of the classifier "
            f"(classes {info.classes}, or 0..{info.num_classes - 1}). Fix the label or drop the "
            f"{name!r} column."
        )
    return {name: given}, np.array([lookup[v] for v in given], dtype=np.int64)


def table_splits(path: Path, column: str | None = None) -> np.ndarray | None:
    """A scored table's split per row (its ``column``, default ``split``, stripped and
    lower-case, with the validation split's other names (``dev``, ``valid``, ``validation``)
    read as ``val``, as task tables are read; an empty cell is ``(empty)``) when that column
    holds rows other than test rows, logged at WARNING (the metrics over all rows then cover
    training rows too, a task table given to ``findna predict`` as it is); None for a table
    without the column or with test rows only.

    Raises:
        ValueError: ``column`` is given and the table has no such column.
    """
    from findna.data.splits import SPLIT_VALUES
    from findna.data.table_files import read_column, table_header

    cells = read_column(path, column or "split")
    if cells is None:
        if column is None:
            return None
        raise ValueError(
            f"{path}: no split column {column!r}; the header has {table_header(path)}. Fix "
            "--split-column, or drop it to score all rows together."
        )
    aliases = {word: "val" for word in SPLIT_VALUES["dev"]} | {"": "(empty)"}
    splits = cells.str.strip().str.lower().replace(aliases).to_numpy(dtype=object)
    names, counts = np.unique(splits, return_counts=True)
    if set(names) <= {"test"}:
        return None
    log.warning(
        "%s has a %r column: the metrics cover all %d rows (%s), not the test rows alone; "
        "each split's metrics are under 'per_split' in the metrics file.",
        path,
        column or "split",
        len(splits),
        ", ".join(f"{k} {v}" for k, v in zip(names, counts, strict=True)),
    )
    return splits


def split_scores(
    info: ClassifierInfo, truths: np.ndarray, outputs: np.ndarray, splits: np.ndarray
) -> dict[str, dict]:
    """:func:`score` of the rows of each split (:func:`table_splits`), in order of first
    appearance: split -> ``{"rows": n, "metrics": {...}}``."""
    scores = {}
    for name in dict.fromkeys(splits):
        rows = splits == name
        scores[name] = {
            "rows": int(rows.sum()),
            "metrics": score(info, truths[rows], outputs[rows]),
        }
    return scores


def listed_labels(
    cells: Sequence[str], column: str, info: ClassifierInfo, path: Path
) -> np.ndarray:
    """A column listing each row's labels (``predicted_labels``' form: names joined by
    :data:`LABEL_JOIN`; an empty cell is a row with no label) as (N, L) int64 0/1 truths.

    Raises:
        ValueError: naming the file, data row and column of a name that is not a label of the
            model (with a few of its labels).
    """
    from findna.data.readers import data_row

    index = {name: j for j, name in enumerate(info.classes)}
    truths = np.zeros((len(cells), info.num_classes), dtype=np.int64)
    for i, cell in enumerate(cells):
        for name in filter(None, (n.strip() for n in cell.split(LABEL_JOIN))):
            if name not in index:
                known = ", ".join(info.classes[:5]) + (", ..." if info.num_classes > 5 else "")
                raise ValueError(
                    f"{data_row(path, i)}, column {column!r}: {name!r} is not a label of the "
                    f"model ({info.num_classes} labels: {known}). A listing column names labels "
                    f"joined by {LABEL_JOIN!r}: fix the cell, or drop --label-column."
                )
            truths[i, index[name]] = 1
    return truths


def score(info: ClassifierInfo, truths: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """The metrics of a model's outputs against the input's truths, by its task type
    (:func:`findna.eval.task_types.task_kind`'s ``score``; per-output keys named after the
    model's targets or labels)."""
    return task_kind(info.task_type).score(truths, outputs, list(info.classes))


__all__ = [
    "DEFAULT_THRESHOLD",
    "LABEL_JOIN",
    "LABEL_COLUMN",
    "check_threshold",
    "input_labels",
    "listed_labels",
    "output_columns",
    "parse_truths",
    "score",
    "split_scores",
    "table_splits",
    "truth_columns",
]
