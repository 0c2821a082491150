"""Multi-label labels: several 0/1 labels per sequence, read from a table (issue 23).

Two layouts (docs/data.md, "Multi-label tasks"):

- **one 0/1 column per label** (``--target-columns H3K4me3,CTCF --task-type multilabel``, or a
  task YAML's ``type: multilabel`` with ``targets: [H3K4me3, CTCF]``): each cell is ``0`` or
  ``1`` (``0.0``/``1.0`` too); anything else, an empty cell included, is an error naming the
  file, the data row and the column (:func:`parse_binary`);
- **one column listing the positive labels** (``--label-column labels --label-separator ';'``
  with ``--task-type multilabel``): a cell ``H3K4me3;CTCF`` marks those two labels; an empty
  cell is a row with **no** positive label (all 0, allowed and said in the task card). The
  labels are the ones training lists, in sorted order; a label another split lists that
  training never does is an error naming it, its file and row, and the known labels (their count
  and a few of them) (:func:`parse_label_lists`).

Labels are (N, L) int64 0/1 (:class:`findna.data.labeled.LabeledSequences`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

_SEPARATORS = (";", "|", ",")
"""Characters that usually separate listed labels (a label holding one may be two labels)."""

DEFAULT_SEPARATOR = ";"
"""The separator of a column listing labels when none is given."""
SHOWN_LABELS = 8
"""How many known labels a message lists (then ``...``)."""


def known_labels_text(names: Sequence[str]) -> str:
    """``N known label(s): a, b, c, ...`` with at most :data:`SHOWN_LABELS` of them."""
    few = ", ".join(repr(n) for n in names[:SHOWN_LABELS])
    more = f", ... ({len(names) - SHOWN_LABELS} more)" if len(names) > SHOWN_LABELS else ""
    return f"{len(names)} known label(s): {few}{more}"


def parse_binary(
    df: pd.DataFrame, columns: Sequence[str], where: Callable[[int], str]
) -> np.ndarray:
    """The 0/1 cells of ``df``'s label ``columns`` as (N, L) int64; raise naming a bad cell.

    Args:
        df: the table, read as strings.
        columns: one column per label, in label order (each must be in ``df``).
        where: row index of ``df`` -> location text (file and data row).
    """
    out = np.empty((len(df), len(columns)), dtype=np.int64)
    for j, column in enumerate(columns):
        cells = df[column].astype(str).str.strip()
        values = pd.to_numeric(cells, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isin(values, (0.0, 1.0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{where(i)}, column {column!r}: the label value {df[column].iloc[i]!r} is not 0 "
                "or 1. A multi-label column holds 1 (the row has the label) or 0 (it has not): "
                "fix the cell or drop the row."
            )
        out[:, j] = values.astype(np.int64)
    return out


def split_cell(cell: object, separator: str, where: str, column: str) -> list[str]:
    """The labels one cell lists (an empty cell: none); raise on an empty or repeated item."""
    text = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell)
    text = text.strip()
    if not text:
        return []
    items = [item.strip() for item in text.split(separator)]
    if not all(items):
        raise ValueError(
            f"{where}, column {column!r}: {text!r} has an empty label between separators "
            f"{separator!r}. List labels as a{separator}b (an empty cell means no label): fix "
            "the cell."
        )
    repeated = sorted({i for i in items if items.count(i) > 1})
    if repeated:
        raise ValueError(
            f"{where}, column {column!r}: {text!r} lists {repeated[0]!r} more than once: fix "
            "the cell."
        )
    return items


def labels_listed(
    cells: Iterable[object], separator: str, where: Callable[[int], str], column: str
) -> list[str]:
    """Every label the cells list, sorted (the label names of a training split).

    Logs a warning for labels that look like typos: two labels differing only in case, and a
    label holding another usual separator (``a|b`` when the separator is ``;``).
    """
    first: dict[str, int] = {}  # label -> its first row
    for i, cell in enumerate(cells):
        for label in split_cell(cell, separator, where(i), column):
            first.setdefault(label, i)
    by_case: dict[str, list[str]] = {}
    for label in first:
        by_case.setdefault(label.lower(), []).append(label)
    for same in (v for v in by_case.values() if len(v) > 1):
        log.warning(
            "column %r lists %s, which differ only in case (first at %s): they are different "
            "labels. If they are one label, write it one way.",
            column,
            " and ".join(repr(x) for x in same),
            "; ".join(where(first[x]) for x in same),
        )
    for label, i in first.items():
        other = next((c for c in _SEPARATORS if c != separator and c in label), None)
        if other is not None:
            log.warning(
                "%s, column %r: label %r holds %r; the separator is %r. If the cell lists two "
                "labels, separate them with %r (or set the task's label separator).",
                where(i),
                column,
                label,
                other,
                separator,
                separator,
            )
    return sorted(first)


def parse_label_lists(
    cells: Sequence[object],
    names: Sequence[str],
    separator: str,
    where: Callable[[int], str],
    column: str,
) -> np.ndarray:
    """(N, L) int64 0/1 labels of cells listing positive labels; raise on a label not in
    ``names`` (the training split's labels), naming it, its row and the known labels."""
    index = {n: j for j, n in enumerate(names)}
    out = np.zeros((len(cells), len(names)), dtype=np.int64)
    for i, cell in enumerate(cells):
        for item in split_cell(cell, separator, where(i), column):
            if item not in index:
                raise ValueError(
                    f"{where(i)}, column {column!r}: the label {item!r} is never listed in the "
                    f"training split ({known_labels_text(list(names))}). A head cannot learn a "
                    "label training never shows: add training rows with it, fix the spelling or "
                    f"drop the row. (Labels are separated by {separator!r}.)"
                )
            out[i, index[item]] = 1
    return out
