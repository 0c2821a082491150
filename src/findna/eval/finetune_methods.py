"""Which fine-tuning a task gets (issue 23): :class:`~findna.eval.finetune.Finetune` (a head on
the pooled sequence: classification, regression, multi-label) or, for a per-base task,
:class:`~findna.eval.per_base_finetune.PerBaseFinetune` (a head on every token).

``per_base_finetune`` imports ``finetune``, so the choice lives here, above both: the benchmark
(:func:`findna.eval.benchmark.run_benchmark`), ``findna finetune`` and ``findna.finetune`` call
:func:`finetune_method` or :func:`finetune_task_of_type`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from findna.data.tasks import TaskData
from findna.eval import finetune, per_base_finetune
from findna.eval.finetune import Finetune, FinetuneConfig
from findna.eval.per_base_finetune import PerBaseFinetune
from findna.eval.report import BenchmarkReport
from findna.eval.task_driver import CheckedTask
from findna.eval.task_types import is_per_base


def finetune_method(task_type: str, cfg: FinetuneConfig) -> Finetune | PerBaseFinetune:
    """The task-driver method that fine-tunes a task of ``task_type`` (``spec.task_type``) with
    ``cfg``: per-base tasks get :class:`PerBaseFinetune`, every other type :class:`Finetune`."""
    return PerBaseFinetune(cfg) if is_per_base(task_type) else Finetune(cfg)


def finetune_task_of_type(
    task: TaskData | CheckedTask,
    source: str | Path,
    cfg: FinetuneConfig,
    seeds: Sequence[int],
    out_dir: str | Path,
    **kw: Any,
) -> BenchmarkReport:
    """``findna finetune`` of ``task`` for its type:
    :func:`~findna.eval.per_base_finetune.finetune_per_base_task` for a per-base task, else
    :func:`findna.eval.finetune.finetune_task` (same arguments; returns its report)."""
    spec = getattr(task.data if isinstance(task, CheckedTask) else task, "spec", None)
    # looked up when called, so that a replaced finetune_task (a test's spy) is the one run
    if is_per_base(getattr(spec, "task_type", None)):
        return per_base_finetune.finetune_per_base_task(task, source, cfg, seeds, out_dir, **kw)
    return finetune.finetune_task(task, source, cfg, seeds, out_dir, **kw)


__all__ = ["finetune_method", "finetune_task_of_type"]
