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
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from findna.config import config_to_dict, dump_config, load_config, preset_path
from findna.data.tasks import TaskSpec
from findna.eval.benchmark import BenchmarkConfig, run_benchmark
from findna.eval.probe import ProbeConfig
from findna.eval.report import BenchmarkReport
from findna.eval.suites import resolve_tasks
from findna.figures import new_figure, save_figure
from findna.model.loading import SCRATCH
from findna.train.config import PretrainConfig
from findna.train.curves import plot_run
from findna.train.pretrain import ensure_pretrained

log = logging.getLogger(__name__)

VALIDATION_SUITE = ",".join(resolve_tasks("emp") + resolve_tasks("gb"))
"""The 7 shared EMP marks and the 2 GenomicBenchmarks tasks (``findna data list``)."""


@dataclass
class StudyConfig:
    """A study: variants x pretraining seeds, probed on a validation suite.

    Attributes:
        preset: the pretraining preset every variant starts from (a name such as ``tiny`` or a
            YAML path). (Not ``base``: a top-level ``base`` key makes a YAML preset inherit from
            another file.)
        variants: variant name -> ``key=value`` overrides of the base (``[]`` = the base as is).
            Names become folder and table names (letters, digits, ``-``, ``_``, ``.``).
        overrides: ``key=value`` overrides applied to every variant before its own (e.g. a
            shorter ``optim.max_steps`` for a quick study).
        seeds: pretraining seeds (``run.seed``); at least 2 for a claim.
        network: ``teacher`` (the exported model of each run; the student for cm-mnm runs) or
            ``student`` (from the checkpoints).
        suite: the validation suite: a suite name or comma-separated task names.
        probe: the probe of every run (linear head on frozen features, lr chosen on validation).
        probe_seeds: probe seeds per run (head initialisation and batch order).
        scratch: also probe a randomly initialised network of the base architecture.
        baseline: the variant the others are compared with (``cm-mnm`` in the issue's design);
            None compares with nothing.
        out_dir: the study folder.
        runs_from: another study's folder whose finished runs (and prepared genome) this study
            probes instead of pretraining its own (None: ``out_dir``). It probes the same runs
            another way (``network``, ``probe.features.pooling``) at the cost of the probes only;
            a variant x seed not finished there is an error, never trained there.
    """

    preset: str = "tiny"
    variants: dict[str, list[str]] = field(
        default_factory=lambda: {"findna": [], "cm-mnm": ["ssl.variant=cm-mnm"]}
    )
    overrides: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    network: str = "teacher"
    suite: str = VALIDATION_SUITE
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    probe_seeds: list[int] = field(default_factory=lambda: [0])
    scratch: bool = True
    baseline: str | None = "cm-mnm"
    out_dir: str = "runs/study"
    runs_from: str | None = None

    def __post_init__(self) -> None:
        if not self.variants:
            raise ValueError("study.variants is empty: name at least one variant")
        for name, sets in self.variants.items():
            if not name or not all(c.isalnum() or c in "-_." for c in name) or name == SCRATCH:
                raise ValueError(
                    f"variant name {name!r}: use letters, digits, '-', '_' or '.' (and not "
                    f"{SCRATCH!r}, which names the random baseline)"
                )
            if not isinstance(sets, list) or not all(isinstance(s, str) for s in sets):
                raise ValueError(f"variant {name}: give a list of key=value strings, got {sets!r}")
        for name, seeds in (("seeds", self.seeds), ("probe_seeds", self.probe_seeds)):
            if not seeds or len(set(seeds)) != len(seeds):
                raise ValueError(f"study.{name} must list distinct seeds, got {seeds}")
        if self.network not in ("teacher", "student"):
            raise ValueError(f"study.network must be teacher or student, got {self.network!r}")
        if self.baseline is not None and self.baseline not in self.variants:
            raise ValueError(
                f"study.baseline {self.baseline!r} is not a variant ({', '.join(self.variants)})"
            )


@dataclass
class StudyResult:
    """The ranked validation table and where the study wrote it."""

    table: pd.DataFrame
    markdown: Path
    seconds: dict[str, float]


def run_name(variant: str, seed: int) -> str:
    """The model name of one pretraining run in the probe benchmark: ``variant@s<seed>``."""
    return f"{variant}@s{seed}"


def runs_root(cfg: StudyConfig) -> Path:
    """The folder holding the study's ``runs/`` and prepared ``genome/``: ``runs_from`` when
    set, else ``out_dir``."""
    return Path(cfg.runs_from or cfg.out_dir)


def run_dir(cfg: StudyConfig, variant: str, seed: int) -> Path:
    """The folder of one pretraining run: ``ROOT/runs/<variant>/seed<k>`` (:func:`runs_root`)."""
    return runs_root(cfg) / "runs" / variant / f"seed{seed}"


