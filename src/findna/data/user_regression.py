"""Regression tasks from a user's own tables (issue 23): ``--target-columns a,b`` or a task YAML
with ``type: regression`` and ``targets: [a, b]``.

The layouts are the tables of :mod:`findna.data.user_layouts` (split tables, or one table with
or without a split column). Every target cell is read and checked before the task is loaded
(:mod:`findna.data.targets`): a missing target column names the header, a value that is not a
number, an empty, NaN or infinite one names its file, data row and column, and a training target
that never changes is refused. Splits a user did not give are filled at random, seeded (never
stratified: there are no classes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from findna.data.readers import data_row, read_frame
from findna.data.row_ids import table_id_column
from findna.data.targets import TARGET_FIX, check_varies, parse_targets, require_target_columns
from findna.data.task_spec import TaskSpec
from findna.data.user_layouts import (
    USER_SUITE,
    UserTaskOptions,
    choose_protocol,
    read_table_labels,
)


def regression_table_task(
    name: str,
    files: Mapping[str, Path],
    opts: UserTaskOptions,
    origin: str,
    split_column: str | None = None,
) -> TaskSpec:
    """A regression task of CSV/TSV tables: one per split (``train``/``dev``/``test``, or
    ``all``), or one table whose ``split_column`` names each row's split."""
    targets = opts.target_columns
    if not targets:
        instead = (
            f" (not --label-column: --target-columns {opts.label_column})"
            if opts.label_column is not None
            else ""
        )
        raise ValueError(
            f"{origin}: a regression task needs its target column(s); {TARGET_FIX}{instead}."
        )
    for flag, value in (("--label-column", opts.label_column), ("labels", opts.labels)):
        if value is not None:
            raise ValueError(
                f"{origin}: {flag} is for classification; a regression task reads its targets "
                "from the target columns. Drop it."
            )
    frames: dict[Path, pd.DataFrame] = {}
    for path in dict.fromkeys(files.values()):
        frames[path] = read_frame(path, None)
        require_target_columns(path, list(frames[path].columns), targets)
    # the checks of classification's label cells (sequence column, split values, empty tables),
    # with the first target column in the label's place
    parts = read_table_labels(files, with_label_column(opts, targets[0]), split_column)
    fit = "train" if "train" in parts else next(iter(parts))
    for role, part in parts.items():
        df = frames[part.path].iloc[part.rows]
        values = parse_targets(df, targets, lambda i, p=part: data_row(p.path, p.rows[i]))
        if role == fit:
            check_varies(f"{part.path} ({fit} rows)", values, targets)
    return target_table_spec(
        name, files, opts, origin, split_column, parts, "regression", "pearson", targets
    )


def target_table_spec(
    name: str,
    files: Mapping[str, Path],
    opts: UserTaskOptions,
    origin: str,
    split_column: str | None,
    roles: Iterable[str],
    task_type: str,
    default_metric: str,
    targets: Sequence[str],
    **layout: Any,
) -> TaskSpec:
    """The ``TaskSpec`` of a user's regression or multi-label table whose target cells were
    checked: ``roles`` are the splits the table(s) hold (one table with a ``split_column`` names
    its file once per split), ``layout`` the type's own spec fields (e.g. a label column)."""
    one = next(iter(files.values()))
    if split_column is not None:
        files = {role: one for role in roles}
    protocol = choose_protocol(set(files), origin, opts.protocol)
    kind = "regression" if task_type == "regression" else "multi-label"
    where = f"one table, split column {split_column!r}" if split_column else "split tables"
    return TaskSpec(
        name=name,
        suite=USER_SUITE,
        files={r: str(p.resolve()) for r, p in files.items()},
        format="table",
        num_classes=0,
        metric=opts.metric or default_metric,
        protocol=protocol,
        max_len=opts.max_len,
        description=opts.description or f"your own data ({where}, {kind}): {origin}",
        sequence_column=opts.sequence_column,
        split_column=split_column,
        id_column=table_id_column(files.values()),
        origin=origin,
        task_type=task_type,
        targets=tuple(targets),
        **layout,
    )


def with_label_column(opts: UserTaskOptions, column: str) -> UserTaskOptions:
    """``opts`` as a classification table's options whose label is ``column``: the table checks
    of :func:`~findna.data.user_layouts.read_table_labels` (sequence column, split values, empty
    tables) then read a target or label column in the label's place."""
    given = {**opts.given(), "label_column": column}
    for key in ("target_columns", "task_type", "label_separator", "labels"):
        given.pop(key, None)
    return UserTaskOptions(**given)
