"""The published model's scores on findna's own rows: a peer beside the results of a task.

A task whose files carry a published model's predictions (``TaskSpec.peer_column``, e.g.
vaishnav2022's ``Predicted Expression``) gets one more result per split seed: those predictions
scored with the task's metrics on the same validation and test rows findna's models are scored
on. Nothing is fitted: the predictions are read, never trained on or used as features. The result
is a :class:`~findna.eval.report.SeedResult` of mode ``published`` and model :data:`PEER_MODEL`,
so tables, CSV files and plots show it beside the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from findna.data.joined import peer_predictions
from findna.data.splits import split_sizes
from findna.data.task_spec import TaskSpec
from findna.data.tasks import TaskData, load_task
from findna.eval.report import SeedResult
from findna.eval.task_types import task_kind

PEER_MODEL = "published model"
"""The model name of a peer result in tables (its mode is ``published``)."""


def peer_result(data: TaskData, sizes: dict | None = None) -> SeedResult | None:
    """The published model's predictions scored on ``data``'s validation and test rows.

    Args:
        data: the loaded task (its splits are the ones findna's models are scored on).
        sizes: the split sizes to record (default: :func:`findna.data.splits.split_sizes`).

    Returns:
        A ``SeedResult`` (seed = the task's split seed; hyperparameters name the column read),
        or None when the task's files carry no published predictions.
    """
    spec = data.spec
    if spec.peer_column is None:
        return None
    kind = task_kind(spec.task_type)
    names = kind.output_names(spec.classes, spec.targets, spec.num_outputs)
    metrics = {
        split: kind.score(part.labels, peer_predictions(spec, part, data.root), names)
        for split, part in (("val", data.val), ("test", data.test))
    }
    return SeedResult(
        task=spec.name,
        model=PEER_MODEL,
        mode="published",
        seed=data.seed,
        primary_metric=spec.metric,
        val_metrics=metrics["val"],
        test_metrics=metrics["test"],
        hyperparameters={"peer_column": spec.peer_column, "split_seed": data.seed},
        split_sizes=sizes if sizes is not None else split_sizes(data.splits(), spec.targets),
    )


def peer_results(
    specs: Sequence[TaskSpec],
    split_seeds: Sequence[int],
    root: str | Path | None = None,
    on_invalid: str = "error",
) -> list[SeedResult]:
    """:func:`peer_result` of every task with published predictions, once per split seed.

    Tasks without a ``peer_column`` are skipped without being loaded.
    """
    out = []
    for spec in specs:
        if spec.peer_column is None:
            continue
        for seed in dict.fromkeys(split_seeds):
            data = load_task(spec, seed, root=root, on_invalid=on_invalid)
            result = peer_result(data)
            if result is not None:
                out.append(result)
    return out


__all__ = ["PEER_MODEL", "peer_result", "peer_results"]
