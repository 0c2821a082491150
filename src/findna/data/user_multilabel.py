"""Multi-label tasks from a user's own tables (issue 23): ``--task-type multilabel`` with one 0/1
column per label (``--target-columns a,b,c``), or one column listing each row's positive labels
(``--label-column labels``, separated by ``--label-separator``, default ``;``); a task YAML says
``type: multilabel`` with ``targets: [a, b, c]`` or ``label_column`` and ``label_separator``.

The layouts are the tables of :mod:`findna.data.user_layouts` (split tables, or one table with
or without a split column). Every label cell is read and checked before the task is loaded
(:mod:`findna.data.multilabels`): a value other than 0/1 names its file, data row and column; a
listed label training never lists names itself, its row and the known labels; a label no training
row has is refused (nothing to learn). An empty cell of a listing column is a row with no
positive label. Splits a user did not give are filled at random, seeded (never stratified).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from findna.data.multilabels import (
    DEFAULT_SEPARATOR,
    known_labels_text,
    labels_listed,
    parse_binary,
    parse_label_lists,
)
from findna.data.readers import data_row, read_frame
from findna.data.targets import require_target_columns
from findna.data.task_spec import TaskSpec
from findna.data.user_layouts import UserTaskOptions, read_table_labels
from findna.data.user_regression import target_table_spec, with_label_column

MULTILABEL_FIX = (
    "pass --task-type multilabel with --target-columns A,B (one 0/1 column per label) or "
    "--label-column NAME [--label-separator ';'] (one column listing the labels)"
)


def multilabel_table_task(
    name: str,
    files: Mapping[str, Path],
    opts: UserTaskOptions,
    origin: str,
    split_column: str | None = None,
) -> TaskSpec:
    """A multi-label task of CSV/TSV tables: one per split (``train``/``dev``/``test``, or
    ``all``), or one table whose ``split_column`` names each row's split."""
    columns = opts.target_columns
    if columns and opts.label_separator is not None:
        raise ValueError(
            f"{origin}: give one 0/1 column per label (--target-columns) or one column listing "
            "the labels (--label-column with --label-separator), not both"
        )
    if columns and (opts.label_column is not None or opts.labels is not None):
        raise ValueError(
            f"{origin}: --label-column and labels are for one column listing the labels; with "
            "--target-columns every label is its own 0/1 column. Drop one of them."
        )
    fit_role = "train" if "train" in files or split_column is not None else next(iter(files))
    if columns:
        parts, targets = _binary_parts(files, opts, columns, split_column)
        fit_role = fit_role if fit_role in parts else next(iter(parts))
        _require_both_values(parts[fit_role], targets, fit_role)
        layout_extra: dict[str, object] = {}
    else:
        separator = opts.label_separator or DEFAULT_SEPARATOR
        label = opts.label_column or "label"
        cells = read_table_labels(files, with_label_column(opts, label), split_column)
        fit_role = fit_role if fit_role in cells else next(iter(cells))
        fit = cells[fit_role]
        names = list(opts.labels) if opts.labels else _listed(fit, separator, label)
        for role, part in cells.items():  # every listed label must be known from training
            matrix = parse_label_lists(
                part.values.tolist(),
                names,
                separator,
                lambda i, p=part: data_row(p.path, p.rows[i]),
                label,
            )
            if role == fit_role:
                _require_both_values((part.path, matrix), tuple(names), fit_role, listed=True)
        targets = tuple(names)
        layout_extra = {"label_column": label, "label_separator": separator}
        parts = cells
    return target_table_spec(
        name,
        files,
        opts,
        origin,
        split_column,
        parts,
        "multilabel",
        "macro_auroc",
        targets,
        **layout_extra,
    )


def _binary_parts(
    files: Mapping[str, Path],
    opts: UserTaskOptions,
    columns: tuple[str, ...],
    split_column: str | None,
) -> tuple[dict[str, tuple[Path, np.ndarray]], tuple[str, ...]]:
    """Each role's file and (N, L) 0/1 labels, every cell checked."""
    frames: dict[Path, pd.DataFrame] = {}
    for path in dict.fromkeys(files.values()):
        frames[path] = read_frame(path, None)
        require_target_columns(path, list(frames[path].columns), columns)
    # the checks of classification's label cells (sequence column, split values, empty tables),
    # with the first label column in the label's place
    cells = read_table_labels(files, with_label_column(opts, columns[0]), split_column)
    out = {}
    for role, part in cells.items():
        df = frames[part.path].iloc[part.rows]
        where = lambda i, p=part: data_row(p.path, p.rows[i])  # noqa: E731
        out[role] = (part.path, parse_binary(df, columns, where))
    return out, tuple(columns)


def _require_both_values(
    fit: tuple[Path, np.ndarray], names: tuple[str, ...], role: str, listed: bool = False
) -> None:
    """Refuse a label no row of the training split has, or every row has (nothing to learn);
    ``listed``: the labels come from one column listing them (else one 0/1 column each)."""
    path, labels = fit
    counts = labels.sum(axis=0)
    drop = "from labels: (or the lists)" if listed else "from --target-columns"
    missing = [n for n, k in zip(names, counts, strict=True) if k == 0]
    if missing:
        what = (
            "label(s) {} are listed in no row"
            if listed
            else "label column(s) {} are 0 in every row"
        )
        raise ValueError(
            f"{path} ({role} rows): the {what.format(missing)}, so no training row has the "
            f"label ({known_labels_text(list(names))}). Add rows with it, or drop it {drop}."
        )
    everywhere = [n for n, k in zip(names, counts, strict=True) if k == len(labels)]
    if everywhere:
        raise ValueError(
            f"{path} ({role} rows): the label(s) {everywhere} are on every one of the "
            f"{len(labels)} training rows, so there is nothing to tell apart "
            f"({known_labels_text(list(names))}). Add training rows without it, or drop it "
            f"{drop}."
        )


def _listed(fit, separator: str, column: str) -> list[str]:
    names = labels_listed(
        fit.values.tolist(), separator, lambda i: data_row(fit.path, fit.rows[i]), column
    )
    if not names:
        raise ValueError(
            f"{fit.path}: no training row lists a label in column {column!r} (separator "
            f"{separator!r}); {MULTILABEL_FIX}."
        )
    return names
