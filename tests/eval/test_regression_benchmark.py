"""A benchmark suite mixing a classification, a regression and a multi-label task (issue 23):
each task's own primary metric in its tables, targets and labels read from the tables."""

import json

import numpy as np
import pandas as pd
from gc_sequences import gc_biased_sequence

from findna.data.tasks import TaskSpec
from findna.eval.benchmark import run_benchmark
from findna.eval.benchmark_config import BenchmarkConfig
from findna.eval.features import FeatureConfig
from findna.eval.probe_config import ProbeConfig
from findna.model.config import ModelConfig


def _tasks(tmp):
    rng = np.random.default_rng(0)
    rows, seen = [], set()
    while len(rows) < 80:
        i = len(rows)
        seq = gc_biased_sequence(rng)
        if seq in seen:
            continue
        seen.add(seq)
        rows.append((seq, i % 2, sum(c in "GC" for c in seq) / len(seq), float(len(seq))))
    frame = pd.DataFrame(rows, columns=["sequence", "label", "gc", "length"])
    frame["gc_rich"] = (frame["gc"] > frame["gc"].median()).astype(int)
    frame["long"] = (frame["length"] > frame["length"].median()).astype(int)
    frame.to_csv(tmp / "reg.csv", index=False)
    cls = frame.assign(label=frame["gc_rich"])
    cls[["sequence", "label"]].to_csv(tmp / "cls.csv", index=False)
    common = dict(format="table", protocol="resplit_70_10_20", max_len=24)
    cls_spec = TaskSpec(
        "synthetic/cls", "toy", {"all": str(tmp / "cls.csv")}, num_classes=2, metric="mcc", **common
    )
    reg_spec = TaskSpec(
        "synthetic/reg",
        "toy",
        {"all": str(tmp / "reg.csv")},
        num_classes=0,
        metric="pearson",
        task_type="regression",
        targets=("gc", "length"),
        **common,
    )
    multi_spec = TaskSpec(
        "synthetic/multi",
        "toy",
        {"all": str(tmp / "reg.csv")},
        num_classes=0,
        metric="macro_auroc",
        task_type="multilabel",
        targets=("gc_rich", "long"),
        **common,
    )
    return frame, [cls_spec, reg_spec, multi_spec]


def test_mixed_benchmark_reports_each_task_primary_metric(tmp_path):
    cfg = BenchmarkConfig(
        models=["scratch"],
        mode="probe",
        seeds=[0],
        out_dir=str(tmp_path / "bench"),
        scratch_model=ModelConfig.tiny(max_len=64),
        probe=ProbeConfig(epochs=10, batch_size=32, features=FeatureConfig(batch_size=64)),
    )
    frame, tasks = _tasks(tmp_path)
    report = run_benchmark(cfg, tasks=tasks, root=tmp_path)
    by_task = {r.task: r for r in report.results}
    assert by_task["synthetic/cls"].primary_metric == "mcc"
    assert by_task["synthetic/reg"].primary_metric == "pearson"
    assert by_task["synthetic/multi"].primary_metric == "macro_auroc"
    assert "pearson_length" in by_task["synthetic/reg"].test_metrics
    assert {"macro_auprc", "auroc_gc_rich", "auprc_long"} <= set(
        by_task["synthetic/multi"].test_metrics
    )
    out = tmp_path / "bench"
    md = (out / "results.md").read_text()
    for name in ("synthetic/cls (mcc)", "synthetic/reg (pearson)", "synthetic/multi (macro_auroc)"):
        assert name in md
    data = json.loads((out / "results.json").read_text())
    assert {(s["task"], s["metric"]) for s in data["summary"]} >= {
        ("synthetic/cls", "mcc"),
        ("synthetic/reg", "pearson"),
        ("synthetic/multi", "macro_auroc"),
    }
    # the data layer read the targets and labels from the table (row ids are reg.csv:<row>)
    by_row = frame.set_index(frame.index + 1)
    reg = pd.read_csv(out / "predictions" / "synthetic__reg" / "scratch" / "seed0.csv")
    rows = [int(i.split(":")[1]) for i in reg["id"]]
    assert "pred_gc" in reg.columns
    np.testing.assert_allclose(reg["target_length"], by_row.loc[rows, "length"])
    np.testing.assert_allclose(reg["target_gc"], by_row.loc[rows, "gc"], rtol=1e-6)
    multi = pd.read_csv(out / "predictions" / "synthetic__multi" / "scratch" / "seed0.csv")
    rows = [int(i.split(":")[1]) for i in multi["id"]]
    assert list(multi.columns)[-4:] == [
        "target_gc_rich",
        "target_long",
        "prob_gc_rich",
        "prob_long",
    ]
    assert (multi["target_long"] == by_row.loc[rows, "long"].to_numpy()).all()
    assert multi[["prob_gc_rich", "prob_long"]].stack().between(0, 1).all()
