"""Benchmark reports: per-seed results with provenance, mean ± std summaries, JSON, Markdown, plot.

A :class:`BenchmarkReport` holds one :class:`SeedResult` per (task, model, mode, seed) and a
:class:`Provenance` (config, checkpoint, data checksums, task cards, version, commit, date, host);
``to_json`` keeps every per-seed number (a summary is recomputed), ``to_markdown`` the table.

The intended protocol, stated in every Markdown report, is: hyperparameters and epochs are chosen
on the validation split only, and the test split is evaluated once per seed with the selected
model. A run that departs from it (e.g. the ``reference`` preset, where GenomicBenchmarks' test
split doubles as validation) must say so in ``BenchmarkReport.protocol``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from findna.eval.metrics import METRIC_NAMES
from findna.folders import FolderKind, check_folder, entries
from findna.outputs import json_ready, json_text, write_text_atomic
from findna.provenance import Provenance

if TYPE_CHECKING:
    pass

SCHEMA_VERSION = 1
MODES = ("probe", "finetune", "published")
SPLITS = ("val", "test")
DEFAULT_PROTOCOL = (
    "Model selection (hyperparameters, epoch) on the validation split only; "
    "the test split is evaluated once per seed with the selected model."
)


def result_label(model: str, mode: str) -> str:
    """A result's column in tables and plots: ``"model (mode)"``, or the model alone for a
    published model's predictions read from the task's files (mode ``published``,
    :mod:`findna.eval.peer`)."""
    return model if mode == "published" else f"{model} ({mode})"


@dataclass
class SeedResult:
    """The outcome of one seed of one model on one task.

    Attributes:
        task: task name (as in the task registry).
        model: model name, e.g. ``"findna"`` or ``"scratch"``.
        mode: ``"probe"`` (frozen backbone, linear head) or ``"finetune"`` (all weights).
        seed: the run's seed.
        primary_metric: the task's headline metric, one of ``METRIC_NAMES``.
        val_metrics: metric name -> value on the validation split (of the selected model).
        test_metrics: metric name -> value on the test split; must hold ``primary_metric``.
        hyperparameters: what model selection chose, e.g. ``{"lr": 1e-3, "epochs": 20}``.
        timings: seconds spent, e.g. ``{"train_s": 812.5, "eval_s": 3.1}``.
        split_sizes: examples per split and class, ``{"train": {"n": 90, "0": 45, "1": 45},
            ...}`` (empty in results written before it existed).
    """

    task: str
    model: str
    mode: str
    seed: int
    primary_metric: str
    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    split_sizes: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"result {self.task}/{self.model}/{self.mode}/seed {self.seed}"
        if self.mode not in MODES:
            raise ValueError(f"{where}: mode must be one of {MODES}, got {self.mode!r}")
        if self.primary_metric not in METRIC_NAMES:
            raise ValueError(
                f"{where}: unknown primary metric {self.primary_metric!r}; "
                f"choose one of {', '.join(METRIC_NAMES)}"
            )
        if self.primary_metric not in self.test_metrics:
            raise ValueError(
                f"{where}: test_metrics lacks the primary metric {self.primary_metric}"
            )
        for name in ("val_metrics", "test_metrics", "timings"):
            values = getattr(self, name)
            try:
                setattr(self, name, {str(k): float(v) for k, v in values.items()})
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}: {name} must map names to numbers, got {values}"
                ) from None

    @property
    def label(self) -> str:
        """The column name of this result in tables and plots (:func:`result_label`)."""
        return result_label(self.model, self.mode)


def aggregate(results: Iterable[SeedResult]) -> pd.DataFrame:
    """Mean and sample std (ddof=1) over seeds per (task, model, mode, split, metric).

    NaN values (undefined metrics) are left out and not counted in ``n``; with ``n == 1`` the std
    is NaN (rendered "n/a"). Rows keep the order in which tasks and models first appear.

    Returns:
        Columns ``task, model, mode, split, metric, mean, std, n``.
    """
    rows = [
        (r.task, r.model, r.mode, split, metric, value)
        for r in results
        for split, values in (("val", r.val_metrics), ("test", r.test_metrics))
        for metric, value in values.items()
    ]
    cols = ["task", "model", "mode", "split", "metric"]
    frame = pd.DataFrame(rows, columns=[*cols, "value"])
    grouped = frame.groupby(cols, sort=False)["value"]
    out = grouped.agg(mean="mean", std=lambda v: v.std(ddof=1), n="count").reset_index()
    out["n"] = out["n"].astype(int)
    return out


SECONDARY = {"pearson": ("spearman", "r2"), "macro_auroc": ("macro_auprc",)}
"""The other means a regression or multi-label task's Markdown report shows beside its primary
metric (every metric is in the JSON and CSV tables)."""


def _type_lines(results: list[SeedResult], split: str) -> list[str]:
    """Lines under the comparison table: a regression or multi-label task's other means (mean ±
    std over seeds, in percent) and the labels each seed left out of a multi-label macro mean."""
    agg = aggregate(results)
    lines = []
    for task, model, mode in dict.fromkeys((r.task, r.model, r.mode) for r in results):
        seeds = [r for r in results if (r.task, r.model, r.mode) == (task, model, mode)]
        others = SECONDARY.get(seeds[0].primary_metric, ())
        rows = agg[(agg["task"] == task) & (agg["model"] == model) & (agg["mode"] == mode)]
        rows = rows[(rows["split"] == split) & rows["metric"].isin(others)].set_index("metric")
        stats = {m: rows.loc[m] for m in others if m in rows.index}
        cells = [
            f"{m} {_fmt_cell(float(v['mean']), float(v['std']), int(v['n']))}"
            for m, v in stats.items()
        ]
        left = {
            r.seed: r.hyperparameters.get("labels_without_both_classes", {}).get(split) or []
            for r in seeds
        }
        if any(left.values()):
            cells.append(
                "left out of the macro means (no positive or no negative row): "
                + ", ".join(f"seed {s}: {', '.join(v)}" for s, v in left.items() if v)
            )
        if cells:
            lines.append(f"- {task}, {result_label(model, mode)}: " + "; ".join(cells))
    return ["", *lines] if lines else []


def _fmt_cell(mean: float, std: float, n: int) -> str:
    if n == 0 or math.isnan(mean):
        return "n/a"
    spread = "n/a" if math.isnan(std) else f"{100 * std:.2f}"
    return f"{100 * mean:.2f} ± {spread} ({n})"


def none_to_nan(values: Mapping[str, float | None]) -> dict[str, float]:
    """JSON's null read back as NaN (:func:`findna.outputs.json_ready` writes NaN as null)."""
    return {k: (math.nan if v is None else v) for k, v in values.items()}


