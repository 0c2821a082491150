"""What a ``findna plot-embeddings`` map of a task is coloured by, per task type (issue 23).

One point per sequence, so a task needs one value per sequence to colour it:

==================  ==================================================================
type                colour
==================  ==================================================================
classification      the class (a legend), as before
regression          one target's value (viridis with a colour bar; ``target``: its name,
                    default the first)
multilabel          one label's 0/1 (a legend "NAME" / "not NAME"; ``target``: the label,
                    default the first)
per_base            refused: its labels are per base, not per sequence
==================  ==================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from findna.data.task_spec import TaskSpec
from findna.eval.metrics import to_numpy
from findna.eval.plots import EmbeddingMap, plot_embedding_values, plot_embeddings
from findna.eval.task_types import is_per_base

PER_BASE_REFUSAL = (
    "task {name} is a per-base task (a label per base), and plot-embeddings draws one point "
    "per sequence, which has no single label to colour it by. Use `findna probe --task {name}` "
    "to score its features base by base, or `findna embed --per-token` to write each token's "
    "features and map them yourself."
)


@dataclass(frozen=True)
class MapColouring:
    """What a task's map is coloured by.

    Attributes:
        kind: ``class`` (the class of a classification task), ``value`` (a regression target)
            or ``label`` (one multi-label label's 0/1).
        column: the target or label's column in the labels (None for ``class``).
        name: the target or label's name (None for ``class``).
    """

    kind: Literal["class", "value", "label"]
    column: int | None = None
    name: str | None = None


def map_colouring(spec: TaskSpec, target: str | None = None) -> MapColouring:
    """What the map of ``spec``'s task is coloured by (module docstring); ``target`` names a
    regression target or a multi-label label (None: the first).

    Raises:
        ValueError: on a per-base task (saying why and what to use instead), a ``target`` the
            task does not have (listing those it has), or a ``target`` for a classification
            task.
    """
    if is_per_base(spec.task_type):
        raise ValueError(PER_BASE_REFUSAL.format(name=spec.name))
    if spec.task_type not in ("regression", "multilabel"):
        if target is not None:
            raise ValueError(
                f"--target {target!r}: task {spec.name} is a classification task, coloured by "
                "its class; --target picks a regression target or a multi-label label. Drop it."
            )
        return MapColouring("class")
    names = [str(t) for t in spec.targets]
    what = "target" if spec.task_type == "regression" else "label"
    if target is not None and target not in names:
        raise ValueError(
            f"--target {target!r} is no {what} of task {spec.name}; choose one of "
            f"{', '.join(names)}"
        )
    column = 0 if target is None else names.index(target)
    return MapColouring("value" if what == "target" else "label", column, names[column])


def plot_task_map(
    features: Any,
    labels: Any,
    spec: TaskSpec,
    colouring: MapColouring,
    out_png: str | Path,
    **kwargs: Any,
) -> EmbeddingMap:
    """Draw the map of a task split's ``features`` coloured as ``colouring`` says (from
    :func:`map_colouring`); ``labels`` are the split's labels ((N,) classes, (N, T) targets or
    (N, L) 0/1 labels); ``kwargs`` go to :func:`~findna.eval.plots.plot_embeddings` (method,
    seed, max_points, title, num_threads). Returns the map."""
    if colouring.kind == "class":
        names = dict(enumerate(spec.classes)) if spec.classes else None
        return plot_embeddings(features, labels, out_png, label_names=names, **kwargs)
    y = to_numpy(labels)
    column = y.reshape(len(y), -1)[:, colouring.column]
    if colouring.kind == "value":
        return plot_embedding_values(features, column, out_png, str(colouring.name), **kwargs)
    name = str(colouring.name)
    return plot_embeddings(
        features,
        np.asarray(column).astype(np.int64),
        out_png,
        label_names={0: f"not {name}", 1: name},
        legend_title=name,
        **kwargs,
    )


__all__ = ["MapColouring", "map_colouring", "plot_task_map"]
