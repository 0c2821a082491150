"""A study's tables and figure: the ranked score table (mean ± std over pretraining seeds), its
Markdown, the end-of-pretraining diagnostics and the suite-mean bar chart
(see :mod:`findna.workflows.study`)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from findna.eval.report import BenchmarkReport
from findna.figures import new_figure, save_figure
from findna.ssl.schedules import ema_start_of, initial_weight_share
from findna.train.curves import read_metrics
from findna.workflows.study_config import StudyConfig, pretrain_config, run_dir


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


CONFLICT = {
    "diag/grad_mnm": "MNM grad norm",
    "diag/grad_cl": "CL grad norm",
    "diag/grad_cos": "cos",
    "diag/grad_cos_abs": "abs cos",
    "diag/grad_cos_input": "cos input",
    "diag/grad_cos_head": "cos head",
    "diag/teacher_spread": "teacher spread",
    "diag/teacher_offset": "centre offset",
    "teacher_init_share": "teacher init. share",
}
"""The conflict diagnostics of issue 21 (``findna.ssl.diagnostics``), each the mean over the
diagnostic steps (``run.diagnostics_every``) of the run's second half (:func:`late_diagnostics`):
the MNM and CL gradient norms on the student and their cosines (all, its absolute value, input
layer, head), the teacher's CL outputs' spread over the batch against the offset the centre
leaves; and the share of the EMA network's initial weights left at the end of the run (from the
run's schedule). One diagnostic step is not enough: in the tiny paper-objective run the overall
cosine swings between -0.92 and +0.80 from one diagnostic step to the next."""


def late_diagnostics(run: Path, every: int) -> dict[str, float]:
    """Mean of every ``diag/`` column of a run's ``metrics.csv`` over its diagnostic steps (``step
    + 1`` a multiple of ``every``; the rows between repeat the last value) in the second half of
    the run, and ``diag/grad_cos_abs``, the mean of ``|diag/grad_cos|``; {} without a log."""
    try:
        frame = read_metrics(run / "logs")
    except (FileNotFoundError, ValueError):
        return {}
    steps = frame["step"]
    late = frame[((steps + 1) % max(every, 1) == 0) & (steps >= steps.max() / 2)]
    means = {k: float(late[k].dropna().mean()) for k in late.columns if k.startswith("diag/")}
    if "diag/grad_cos" in late:
        means["diag/grad_cos_abs"] = float(late["diag/grad_cos"].dropna().abs().mean())
    return means


def _end_share(cfg: StudyConfig, variant: str, seed: int) -> float:
    """The share of the EMA network's initial weights left after the run (NaN without one)."""
    run = pretrain_config(cfg, variant, seed)
    if not run.ssl.has_ema_network:
        return math.nan
    total = run.total_steps(run.run.devices if isinstance(run.run.devices, int) else 1)
    start = ema_start_of(run.ssl, total)
    return initial_weight_share(total, total, start, run.ssl.ema_end)


def diagnostics(cfg: StudyConfig, keys: dict[str, str] = DIAGNOSTICS) -> pd.DataFrame:
    """Per variant: mean ± std over pretraining seeds of ``keys`` (:data:`DIAGNOSTICS`, from
    ``summary.json``, or :data:`CONFLICT`, whose ``diag/`` values are :func:`late_diagnostics`;
    NaN where a run does not log one, e.g. the teacher of cm-mnm), in the order of
    ``cfg.variants``."""
    rows = []
    for variant in cfg.variants:
        for seed in cfg.seeds:
            path = run_dir(cfg, variant, seed) / "summary.json"
            summary = json.loads(path.read_text()) if path.is_file() else {}
            if "teacher_init_share" in keys:
                summary["teacher_init_share"] = _end_share(cfg, variant, seed)
            if any(k.startswith("diag/") for k in keys):  # never summary.json's last step
                summary = {k: v for k, v in summary.items() if not k.startswith("diag/")}
                every = pretrain_config(cfg, variant, seed).run.diagnostics_every
                summary.update(late_diagnostics(run_dir(cfg, variant, seed), every))
            rows.append({"variant": variant, **{k: summary.get(k, math.nan) for k in keys}})
    frame = pd.DataFrame(rows)
    return frame.groupby("variant", sort=False).agg(["mean", "std"])


def diagnostics_markdown(table: pd.DataFrame, keys: dict[str, str] = DIAGNOSTICS) -> str:
    """:func:`diagnostics` as a Markdown table (accuracy in percent)."""
    lines = ["| variant | " + " | ".join(keys.values()) + " |", "|---" * (len(keys) + 1) + "|"]
    for variant, row in table.iterrows():
        cells = []
        for key in keys:
            mean, std = row[(key, "mean")], row[(key, "std")]
            if math.isnan(mean):
                cells.append("–")
            elif key == "val/mnm_acc":
                cells.append(_cell(mean, std))  # a fraction, shown in percent
            elif key in CONFLICT:  # small norms and shares: 3 significant digits
                cells.append(f"{mean:.3g}" + ("" if math.isnan(std) else f" ± {std:.2g}"))
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


__all__ = [
    "CONFLICT",
    "DIAGNOSTICS",
    "diagnostics",
    "diagnostics_markdown",
    "plot_study",
    "score_table",
    "to_markdown",
]