def write_seed_results(results: Iterable[SeedResult], path: str | Path) -> Path:
    """Write per-seed results alone (no provenance) as a JSON list; return the path.

    Written before provenance is collected, so a failure there (e.g. a data file that went away)
    never loses finished runs. NaN metrics become null.
    """
    return write_text_atomic(path, json_text([dataclasses.asdict(r) for r in results], indent=2))


@dataclass
class BenchmarkReport:
    """Per-seed results of several models on several tasks, with provenance: what
    ``findna.probe``, ``findna.finetune`` and ``findna.benchmark`` return.

    Attributes:
        results: one :class:`SeedResult` per (task, model, mode, seed), in run order.
        provenance: where the results came from (:class:`findna.provenance.Provenance`: findna
            version, git commit, config hash, weights ids, data checksums, date, machine).
        protocol: how models were selected and scored, one line printed in reports.
        title: the Markdown heading (``probe``/``finetune`` reports: "Probe results",
            "Fine-tuning results"); not stored in JSON.
    """

    results: list[SeedResult]
    provenance: Provenance
    protocol: str = DEFAULT_PROTOCOL
    title: str = "Benchmark results"

    def __post_init__(self) -> None:
        seen: set[tuple[str, str, str, int]] = set()
        primary: dict[str, str] = {}
        for r in self.results:
            key = (r.task, r.model, r.mode, r.seed)
            if key in seen:
                raise ValueError(
                    f"duplicate result for task/model/mode/seed {key}; seeds count once"
                )
            seen.add(key)
            if primary.setdefault(r.task, r.primary_metric) != r.primary_metric:
                raise ValueError(
                    f"task {r.task}: results name different primary metrics "
                    f"({primary[r.task]} and {r.primary_metric}); use one per task"
                )

    def primary_metrics(self) -> dict[str, str]:
        """Task -> primary metric, in order of first appearance."""
        return {r.task: r.primary_metric for r in self.results}

    def summary(self, split: str = "test") -> pd.DataFrame:
        """Primary metric per task (rows) and ``"model (mode)"`` (columns): mean, std, n."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        agg = aggregate(self.results)
        agg = agg[agg["split"] == split]
        primary = self.primary_metrics()
        agg = agg[agg["metric"] == agg["task"].map(primary)].copy()
        agg["label"] = [
            result_label(m, mode) for m, mode in zip(agg["model"], agg["mode"], strict=True)
        ]
        return agg[["task", "label", "mean", "std", "n"]].reset_index(drop=True)

    def to_markdown(self, split: str = "test", per_seed: bool = False) -> str:
        """A comparison table: tasks x models, cells "mean ± std (n)" in percent, best in bold."""
        summary = self.summary(split)
        tasks = list(self.primary_metrics())
        labels = list(dict.fromkeys(r.label for r in self.results))
        primary = self.primary_metrics()
        lines = [
            f"## {self.title} ({split} split)",
            "",
            f"Protocol: {self.protocol}",
            "",
            "Cells: mean ± std (ddof=1) over seeds (n seeds), in percent; "
            "best mean per task in bold.",
            "",
            "| task (primary metric) | " + " | ".join(labels) + " |",
            "|---" * (len(labels) + 1) + "|",
        ]
        for task in tasks:
            rows = summary[summary["task"] == task].set_index("label")
            best = rows["mean"].max()
            cells = []
            for label in labels:
                if label not in rows.index:
                    cells.append("–")
                    continue
                mean, std, n = rows.loc[label, ["mean", "std", "n"]]
                cell = _fmt_cell(float(mean), float(std), int(n))
                bold = not math.isnan(mean) and np.isclose(mean, best, rtol=0, atol=1e-12)
                cells.append(f"**{cell}**" if bold else cell)
            lines.append(f"| {task} ({primary[task]}) | " + " | ".join(cells) + " |")
        lines += _type_lines(self.results, split)
        p = self.provenance
        lines += [
            "",
            f"findna {p.findna_version}, commit {p.git_commit or 'unknown'}, "
            f"config sha256 {p.config_hash[:12]}, {p.checkpoint_text()}, "
            f"{p.date}, {p.machine.get('accelerator', '?')} on {p.machine.get('hostname', '?')}.",
        ]
        sizes = {r.task: r.split_sizes for r in self.results if r.split_sizes}
        lines += p.task_lines()
        for task, files in p.data_checksums.items():
            listed = ", ".join(f"{name} md5 {md5}" for name, md5 in files.items())
            lines.append(f"- data {task}: {listed}")
            if task in sizes:
                n = " / ".join(f"{k} {v['n']}" for k, v in sizes[task].items())
                lines.append(f"- examples {task}: {n}")
        if per_seed:
            lines += [
                "",
                "| task | model | seed | val | test | hyperparameters |",
                "|---" * 6 + "|",
            ]
            for r in self.results:
                m = r.primary_metric
                val = r.val_metrics.get(m, math.nan)
                val_text = "n/a" if math.isnan(val) else f"{100 * val:.2f}"
                hp = json.dumps(r.hyperparameters, sort_keys=True)
                lines.append(
                    f"| {r.task} | {r.label} | {r.seed} | {val_text} | "
                    f"{100 * r.test_metrics[m]:.2f} | {hp} |"
                )
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain JSON types (NaN metrics become null)."""
        summary = aggregate(self.results).to_dict(orient="records")
        return json_ready(
            {
                "schema_version": SCHEMA_VERSION,
                "protocol": self.protocol,
                "provenance": dataclasses.asdict(self.provenance),
                "results": [dataclasses.asdict(r) for r in self.results],
                "summary": summary,
            }
        )

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as standard JSON (no NaN literals, atomically); return the path."""
        return write_text_atomic(path, json_text(self.to_dict(), indent=2))

    @classmethod
    def from_json(cls, path: str | Path) -> BenchmarkReport:
        """Read a report written by :meth:`to_json` (the summary is recomputed, not trusted)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"report {path} does not exist")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not valid JSON: {err}") from None
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"{path}: schema_version {version!r} is not {SCHEMA_VERSION}; "
                "was it written by findna's BenchmarkReport.to_json?"
            )
        results = []
        where = "provenance"
        try:
            provenance = Provenance(**data["provenance"])
            for i, d in enumerate(data["results"]):
                where = f"results[{i}]"
                for name in ("val_metrics", "test_metrics", "timings"):
                    d[name] = none_to_nan(d.get(name, {}))
                results.append(SeedResult(**d))
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"{path}: malformed report at {where}: {err}") from None
        return cls(results, provenance, data.get("protocol", DEFAULT_PROTOCOL))