def pretrain_config(cfg: StudyConfig, variant: str, seed: int) -> PretrainConfig:
    """The resolved config of one run: base <- study overrides <- variant <- seed and folder."""
    sets = [
        f"data.prepared_dir={runs_root(cfg) / 'genome'}",  # one prepared genome for every run
        *cfg.overrides,
        *cfg.variants[variant],
        f"run.seed={seed}",
        f"run.out_dir={run_dir(cfg, variant, seed)}",
    ]
    return load_config(PretrainConfig, preset_path("pretrain", cfg.preset), sets)


def _pretrain_all(cfg: StudyConfig) -> dict[str, float]:
    # Seed-major: a study stopped part-way has every variant at its first seed before any second.
    jobs = [(v, s) for s in cfg.seeds for v in cfg.variants]
    seconds: dict[str, float] = {}
    with open(Path(cfg.out_dir) / "runs.jsonl", "a") as times:
        for n, (variant, seed) in enumerate(jobs, 1):
            run_cfg = pretrain_config(cfg, variant, seed)
            if cfg.runs_from and not (run_cfg.out_dir / "summary.json").is_file():
                raise ValueError(
                    f"runs_from {cfg.runs_from}: no finished run of {variant} seed {seed} in "
                    f"{run_cfg.out_dir}; finish that study first, or drop runs_from to pretrain "
                    "the runs in this study's own folder"
                )
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


def score_table(report: BenchmarkReport, cfg: StudyConfig, split: str = "val") -> pd.DataFrame:
    """Per (variant, task): the primary metric of ``split`` averaged over probe seeds, then mean
    and std (ddof=1) over pretraining seeds; the task ``"suite mean"`` averages the tasks per
    pretraining seed first. Rows are ranked by the suite mean (best first)."""
    primary = report.primary_metrics()
    rows = []
    for r in report.results:
        metrics = r.val_metrics if split == "val" else r.test_metrics
        variant, _, seed = r.model.partition("@s")
        rows.append(
            {
                "variant": variant,
                "pretrain_seed": int(seed) if seed else 0,
                "task": r.task,
                "score": metrics.get(primary[r.task], math.nan),
            }
        )
    frame = pd.DataFrame(rows)
    per_run = frame.groupby(["variant", "pretrain_seed", "task"], as_index=False)["score"].mean()
    suite = per_run.groupby(["variant", "pretrain_seed"], as_index=False)["score"].mean()
    suite["task"] = "suite mean"
    both = pd.concat([per_run, suite], ignore_index=True)
    stats = both.groupby(["variant", "task"])["score"].agg(["mean", "std", "count"]).reset_index()
    order = (
        stats[stats["task"] == "suite mean"]
        .sort_values("mean", ascending=False)["variant"]
        .tolist()
    )
    stats["rank"] = stats["variant"].map({v: i + 1 for i, v in enumerate(order)})
    return stats.sort_values(["rank", "task"]).reset_index(drop=True)


