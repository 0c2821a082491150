"""A benchmark suite mixing a classification and a regression task (issue 23): each task's
own primary metric in its tables."""

import json
from dataclasses import fields, replace

import numpy as np
import pandas as pd
import pytest

from findna.data.tasks import TaskSpec
from findna.eval.benchmark import run_benchmark
from findna.eval.benchmark_config import BenchmarkConfig
from findna.eval.features import FeatureConfig
from findna.eval.probe_config import ProbeConfig
from findna.model.config import ModelConfig

pytestmark = pytest.mark.skipif(
    "task_type" not in {f.name for f in fields(TaskSpec)}, reason="TaskSpec has no task_type yet"
)


def _tasks(tmp):
    rng = np.random.default_rng(0)
    rows, seen = [], set()
    while len(rows) < 80:
        i = len(rows)
        g = rng.uniform(0.05, 0.45)
        seq = "".join(
            rng.choice(list("ACGT"), int(rng.integers(16, 25)), p=[0.5 - g, g, g, 0.5 - g])
        )
        if seq in seen:
            continue
        seen.add(seq)
        rows.append((seq, i % 2, sum(c in "GC" for c in seq) / len(seq), float(len(seq))))
    frame = pd.DataFrame(rows, columns=["sequence", "label", "gc", "length"])
    frame.to_csv(tmp / "reg.csv", index=False)
    cls = frame.assign(label=(frame["gc"] > frame["gc"].median()).astype(int))
    cls[["sequence", "label"]].to_csv(tmp / "cls.csv", index=False)
    common = dict(format="table", protocol="resplit_70_10_20", max_len=24)
    return [
        TaskSpec(
            "synthetic/cls",
            "toy",
            {"all": str(tmp / "cls.csv")},
            num_classes=2,
            metric="mcc",
            **common,
        ),  # fmt: skip
        TaskSpec(
            "synthetic/reg",
            "toy",
            {"all": str(tmp / "reg.csv")},
            num_classes=2,
            metric="pearson",
            task_type="regression",
            targets=("gc", "length"),
            **common,
        ),  # fmt: skip
    ]


def _with_targets(real):
    """``load_task`` whose regression labels are the table's targets, for a data layer that
    does not read them yet (a no-op once it does)."""

    def load(spec, *args, **kwargs):
        task = real(spec, *args, **kwargs)
        if spec.task_type != "regression" or task.train.labels.ndim == 2:
            return task
        frame = pd.read_csv(spec.files["all"]).set_index("sequence")
        parts = {}
        for name, part in task.splits().items():
            part = replace(part)
            values = frame.loc[part.seqs, list(spec.targets)].to_numpy(np.float32)
            object.__setattr__(part, "labels", values)
            parts[name] = part
        return replace(task, **parts)

    return load


def test_mixed_benchmark_reports_each_task_primary_metric(tmp_path, monkeypatch):
    import findna.eval.benchmark as bm

    monkeypatch.setattr(bm, "load_task", _with_targets(bm.load_task))
    cfg = BenchmarkConfig(
        models=["scratch"],
        mode="probe",
        seeds=[0],
        out_dir=str(tmp_path / "bench"),
        scratch_model=ModelConfig.tiny(max_len=64),
        probe=ProbeConfig(epochs=10, batch_size=32, features=FeatureConfig(batch_size=64)),
    )
    tasks = _tasks(tmp_path)
    report = run_benchmark(cfg, tasks=tasks, root=tmp_path)
    by_task = {r.task: r for r in report.results}
    assert by_task["synthetic/cls"].primary_metric == "mcc"
    assert by_task["synthetic/reg"].primary_metric == "pearson"
    assert "pearson_length" in by_task["synthetic/reg"].test_metrics
    out = tmp_path / "bench"
    md = (out / "results.md").read_text()
    assert "synthetic/cls (mcc)" in md and "synthetic/reg (pearson)" in md
    data = json.loads((out / "results.json").read_text())
    assert {(s["task"], s["metric"]) for s in data["summary"]} >= {
        ("synthetic/cls", "mcc"),
        ("synthetic/reg", "pearson"),
    }
    preds = pd.read_csv(out / "predictions" / "synthetic__reg" / "scratch" / "seed0.csv")
    assert "pred_gc" in preds.columns and "target_length" in preds.columns
