"""``findna demo``: the main job, end to end on the bundled data.

1. pretrain the ``tiny`` preset with each objective of :data:`OBJECTIVES` (``OUT/<name>``): the
   paper's self-distillation, the best self-distillation variant of the studies
   (``ema99_alpha09``), and masked nucleotide modelling only (``cm-mnm``, paper Table 2);
2. probe them and a randomly initialised network (``scratch``) on GUE epigenetic-mark tasks,
   with several seeds and model selection on validation only (``OUT/benchmark``);
3. write ``OUT/report.md`` with the pretraining figures, the comparison table, the plots and
   which objective to pick (ranked on validation; the studies' advice).

Every step resumes: a finished pretraining run is reused, an interrupted one continues from its
last checkpoint, and the benchmark skips the (task, model, seed) entries it already has.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from findna.config import load_config, preset_path
from findna.eval.benchmark import BenchmarkConfig, run_benchmark
from findna.eval.report import BenchmarkReport
from findna.outputs import write_text_atomic
from findna.train.config import PretrainConfig
from findna.train.curves import plot_run
from findna.train.pretrain import ensure_pretrained

log = logging.getLogger(__name__)

DEFAULT_TASKS = ("gue/EMP/H3", "gue/EMP/H4")

OBJECTIVES: dict[str, list[str]] = {
    "findna": [],  # the paper's objective, exactly
    # The best self-distillation variant of the tiny studies (docs/study.md, study 3): a shorter
    # EMA horizon and more weight on MNM. It ties cm-mnm at tiny and is 4.1 below it at small.
    "ema99_alpha09": ["ssl.ema_start=0.99", "ssl.alpha=0.9"],
    "cm-mnm": ["ssl.variant=cm-mnm"],  # masked nucleotide modelling alone (paper Table 2)
}
"""The pretraining objectives the demo compares (name -> ``--set`` overrides of the preset)."""

STUDY_ADVICE = (
    "The studies in docs/study.md (2-3 pretraining seeds per objective, 9 validation tasks, "
    "validation only) are the stronger evidence: no self-distillation objective studied (20 "
    "objectives at tiny, 4 finalists at small) beats `cm-mnm` (`--set ssl.variant=cm-mnm`), "
    "and the paper's objective trails it by 4-9 points of the suite mean. Pick `cm-mnm`."
)


@dataclass
class DemoResult:
    """Where the demo wrote its report and how long each part took."""

    report: Path
    seconds: dict[str, float]


def _summary_rows(runs: dict[str, Path]) -> list[str]:
    rows = [
        "| run | steps | held-out MNM accuracy | base-frequency baseline | difference |",
        "|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        s = json.loads((run / "summary.json").read_text())
        acc, base = s.get("val/mnm_acc"), s.get("val/base_freq_acc")
        if acc is None or base is None:
            rows.append(f"| {name} | {s['global_step']} | n/a | n/a | n/a |")
            continue
        rows.append(
            f"| {name} | {s['global_step']} | {acc:.2%} | {base:.2%} | "
            f"{(acc - base) * 100:+.1f} points |"
        )
    return rows


def _advice(report: BenchmarkReport) -> list[str]:
    """ "Which objective to pick": the models ranked by this run's validation scores (the mean of
    the primary metric over tasks and seeds; the test table is never used to choose), and the
    studies' advice."""
    val = report.summary("val").groupby("label")["mean"].mean().sort_values(ascending=False)
    ranked = ", ".join(
        f"{i}. {label} {100 * v:.2f}" for i, (label, v) in enumerate(val.items(), start=1)
    )
    return [
        "## Which objective to pick",
        "",
        f"Ranked on this run's validation splits (primary metric, mean over tasks and seeds, "
        f"percent): {ranked}.",
        "",
        STUDY_ADVICE,
    ]


def run_demo(
    out_dir: str | Path = "runs/demo",
    *,
    pretrain_config: str | Path = "tiny",
    pretrain_overrides: Sequence[str] = (),
    tasks: Sequence[str] = DEFAULT_TASKS,
    seeds: Sequence[int] = (0, 1, 2),
    probe_overrides: Sequence[str] = (),
) -> DemoResult:
    """Pretrain each of :data:`OBJECTIVES`, probe them against scratch, write ``OUT/report.md``.

    Args:
        out_dir: the demo directory.
        pretrain_config: the pretraining preset of every run, a shipped name (``tiny``) or a YAML
            path (each objective adds its own overrides).
        pretrain_overrides: ``key=value`` overrides for every pretraining run.
        tasks: benchmark task names (see ``findna data list``).
        seeds: probe seeds.
        probe_overrides: ``key=value`` overrides of the benchmark config (e.g. probe.epochs=5).
    """
    out = Path(out_dir)
    seconds: dict[str, float] = {}
    runs = {name: out / name for name in OBJECTIVES}
    for name, run in runs.items():
        # The runs share one prepared genome.
        overrides = [f"data.prepared_dir={out / 'genome'}", *pretrain_overrides]
        overrides += [*OBJECTIVES[name], f"run.out_dir={run}"]
        cfg = load_config(PretrainConfig, preset_path("pretrain", pretrain_config), overrides)
        seconds[f"pretrain {name}"] = ensure_pretrained(cfg)
        plot_run(run, run / "curves.png")

    start = time.perf_counter()
    bench_cfg = load_config(
        BenchmarkConfig,
        None,
        [
            *probe_overrides,
            "mode=probe",
            f"out_dir={out / 'benchmark'}",
            f"seeds=[{', '.join(str(s) for s in seeds)}]",
            f"models=[{', '.join(f'{n}={p}' for n, p in runs.items())}, scratch]",
        ],
    )
    report = run_benchmark(bench_cfg, tasks=list(tasks))
    seconds["probe benchmark"] = time.perf_counter() - start

    lines = [
        "# findna demo report",
        "",
        f"Pretraining preset: `{pretrain_config}` {' '.join(pretrain_overrides)}".rstrip(),
        "",
        "## Pretraining (held-out chrX windows)",
        "",
        *_summary_rows(runs),
        "",
        "Curves: " + ", ".join(f"[{n}]({n}/curves.png)" for n in runs),
        "",
        report.to_markdown(),
        "",
        "![comparison](benchmark/comparison.png)",
        "",
        *_advice(report),
        "",
        "## Time spent in this invocation",
        "",
        *(f"- {k}: {v:.0f} s" for k, v in seconds.items()),
        "",
    ]
    path = write_text_atomic(out / "report.md", "\n".join(lines))
    return DemoResult(path, seconds)
