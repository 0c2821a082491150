"""A run's training logs (``OUT/logs/``): Lightning's CSV and TensorBoard loggers, kept whole
across ``--resume``.

Lightning starts a new log on every ``Trainer.fit``: its CSV writer deletes an existing
``metrics.csv`` (with only a warning), so a resumed run kept only the steps after its checkpoint.
Here a resumed run keeps the rows already written and appends to them:

- ``metrics.csv``: the rows of steps before the checkpoint's stay; the rows of later steps (which
  the killed run wrote after its last checkpoint, and the resumed run writes again) are dropped,
  so no row appears twice. Every row is written as soon as it is logged (Lightning keeps 100
  steps in memory by default, which a kill loses), and a rewrite of the file (a new column, the
  trim on resume) is atomic.
- TensorBoard: the earlier event files are never deleted; the resumed run's writer starts with
  ``purge_step`` at the checkpoint's step, so TensorBoard hides the earlier events of the steps
  that are written again.

The step column is Lightning's: the metrics of optimiser step ``k`` (1-based) are logged as step
``k - 1``, after the checkpoint of step ``k`` is saved. A run resumed from the checkpoint of
step ``N`` logs steps ``N`` and later, so the rows of steps below ``N`` are kept.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from findna.outputs import write_text_atomic

log = logging.getLogger(__name__)
LOGS_DIR = "logs"


def _csv_text(fieldnames: list[str], rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=fieldnames)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _row_step(row: dict[str | None, Any]) -> int | None:
    """The step of a complete row, or None for a damaged one (a kill in the middle of a write
    leaves a short or cut last line)."""
    if None in row or any(value is None for value in row.values()):
        return None
    try:
        return int(float(row.get("step") or ""))
    except ValueError:
        return None


class _ResumableWriter(ExperimentWriter):
    """Lightning's CSV writer that, for a resumed run (``keep_below`` set), keeps the earlier
    rows of ``metrics.csv`` instead of deleting the file, and rewrites the file atomically."""

    def __init__(self, log_dir: str, keep_below: int | None) -> None:
        self._keep_below = keep_below
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        if self._keep_below is None:
            super()._check_log_dir_exists()
            return
        path = Path(self.metrics_file_path)
        if not path.is_file():
            return
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            header = list(reader.fieldnames or [])
        keep = self._keep_below
        kept = [row for row in rows if (step := _row_step(row)) is not None and step < keep]
        self.metrics_keys = header
        if len(kept) < len(rows):
            write_text_atomic(path, _csv_text(header, kept))
        log.info(
            "%s: kept the %d row(s) of steps before %d, dropped %d that the resumed run writes "
            "again",
            path,
            len(kept),
            self._keep_below,
            len(rows) - len(kept),
        )

    def _rewrite_with_new_header(self, fieldnames: list[str]) -> None:
        # Lightning rewrites the file in place when a new column appears (the first validation);
        # a kill in the middle of that would lose the whole history, so write it atomically.
        with open(self.metrics_file_path, newline="") as f:
            rows = list(csv.DictReader(f))
        write_text_atomic(self.metrics_file_path, _csv_text(fieldnames, rows))


class RunCSVLogger(CSVLogger):
    """``OUT/logs/metrics.csv``: every row written when logged, kept whole across a resume."""

    def __init__(self, out_dir: str | Path) -> None:
        super().__init__(out_dir, name=LOGS_DIR, version="", flush_logs_every_n_steps=1)
        self.resume_step: int | None = None

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ResumableWriter(self.log_dir, self.resume_step)
        return self._experiment


class RunTensorBoardLogger(TensorBoardLogger):
    """``OUT/logs/tensorboard/``: a resumed run adds an event file and hides, through
    ``purge_step``, the earlier events of the steps it writes again."""

    def __init__(self, out_dir: str | Path) -> None:
        super().__init__(Path(out_dir) / LOGS_DIR, name="tensorboard", version="")
        self.resume_step: int | None = None

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        if self._experiment is None and self.resume_step is not None:
            self._kwargs = {**self._kwargs, "purge_step": self.resume_step}
        return super().experiment


def run_loggers(out_dir: str | Path) -> list[Logger]:
    """The loggers of a run in ``out_dir``: CSV (``logs/metrics.csv``) and TensorBoard."""
    return [RunCSVLogger(out_dir), RunTensorBoardLogger(out_dir)]


def continue_logs(loggers: list[Logger], step: int) -> None:
    """Make the run loggers among ``loggers`` continue the earlier logs of a run resumed from
    the checkpoint of ``step``; call before ``Trainer.fit`` (the logs open on its first use)."""
    for logger in loggers:
        if isinstance(logger, (RunCSVLogger, RunTensorBoardLogger)):
            logger.resume_step = step
