"""``findna benchmark``: probe or fine-tune several models on a suite of tasks, several seeds.

``add_benchmark`` registers the subcommand; its handler imports lazily and holds no logic. Its
flags set keys of :class:`~findna.eval.benchmark_config.BenchmarkConfig` and are added on first
use (``fill_later``), as that import loads torch.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from findna.cli import args as shared
from findna.cli.setting_flags import flag_settings

if TYPE_CHECKING:  # annotations only; the handler imports lazily
    from findna.eval.benchmark_config import BenchmarkConfig


def add_benchmark(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark",
        help="probe or fine-tune several models on a suite of tasks, several seeds, resumable",
        description="Runs every (task, model, seed), appending each result to OUT/results.jsonl "
        "(a restarted benchmark skips finished entries) and each seed's test predictions to "
        "OUT/predictions/, then writes OUT/results.json, results.md (mean ± std table), "
        "results.csv and results_summary.csv, and comparison.png/.pdf. Settings: "
        "BenchmarkConfig defaults <- --config YAML (configs/benchmark/*.yaml) <- --set <- the "
        "flags below.",
    )
    p.fill_later(_benchmark_args)


def _benchmark_args(p: argparse.ArgumentParser) -> None:
    from findna.eval.benchmark_config import BenchmarkConfig

    settings = shared.add_settings(
        p, "benchmark", "emp_probe", "finetune.epochs=5 --set probe.head=knn", BenchmarkConfig
    )
    settings.add(
        "--suite",
        "suite",
        help="emp, gb, gue, all, toy, nt, dnabert, or task1,task2,... where a task may be the "
        "path of your own data (a folder, a table or a task YAML)",
    )
    settings.add(
        "--models",
        "models",
        help="comma-separated [NAME=]SOURCE[:student], e.g. "
        "findna=runs/tiny,cm-mnm=runs/tiny_cm_mnm,scratch or teacher=RUN,student=RUN:student",
    )
    settings.add("--mode", "mode")
    settings.add(shared.SEEDS, "seeds")
    settings.add("--out", "out_dir", help="output directory")
    shared.add_task_columns(p, settings)
    settings.add(shared.ON_INVALID, "on_invalid")
    p.add_argument("--force", action="store_true", help="discard results already in --out")
    p.set_defaults(handler=_benchmark)


def benchmark_settings(args: argparse.Namespace) -> BenchmarkConfig:
    """The resolved settings of `findna benchmark` (``--models`` and ``--seeds`` as given:
    :func:`~findna.eval.benchmark.load_benchmark_config` splits them)."""
    from findna.config import preset_path
    from findna.eval.benchmark import load_benchmark_config

    path = preset_path("benchmark", args.config) if args.config else None
    return load_benchmark_config(path, args.overrides, **flag_settings(args))


def _benchmark(args: argparse.Namespace) -> None:
    from findna.eval.benchmark import run_benchmark

    cfg = benchmark_settings(args)
    report = run_benchmark(cfg, force=args.force)
    print(report.to_markdown())
    print(f"wrote {cfg.out_dir}/results.json, results.md, results.csv and comparison.png")
