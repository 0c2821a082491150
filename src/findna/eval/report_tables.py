"""The CSV tables of a report folder, for pandas and plotting scripts.

- ``<stem>.csv`` (``results.csv`` of a benchmark, ``probe.csv``/``finetune.csv`` of a task): one
  row per (task, model, mode, seed), wide: ``task, model, mode, seed, primary_metric,
  model_id``, then ``val_<metric>`` and ``test_<metric>`` for every metric. Undefined metrics
  (NaN) are empty cells, which ``pandas.read_csv`` reads back as NaN.
- ``<stem>_summary.csv``: tidy (long): ``task, model, mode, split, metric, mean, std, n`` per
  (task, model, mode, split, metric), the numbers of the Markdown table
  (:func:`findna.eval.report.aggregate`: std with ddof=1, empty with one seed).
- ``predictions/.../seed<k>.csv``: one seed's test predictions, for ROC and precision-recall
  curves: ``row`` (the row of the test split), ``id``, ``label`` (the class index) and
  ``prob_<class>`` per class, named after the task's classes (``prob_0``, ``prob_1`` for classes
  written as 0..C-1), as ``findna predict`` names them.

Every file is written atomically (:func:`findna.outputs.write_text_atomic`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from findna.data.readers import LabeledSequences
from findna.eval.report import SeedResult, aggregate
from findna.outputs import write_text_atomic

ID_COLUMNS = ("task", "model", "mode", "seed", "primary_metric", "model_id")


def results_table(results: Sequence[SeedResult]) -> pd.DataFrame:
    """One row per result: its keys, then ``val_<metric>`` and ``test_<metric>`` per metric (in
    the order metrics first appear)."""
    metrics = list(dict.fromkeys(m for r in results for m in (*r.val_metrics, *r.test_metrics)))
    rows = []
    for r in results:
        row = {
            "task": r.task,
            "model": r.model,
            "mode": r.mode,
            "seed": r.seed,
            "primary_metric": r.primary_metric,
            "model_id": r.hyperparameters.get("model_id"),
        }
        for split, values in (("val", r.val_metrics), ("test", r.test_metrics)):
            row.update({f"{split}_{m}": values.get(m, np.nan) for m in metrics})
        rows.append(row)
    columns = [*ID_COLUMNS, *(f"{s}_{m}" for s in ("val", "test") for m in metrics)]
    return pd.DataFrame(rows, columns=columns)


def summary_table(results: Iterable[SeedResult]) -> pd.DataFrame:
    """Mean, std (ddof=1) and n over seeds per task, model, mode, split and metric (long)."""
    return aggregate(results)


def write_tables(results: Sequence[SeedResult], out: str | Path, stem: str) -> list[Path]:
    """Write ``OUT/<stem>.csv`` (per seed, wide) and ``OUT/<stem>_summary.csv`` (long)."""
    out = Path(out)
    return [
        write_text_atomic(out / f"{stem}.csv", results_table(results).to_csv(index=False)),
        write_text_atomic(out / f"{stem}_summary.csv", summary_table(results).to_csv(index=False)),
    ]


def predictions_table(
    test: LabeledSequences,
    classes: Sequence[str],
    probs: np.ndarray,
    columns: tuple[str, str] = ("label", "prob"),
) -> pd.DataFrame:
    """``row, id, label, prob_<class>...`` of the test split and its (N, C) probabilities;
    ``classes``: the C class names (``"0"``, ``"1"``, ... for classes written as 0..C-1).

    A task with one column per output (``columns``, a task type's
    :attr:`~findna.eval.task_types.TaskKind.columns`; ``classes`` then names its outputs) gets
    ``row, id, <truth>_<name>..., <prediction>_<name>...``: regression ``target_<name>`` and
    ``pred_<name>`` (values), multi-label ``target_<label>`` (0/1) and ``prob_<label>``."""
    probs = np.asarray(probs)
    if columns[0] != "label":
        return _output_table(test, list(classes), probs, columns)
    names = list(classes)
    if probs.shape != (len(test), len(names)):
        raise ValueError(
            f"test probabilities have shape {probs.shape}, expected "
            f"({len(test)}, {len(names)}) (test rows, classes)"
        )
    frame = pd.DataFrame({"row": np.arange(len(test))})
    if test.ids:
        frame["id"] = list(test.ids)
    frame["label"] = np.asarray(test.labels, dtype=np.int64)
    for c, name in enumerate(names):
        frame[f"prob_{name}"] = probs[:, c]
    return frame


def _output_table(
    test: LabeledSequences, names: list[str], preds: np.ndarray, columns: tuple[str, str]
) -> pd.DataFrame:
    preds = preds[:, None] if preds.ndim == 1 else preds
    true = np.asarray(test.labels)
    # targets are held as float32: write each as its shortest float32 text (0.448, not the
    # 0.4480000138282776 a plain float64 cast prints)
    true = true if test.is_multilabel else true.astype(np.float32).astype(str).astype(np.float64)
    true = true[:, None] if true.ndim == 1 else true
    if preds.shape != (len(test), len(names)) or true.shape != preds.shape:
        raise ValueError(
            f"test predictions have shape {preds.shape}, expected "
            f"({len(test)}, {len(names)}) (test rows, outputs)"
        )
    frame = pd.DataFrame({"row": np.arange(len(test))})
    if test.ids:
        frame["id"] = list(test.ids)
    for prefix, values in zip(columns, (true, preds), strict=True):
        for t, name in enumerate(names):
            frame[f"{prefix}_{name}"] = values[:, t]
    return frame


def write_predictions(
    path: str | Path,
    test: LabeledSequences,
    classes: Sequence[str],
    probs: np.ndarray,
    columns: tuple[str, str] = ("label", "prob"),
) -> Path:
    """Write one seed's test predictions (:func:`predictions_table`) to ``path`` atomically."""
    table = predictions_table(test, classes, probs, columns)
    return write_text_atomic(path, table.to_csv(index=False))


__all__ = [
    "predictions_table",
    "results_table",
    "summary_table",
    "write_predictions",
    "write_tables",
]