def report_folder(stem: str) -> FolderKind:
    """What ``probe`` or ``finetune`` (``stem``) writes in its report folder: ``config.yaml``,
    ``<stem>.json/.md``, ``<stem>_seeds.json``, ``features/``, ``logs/``, ``seed<k>/``, and the
    tables ``<stem>.csv``, ``<stem>_summary.csv`` and ``predictions/``
    (:mod:`findna.eval.report_tables`)."""
    own = ("config.yaml", f"{stem}.json", f"{stem}.md", f"{stem}_seeds.json", "features", "logs")
    tables = (f"{stem}.csv", f"{stem}_summary.csv", "predictions")
    kind = FolderKind(f"{stem} report", stem, (*own, "seed<k>", *tables), lambda p: False)

    def is_report(path: Path) -> bool:
        """A report written before manifests: ``config.yaml`` and only report files, or
        ``config.yaml`` beside the report itself (then other files are the user's)."""
        names = entries(path)
        if "config.yaml" not in names:
            return False
        return all(kind.writes(n) for n in names) or any(n in names for n in own[1:4])

    return FolderKind(kind.kind, stem, kind.names, is_report)


def check_report_dir(out_dir: str | Path, stem: str, force: bool = False) -> Path:
    """Before any work: ``out_dir`` is new, empty, an unfinished ``stem`` report (a killed or
    failed run), or a finished one, which only ``force`` replaces; files findna did not write are
    kept (findna/folders). ``run_task`` then replaces it as this check allowed."""
    return check_folder(out_dir, report_folder(stem), force=force)
