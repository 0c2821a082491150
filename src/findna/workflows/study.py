"""``findna study``: pretraining variants x pretraining seeds -> probes -> one ranked table.

A study answers "which objective gives the best representations?" with the variance that
decides such a claim: the variance between pretraining runs, not only between probe seeds.

1. Every variant (a list of ``--set`` overrides on one base preset) is pretrained once per
   pretraining seed (``run.seed``: initial weights and views) into ``OUT/runs/<variant>/seed<k>``,
   first seed first: every variant at the first seed, then every variant at the next.
   Finished runs are reused and interrupted ones resume, so a killed study continues where it
   stopped; each run prints a progress line with its wall time.
2. Every run (and ``scratch``, a random network of the same architecture) is probed on the
   validation suite by one resumable ``findna benchmark`` (``OUT/benchmark``).
3. For each variant and task, the probe's **validation** score is averaged over probe seeds, then
   the mean ± std over pretraining seeds is taken; the suite mean ranks the variants. Test scores
   are never used to rank or pick: they appear only in the final comparison that
   ``--final VARIANT`` asks for, after the choice is made on validation.

Outputs: ``study.json`` and ``study.md`` (the ranked validation table), ``study.png`` (suite mean
± std per variant), ``runs.jsonl`` (wall time of each pretraining run) and every run's
``curves.png``.

This module runs a study; its settings and run folders are in :mod:`.study_config`, its tables
and figure in :mod:`.study_report`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from findna.config import config_to_dict, dump_config
from findna.data.tasks import TaskSpec
from findna.eval.benchmark import BenchmarkConfig, run_benchmark
from findna.eval.report import BenchmarkReport
from findna.model.loading import SCRATCH
from findna.outputs import json_text, write_text_atomic
from findna.train.config import PretrainConfig
from findna.train.curves import plot_run
from findna.train.pretrain import ensure_pretrained
from findna.workflows.study_config import (
    VALIDATION_SUITE,
    StudyConfig,
    check_study,
    load_study_config,
    pretrain_config,
    run_name,
)
from findna.workflows.study_report import (
    CONFLICT,
    diagnostics,
    diagnostics_markdown,
    plot_study,
    score_table,
    to_markdown,
)

log = logging.getLogger(__name__)


@dataclass
class StudyResult:
    """The ranked validation table and where the study wrote it."""

    table: pd.DataFrame
    markdown: Path
    seconds: dict[str, float]


def _pretrain_all(
    cfg: StudyConfig, runs: dict[tuple[str, int], PretrainConfig]
) -> dict[str, float]:
    # Seed-major: a study stopped part-way has every variant at its first seed before any second.
    jobs = [(v, s) for s in cfg.seeds for v in cfg.variants]
    seconds: dict[str, float] = {}
    with open(Path(cfg.out_dir) / "runs.jsonl", "a") as times:
        for n, (variant, seed) in enumerate(jobs, 1):
            run_cfg = runs[variant, seed]  # checked before the first run (check_study)
            spent = ensure_pretrained(run_cfg)
            if not cfg.runs_from:  # another study's folders are only read
                plot_run(run_cfg.out_dir, run_cfg.out_dir / "curves.png")
            seconds[run_name(variant, seed)] = spent
            state = "reused" if spent == 0 else f"{spent / 60:.1f} min"
            print(f"[{n}/{len(jobs)}] pretrain {variant} seed {seed}: {state}", flush=True)
            if spent:
                times.write(json.dumps({"run": run_name(variant, seed), "seconds": spent}) + "\n")
                times.flush()  # a study killed later keeps the times of its finished runs
    return seconds


def _probe_all(
    cfg: StudyConfig, tasks: Sequence[str | TaskSpec] | None, root: str | Path | None
) -> BenchmarkReport:
    suffix = ":student" if cfg.network == "student" else ""
    models = [
        f"{run_name(v, s)}={pretrain_config(cfg, v, s).out_dir}{suffix}"
        for v in cfg.variants
        for s in cfg.seeds
    ]
    bench = BenchmarkConfig(
        suite=cfg.suite,
        models=[*models, *([SCRATCH] if cfg.scratch else [])],
        mode="probe",
        seeds=list(cfg.probe_seeds),
        probe=cfg.probe,
        out_dir=str(Path(cfg.out_dir) / "benchmark"),
    )
    return run_benchmark(bench, tasks=tasks, root=root)


def run_study(
    cfg: StudyConfig,
    *,
    final: str | None = None,
    tasks: Sequence[str | TaskSpec] | None = None,
    root: str | Path | None = None,
) -> StudyResult:
    """Pretrain, probe and rank every variant; write the study files to ``cfg.out_dir``.

    Args:
        cfg: the study.
        final: a variant chosen on validation; adds its test scores next to the baseline's, the
            base variant's and scratch's (the one look at the test split).
        tasks: tasks to probe instead of ``cfg.suite`` (names or ``TaskSpec`` objects).
        root: data root (None: ``findna.data.root.data_root()``).
    """
    if final is not None and final not in cfg.variants:
        raise ValueError(f"--final {final!r} is not a variant ({', '.join(cfg.variants)})")
    # The whole study is checked before anything is written or trained: a typo in the second
    # variant must not surface after the first variant's pretraining (hours at paper scale).
    runs = check_study(cfg, tasks, root)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, out / "study.yaml")
    start = time.perf_counter()
    seconds = _pretrain_all(cfg, runs)
    report = _probe_all(cfg, tasks, root)
    seconds["probes"] = time.perf_counter() - start - sum(seconds.values())
    table = score_table(report, cfg, "val")
    diag = diagnostics(cfg)
    conflict = diagnostics(cfg, CONFLICT)
    text = "# findna study\n\n" + to_markdown(table, cfg, "val")
    text += (
        "\n## End of pretraining (mean ± std over pretraining seeds, summary.json)\n\n"
        + diagnostics_markdown(diag)
        + "\n## Conflict diagnostics (issue 21)\n\n"
        + "Means over the diagnostic steps of each run's second half (metrics.csv), then mean ± "
        + "std over pretraining seeds: gradient norms of the MNM and CL terms on the student and "
        + "their cosines (all parameters, its absolute value, input layer, head); the teacher's "
        + "CL outputs' std over the batch against "
        + "the mean offset the centre leaves; the share of the EMA network's initial weights "
        + "left at the end of the run.\n\n"
        + diagnostics_markdown(conflict, CONFLICT)
    )
    data: dict[str, Any] = {
        "config": config_to_dict(cfg),
        "val": table.to_dict("records"),
        "diagnostics": {
            v: {f"{k}|{stat}": x for (k, stat), x in row.items()} for v, row in diag.iterrows()
        },
        "conflict": {
            v: {f"{k}|{stat}": x for (k, stat), x in row.items()} for v, row in conflict.iterrows()
        },
    }
    if final is not None:
        test = score_table(report, cfg, "test")
        keep = {final, cfg.baseline, next(iter(cfg.variants)), SCRATCH} - {None}
        test = test[test["variant"].isin(keep)]
        text += "\n" + to_markdown(test, cfg, "test")
        data["test"] = test.to_dict("records")
        data["final"] = final
    write_text_atomic(out / "study.json", json_text(data, indent=2))  # NaN (one seed's std): null
    path = write_text_atomic(out / "study.md", text + "\n![study](study.png)\n")
    plot_study(table, out / "study.png")
    return StudyResult(table, path, seconds)


__all__ = [
    "StudyConfig",
    "StudyResult",
    "VALIDATION_SUITE",
    "check_study",
    "load_study_config",
    "pretrain_config",
    "run_study",
    "score_table",
    "to_markdown",
]
