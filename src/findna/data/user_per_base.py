"""Per-base tasks from a user's own tables (issue 23): ``--task-type per_base`` (or ``per-base``)
with ``--label-column`` naming a column of *label strings*, one class character per base
(:mod:`findna.data.per_base`); a task YAML says ``type: per_base`` and may list the classes
(``classes: ['0', '1']``, in label order).

The layouts are the tables of :mod:`findna.data.user_layouts` (split tables, or one table with
or without a split column). Without declared classes they are the distinct characters of the
training split's label strings, in sorted (code-point) order: ``0``/``1`` become 0/1, ``e``,
``i``, ``n`` become 0, 1, 2. Every label string of every split is checked before the task is
loaded (:func:`findna.data.per_base.parse_label_strings`): a length that differs from its
sequence, or a character that is no class, names its file and data row. Splits a user did not
give are filled at random by row, seeded (never stratified: a row holds several classes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from findna.data.per_base import parse_label_strings
from findna.data.readers import data_row, find_sequence_column, read_frame
from findna.data.row_ids import table_id_column
from findna.data.task_spec import CLASSIFICATION_METRICS, TaskSpec
from findna.data.user_layouts import (
    USER_SUITE,
    UserTaskOptions,
    choose_protocol,
    read_table_labels,
)
from findna.data.user_regression import with_label_column

log = logging.getLogger(__name__)

PER_BASE_FIX = (
    "a per-base table has a column of label strings, one class character per base "
    "(--task-type per_base --label-column NAME; type: per_base in a task YAML)"
)


def per_base_table_task(
    name: str,
    files: Mapping[str, Path],
    opts: UserTaskOptions,
    origin: str,
    split_column: str | None = None,
) -> TaskSpec:
    """A per-base task of CSV/TSV tables: one per split (``train``/``dev``/``test``, or
    ``all``), or one table whose ``split_column`` names each row's split.

    Returns:
        ``TaskSpec(format="table", task_type="per_base")`` with the classes in label order.

    Raises:
        ValueError: target columns given, a metric per-base tasks do not compute, a missing
            column, a label string of the wrong length or with a character outside the classes
            (file and data row), or training label strings of fewer than 2 classes.
    """
    if opts.target_columns is not None:
        raise ValueError(
            f"{origin}: --target-columns are for regression and multi-label tasks; {PER_BASE_FIX}."
        )
    if opts.metric is not None and opts.metric not in CLASSIFICATION_METRICS:
        raise ValueError(
            f"{origin}: metric {opts.metric!r} is not a per-base metric; use one of "
            f"{list(CLASSIFICATION_METRICS)} (every base counts as one sample)"
        )
    label = opts.label_column or "label"
    # the checks of classification's label cells (columns, split values, empty tables)
    parts = read_table_labels(files, with_label_column(opts, label), split_column)
    frames = {p.path: read_frame(p.path, None) for p in parts.values()}
    fit = "train" if "train" in parts else next(iter(parts))
    strings = {role: _cells(frames[p.path], label, p.rows) for role, p in parts.items()}
    classes = opts.labels or tuple(sorted(set("".join(strings[fit]))))
    if opts.labels is None and len(classes) < 2:
        raise ValueError(
            f"{parts[fit].path} ({fit} rows): the label strings of column {label!r} hold one "
            f"class only ({list(classes)}); a per-base task needs at least 2. Check that "
            "--label-column names the label strings, or declare the classes (classes: in a "
            "task YAML)."
        )
    if opts.labels is None:
        train = parts[fit]
        _warn_rare_classes(strings[fit], classes, lambda i: data_row(train.path, train.rows[i]))
    for role, part in parts.items():
        df = frames[part.path]
        seq_col = opts.sequence_column or find_sequence_column(part.path, list(df.columns), "")
        seqs = _cells(df, seq_col, part.rows)
        where = lambda i, p=part: data_row(p.path, p.rows[i])  # noqa: E731
        parse_label_strings(strings[role], seqs, classes, where)
    one = next(iter(files.values()))
    if split_column is not None:
        files = {role: one for role in parts}
    protocol = choose_protocol(set(files), origin, opts.protocol)
    layout = f"one table, split column {split_column!r}" if split_column else "split tables"
    if set(files) == {"all"}:
        layout = "one table, no split column"
    return TaskSpec(
        name=name,
        suite=USER_SUITE,
        files={r: str(p.resolve()) for r, p in files.items()},
        format="table",
        num_classes=len(classes),
        metric=opts.metric or "mcc",
        protocol=protocol,
        max_len=opts.max_len,
        description=opts.description or f"your own data ({layout}, per-base): {origin}",
        classes=tuple(classes),
        sequence_column=opts.sequence_column,
        label_column=label,
        split_column=split_column,
        id_column=table_id_column(files.values()),
        origin=origin,
        task_type="per_base",
    )


def _warn_rare_classes(
    strings: Sequence[str], classes: Sequence[str], where: Callable[[int], str]
) -> None:
    """Warn about a class that one training row alone holds (a typo in a label string?)."""
    if len(strings) < 10:
        return
    for c in classes:
        rows = [i for i, s in enumerate(strings) if c in s]
        if len(rows) == 1:
            i = rows[0]
            log.warning(
                "%s: class %r appears in this training row only (%d of its bases, out of %d "
                "training rows), so it becomes a class of its own. If it is a typo, fix the "
                "label string; to fix the classes, declare them (classes: in a task YAML).",
                where(i),
                c,
                strings[i].count(c),
                len(strings),
            )


def _cells(df: pd.DataFrame, column: str, rows: list[int]) -> list[str]:
    """The stripped cells of ``column`` at the 0-based data ``rows``."""
    return [str(v).strip() for v in df[column].iloc[rows]]


__all__ = ["PER_BASE_FIX", "per_base_table_task"]
