"""Training curves of a pretraining run, from its Lightning CSV log (``logs/metrics.csv``)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd

from findna.figures import check_figure_path, new_figure, save_figure

log = logging.getLogger(__name__)

INDEX_COLUMNS = ("step", "epoch")
"""Columns of Lightning's CSVLogger ``metrics.csv`` that index rows rather than hold metrics."""


def find_metrics_csv(run_dir_or_csv: str | Path) -> Path:
    """Locate Lightning's ``metrics.csv`` from a run folder or the file itself.

    A folder is searched recursively (CSVLogger writes ``<name>/version_<n>/metrics.csv``); when
    several are found (a resumed run writes a new version), the most recently modified is used.

    Raises:
        FileNotFoundError: when the path does not exist or holds no ``metrics.csv``.
    """
    path = Path(run_dir_or_csv)
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"{path} does not exist; pass a run folder or its metrics.csv")
    found = sorted(path.rglob("metrics.csv"), key=lambda p: (p.stat().st_mtime, str(p)))
    if not found:
        raise FileNotFoundError(
            f"no metrics.csv under {path}; was the run logged with Lightning's CSVLogger?"
        )
    if len(found) > 1:
        log.warning("%d metrics.csv under %s; using the newest, %s", len(found), path, found[-1])
    return found[-1]


def read_metrics(run_dir_or_csv: str | Path) -> pd.DataFrame:
    """Read a CSVLogger log: a ``step`` column plus numeric metric columns (NaN where not logged).

    Raises:
        FileNotFoundError: see :func:`find_metrics_csv`.
        ValueError: when the file is empty, lacks a ``step`` column or has no metric column with
            at least one number.
    """
    csv = find_metrics_csv(run_dir_or_csv)
    try:
        frame = pd.read_csv(csv)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{csv} is empty; the run logged nothing yet") from None
    if "step" not in frame.columns:
        raise ValueError(
            f"{csv} has no 'step' column (columns: {', '.join(frame.columns)}); "
            "expected a Lightning CSVLogger metrics.csv"
        )
    metrics = [c for c in frame.columns if c not in INDEX_COLUMNS]
    numeric = frame[metrics].apply(pd.to_numeric, errors="coerce")
    keep = [c for c in metrics if numeric[c].notna().any()]
    if not keep:
        raise ValueError(f"{csv} has no metric column with a logged value (only {list(frame)})")
    return pd.concat([frame[["step"]], numeric[keep]], axis=1)


def plot_run(
    run_dir_or_metrics_csv: str | Path,
    out_png: str | Path,
    metrics: list[str] | None = None,
    ncols: int = 3,
) -> list[str]:
    """One subplot per logged metric (``train/loss_mnm``, ``val/mnm_acc``, ...) against step.

    Rows of a CSVLogger file are sparse (each metric is logged at its own steps), so each curve
    is drawn from the rows where that metric is present.

    Args:
        run_dir_or_metrics_csv: a run folder (searched for ``metrics.csv``) or the file.
        out_png: where to write the figure: PNG, PDF or SVG, chosen by the suffix.
        metrics: only these columns, in this order (default: every metric column present).
        ncols: subplots per row.

    Returns:
        The metric names drawn, in subplot order.

    Raises:
        FileNotFoundError, ValueError: missing file, no metric columns, or a requested metric
            that is not in the file.
    """
    frame = read_metrics(run_dir_or_metrics_csv)
    check_figure_path(out_png)
    present = [c for c in frame.columns if c != "step"]
    names = present if metrics is None else list(metrics)
    missing = [m for m in names if m not in present]
    if missing or not names:
        raise ValueError(
            f"metric(s) {', '.join(missing) or '(none)'} not in the log; present: "
            f"{', '.join(present)}"
        )
    ncols = max(1, min(ncols, len(names)))
    nrows = math.ceil(len(names) / ncols)
    fig = new_figure(4.0 * ncols, 2.8 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        rows = frame[["step", name]].dropna()
        ax.plot(rows["step"], rows[name], marker="." if len(rows) < 30 else None, lw=1.2)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    save_figure(fig, out_png)
    return names


__all__ = ["find_metrics_csv", "plot_run", "read_metrics"]
