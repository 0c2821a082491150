"""Regression targets: numeric columns of a table, read and checked (issue 23).

A regression task's labels are (N, T) float32 (:class:`findna.data.labeled.LabeledSequences`),
one column per target, in the order of the task's ``targets``. Every bad cell is a ``ValueError``
naming the file, the 1-based data row (header not counted), the column and what to fix:
a value that is not a number, an empty, NaN or infinite value. A missing target column names the
header; a training target that never changes is refused (nothing to learn).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_FIX = "pass --target-columns NAME[,NAME] (or targets: [NAME, ...] in a task YAML)"


def require_target_columns(path: Path | str, header: Sequence[str], columns: Sequence[str]) -> None:
    """Refuse target columns absent from ``header``, naming the file and the header."""
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(
            f"{path}: no target column(s) {missing}; the header has {list(header)}. Rename the "
            f"column(s), or {TARGET_FIX}."
        )


def parse_targets(
    df: pd.DataFrame, columns: Sequence[str], where: Callable[[int], str]
) -> np.ndarray:
    """The target cells of ``df`` as numbers; raise naming the row and column of a bad cell.

    Args:
        df: the table, read as strings.
        columns: the target columns, in target order (each must be in ``df``).
        where: row index of ``df`` -> location text (file and data row).

    Returns:
        (N, T) float32 targets, all finite.
    """
    out = np.empty((len(df), len(columns)), dtype=np.float64)
    for t, column in enumerate(columns):
        cells = df[column].astype(str).str.strip()
        values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
        empty = (cells == "").to_numpy() | cells.str.lower().isin(("nan", "na", "null")).to_numpy()
        bad = np.isnan(values) & ~empty
        for mask, what in (
            (empty, "is empty or NaN. Every row needs a value for every target: fill it in"),
            (bad, "is not a number. Regression targets are numbers (e.g. 3.25): fix the cell"),
            (np.isinf(values), "is infinite. Targets must be finite numbers: fix the cell"),
        ):
            if mask.any():
                i = int(np.flatnonzero(mask)[0])
                raise ValueError(
                    f"{where(i)}, column {column!r}: the target {df[column].iloc[i]!r} {what} "
                    "or drop the row."
                )
        out[:, t] = values
    big = np.abs(out) > np.finfo(np.float32).max
    if big.any():
        i, t = (int(x) for x in np.argwhere(big)[0])
        raise ValueError(
            f"{where(i)}, column {columns[t]!r}: the target {df[columns[t]].iloc[i]!r} is too "
            "large for float32 (|x| > 3.4e38). Rescale the target or drop the row."
        )
    return out.astype(np.float32)


def check_varies(where: str, targets: np.ndarray, names: Sequence[str]) -> None:
    """Refuse a target that takes one value in every training row (nothing to learn).

    Args:
        where: the training split, for the message (a file, or ``task X: train``).
        targets: (N, T) training targets.
        names: the T target names (or columns).
    """
    y = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
    for t, name in enumerate(names):
        col = y[:, t]
        if len(col) and np.all(col == col[0]):
            raise ValueError(
                f"{where}: the training target {name!r} is constant ({col[0]:g} in all "
                f"{len(col)} row(s)): there is nothing to learn. Check that the target column is "
                "the right one, or add rows with other values."
            )
