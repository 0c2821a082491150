"""Class labels as a user writes them (``enhancer``/``other``, or ``1``/``2``) -> labels 0..C-1.

The label order is fixed by the values alone, so every split of a task maps the same way: integer
values in numeric order, any other values in sorted text order. Values that already are exactly
``0..C-1`` are kept as written (no mapping).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd


def shown(values: Iterable[object], most: int = 8) -> str:
    """Values for an error message: all of them when there are at most ``most``, else the first
    ``most`` and how many there are in all (a per-base label column can hold thousands).

    >>> shown(["a", "b"])
    "['a', 'b']"
    >>> shown(range(10), most=3)
    '[0, 1, 2, ... (10 in all)]'
    """
    items = list(values)
    text = ", ".join(repr(v) for v in items[:most])
    return f"[{text}]" if len(items) <= most else f"[{text}, ... ({len(items)} in all)]"


def _is_int(value: str) -> bool:
    return value.lstrip("+-").isdigit()


def label_order(values: Iterable[str]) -> tuple[str, ...]:
    """Distinct label values (stripped) in label order: numeric when all are integers, else text.

    >>> label_order(["other", "enhancer", "other"])
    ('enhancer', 'other')
    >>> label_order(["10", "2"])
    ('2', '10')
    """
    distinct = {str(v).strip() for v in values}
    if all(_is_int(v) for v in distinct):
        return tuple(sorted(distinct, key=int))
    return tuple(sorted(distinct))


def class_names(values: Iterable[str]) -> tuple[str, ...] | None:
    """The class names of a task's label values: None when they are exactly ``0..C-1`` (labels
    as written), else :func:`label_order` (label i is the i-th name)."""
    order = label_order(values)
    if all(_is_int(v) for v in order) and [int(v) for v in order] == list(range(len(order))):
        return None
    return order


def map_labels(
    values: Sequence[str], classes: Sequence[str], where: Callable[[int], str]
) -> np.ndarray:
    """Label i for each value equal to ``classes[i]`` (values are stripped).

    Raises:
        ValueError: naming the first row (via ``where``) whose value is not a known class.
    """
    index = {c: i for i, c in enumerate(classes)}
    s = pd.Series(list(values), dtype=str).str.strip()
    labels = s.map(index)
    bad = labels.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{where(i)}: label {s.iloc[i]!r} is not one of the task's classes {shown(classes)}. "
            "Fix the label, or make it a class of the training split."
        )
    return labels.to_numpy(dtype=np.int64)