def _cell(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "n/a"
    return f"{100 * mean:.2f}" + ("" if math.isnan(std) else f" ± {100 * std:.2f}")


def to_markdown(table: pd.DataFrame, cfg: StudyConfig, split: str = "val") -> str:
    """The ranked table: variants (rows) x tasks and the suite mean, mean ± std in percent."""
    tasks = [t for t in dict.fromkeys(table["task"]) if t != "suite mean"]
    variants = list(dict.fromkeys(table.sort_values("rank")["variant"]))
    cells = table.set_index(["variant", "task"])
    base = cfg.baseline if cfg.baseline in variants else None
    head = ["rank", "variant", "runs", "suite mean"] + (["vs " + base] if base else []) + tasks
    lines = [
        f"## Study ({split} split): {len(variants)} variants, ranked by the suite mean",
        "",
        f"Cells: primary metric in percent, averaged over probe seeds "
        f"{list(cfg.probe_seeds)}, then mean ± std (ddof=1) over pretraining seeds "
        f"{list(cfg.seeds)}. Network probed: {cfg.network}, features: "
        f"{cfg.probe.features.pooling}. Split: {split}"
        + (" (used to rank)." if split == "val" else " (reported once; never used to rank)."),
        "",
        "| " + " | ".join(head) + " |",
        "|---" * len(head) + "|",
    ]
    for v in variants:
        suite = cells.loc[(v, "suite mean")]
        row = [
            str(int(suite["rank"])),
            v,
            str(int(suite["count"])),
            _cell(suite["mean"], suite["std"]),
        ]
        if base:
            delta = suite["mean"] - cells.loc[(base, "suite mean"), "mean"]
            row.append("–" if v == base else f"{100 * delta:+.2f}")
        row += [_cell(cells.loc[(v, t), "mean"], cells.loc[(v, t), "std"]) for t in tasks]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


DIAGNOSTICS = {
    "val/mnm_acc": "held-out MNM acc.",
    "train/teacher_entropy": "teacher entropy (nats)",
    "train/center_norm": "centre norm",
    "train/loss_cl": "CL loss",
}
"""End-of-run values of each pretraining run (``summary.json``) that explain a ranking: the MNM
skill the CL term may cost, and the two collapse modes of the teacher (entropy near 0: one sharp
output; near ln K: uniform, no signal)."""


def diagnostics(cfg: StudyConfig) -> pd.DataFrame:
    """Per variant: mean ± std over pretraining seeds of :data:`DIAGNOSTICS` (NaN where a run
    does not log one, e.g. the teacher of cm-mnm), in the order of ``cfg.variants``."""
    rows = []
    for variant in cfg.variants:
        for seed in cfg.seeds:
            path = run_dir(cfg, variant, seed) / "summary.json"
            summary = json.loads(path.read_text()) if path.is_file() else {}
            rows.append({"variant": variant, **{k: summary.get(k, math.nan) for k in DIAGNOSTICS}})
    frame = pd.DataFrame(rows)
    return frame.groupby("variant", sort=False).agg(["mean", "std"])


def diagnostics_markdown(table: pd.DataFrame) -> str:
    """:func:`diagnostics` as a Markdown table (accuracy in percent)."""
    lines = ["| variant | " + " | ".join(DIAGNOSTICS.values()) + " |", "|---" * 5 + "|"]
    for variant, row in table.iterrows():
        cells = []
        for key in DIAGNOSTICS:
            mean, std = row[(key, "mean")], row[(key, "std")]
            if math.isnan(mean):
                cells.append("–")
            elif key == "val/mnm_acc":
                cells.append(_cell(mean, std))  # a fraction, shown in percent
            else:
                cells.append(f"{mean:.2f}" + ("" if math.isnan(std) else f" ± {std:.2f}"))
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_study(table: pd.DataFrame, path: Path) -> Path:
    """Bars of the suite mean ± std over pretraining seeds, best first."""
    suite = table[table["task"] == "suite mean"].sort_values("rank")
    fig = new_figure(max(4.0, 0.8 * len(suite) + 2), 3.2)
    ax = fig.subplots()
    x = np.arange(len(suite))
    ax.bar(x, 100 * suite["mean"], yerr=100 * suite["std"].fillna(0), capsize=3)
    ax.set_xticks(x, suite["variant"], rotation=30, ha="right")
    ax.set_ylabel("validation suite mean (%)")
    ax.set_title("error bars: std over pretraining seeds", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)


def load_study_config(path: str | Path | None, overrides: Sequence[str] = ()) -> StudyConfig:
    """Defaults <- the study YAML (a path, or a shipped name such as ``tiny_objectives``) <-
    ``--set`` overrides."""
    return load_config(StudyConfig, None if path is None else preset_path("study", path), overrides)


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
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, out / "study.yaml")
    start = time.perf_counter()
    seconds = _pretrain_all(cfg)
    report = _probe_all(cfg, tasks, root)
    seconds["probes"] = time.perf_counter() - start - sum(seconds.values())
    table = score_table(report, cfg, "val")
    diag = diagnostics(cfg)
    text = "# findna study\n\n" + to_markdown(table, cfg, "val")
    text += (
        "\n## End of pretraining (mean ± std over pretraining seeds, summary.json)\n\n"
        + diagnostics_markdown(diag)
    )
    data: dict[str, Any] = {
        "config": config_to_dict(cfg),
        "val": table.to_dict("records"),
        "diagnostics": {
            v: {f"{k}|{stat}": x for (k, stat), x in row.items()} for v, row in diag.iterrows()
        },
    }
    if final is not None:
        test = score_table(report, cfg, "test")
        keep = {final, cfg.baseline, next(iter(cfg.variants)), SCRATCH} - {None}
        test = test[test["variant"].isin(keep)]
        text += "\n" + to_markdown(test, cfg, "test")
        data["test"] = test.to_dict("records")
        data["final"] = final
    (out / "study.json").write_text(json.dumps(data, indent=2, default=float) + "\n")
    path = out / "study.md"
    path.write_text(text + "\n![study](study.png)\n")
    plot_study(table, out / "study.png")
    return StudyResult(table, path, seconds)


__all__ = [
    "StudyConfig",
    "StudyResult",
    "VALIDATION_SUITE",
    "load_study_config",
    "pretrain_config",
    "run_study",
    "score_table",
    "to_markdown",
]
