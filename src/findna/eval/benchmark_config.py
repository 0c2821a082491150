"""Settings of ``findna benchmark`` (``BenchmarkConfig``). No torch: ``--help`` and ``findna config
show`` read them; :mod:`findna.eval.benchmark` runs them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from findna.config import config_from_dict, config_to_dict, load_config, parse_seeds
from findna.eval.finetune_config import FinetuneConfig
from findna.eval.probe_config import ProbeConfig
from findna.model.config import ModelConfig


@dataclass
class BenchmarkConfig:
    """A benchmark: tasks x models x seeds, one mode.

    Attributes:
        suite: a suite name or comma-separated task names (see :mod:`findna.eval.suites`).
        models: model specs ``[NAME=]SOURCE[:teacher|:student]`` (see the module docstring).
        mode: ``probe`` (frozen encoder, head on cached features) or ``finetune`` (all weights).
        seeds: one run per seed (3 by default); each seeds initialisation, dropout, shuffling.
        split_seed: seed of the tasks' random train/val/test splits; the same split for every
            seed by default. None re-splits with each run's seed.
        per_task_presets: in ``finetune`` mode, apply the per-task settings of
            ``suites.TASK_PRESETS`` (docs/method.md §5.6) over ``finetune`` for the tasks that
            have one.
        save_models: in ``finetune`` mode, save each fine-tuned classifier under
            ``out_dir/models/<task>/<model>/seed<k>`` (usable by ``findna predict``).
        out_dir: where the results go (see the module docstring).
        cache_dir: the probe's feature cache; None = ``out_dir/cache``.
        probe: settings of ``probe`` mode. finetune: settings of ``finetune`` mode.
        scratch_model: the architecture of ``scratch``; None copies the first pretrained model.
        on_invalid: characters outside the DNA alphabet in the tasks: ``error`` or ``n`` (N).
        label_column, sequence_column: the columns of the tables of your own data in the suite
            (``--label-column``/``--sequence-column``; None = ``label``, ``sequence``/``seq``, or
            a task YAML's keys); registered tasks have their own and are not affected.
        task_type: the type of your own data's tasks in the suite (``--task-type``):
            ``classification``, ``regression``, ``multilabel`` or ``per_base``; None:
            classification, or regression when ``target_columns`` are given (or a task YAML's
            ``type``).
        target_columns: your tables' regression targets or multi-label 0/1 label columns
            (``--target-columns a,b``); None: a label column (classification).
        label_separator: a multi-label table whose label column lists each row's labels: the
            separator between them (``--label-separator``; None: ``;``).
        reference: the reference genome of your own tasks given as genome intervals (a BED in
            the suite; ``--reference``): a FASTA (plain, gzip or bgzip) or a ``findna prepare
            genome`` folder; None: no BED task in the suite.
    """

    suite: str = "emp"
    models: list[str] = field(default_factory=list)
    mode: Literal["probe", "finetune"] = "probe"
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    split_seed: int | None = 0
    per_task_presets: bool = False
    save_models: bool = False
    out_dir: str = "runs/benchmark"
    cache_dir: str | None = None
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    scratch_model: ModelConfig | None = None
    on_invalid: Literal["error", "n"] = "error"
    label_column: str | None = None
    sequence_column: str | None = None
    task_type: Literal["classification", "regression", "multilabel", "per_base"] | None = None
    target_columns: list[str] | None = None
    label_separator: str | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("benchmark.seeds is empty; give at least one seed, e.g. [0, 1, 2]")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"benchmark.seeds repeats a seed: {self.seeds}")


def load_benchmark_config(
    path: str | Path | None = None, overrides: Sequence[str] = (), **flags: Any
) -> BenchmarkConfig:
    """Defaults <- YAML ``path`` <- ``--set`` overrides <- command-line flags (None = unset).

    ``models`` may be a comma-separated string and ``seeds`` a string like ``"0,1,2"``.
    """
    cfg = load_config(BenchmarkConfig, path, overrides)
    given = {k: v for k, v in flags.items() if v is not None}
    if isinstance(given.get("models"), str):
        given["models"] = [m for m in given["models"].split(",")]
    if isinstance(given.get("seeds"), str):
        given["seeds"] = parse_seeds(given["seeds"])
    return config_from_dict(BenchmarkConfig, {**config_to_dict(cfg), **given}, "benchmark")


__all__ = ["BenchmarkConfig", "load_benchmark_config"]
