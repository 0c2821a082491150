"""Tables and predictions beside the reports (issue 24): results.csv, <mode>.csv, their summaries,
per-seed test predictions, comparison.pdf; the folder manifests know them."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from test_benchmark import synthetic_tasks, tiny_cfg
from test_task_driver import FAST_FINETUNE, FAST_PROBE, _bench

import findna.eval.benchmark as bm
from findna.data.tasks import load_task
from findna.eval.benchmark import run_benchmark
from findna.eval.finetune import Finetune
from findna.eval.metrics import compute_metrics
from findna.eval.probe import Probe
from findna.eval.report import SeedResult, aggregate
from findna.eval.report_tables import results_table
from findna.eval.task_driver import run_task
from findna.folders import read_manifest


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    return load_task(synthetic_tasks(tmp_path_factory.mktemp("tasks"), 1)[0], 0)


def _check_tables(out, stem, results):
    """``<stem>.csv``: one wide row per result with its numbers as written in the report;
    ``<stem>_summary.csv``: the report's mean, std and n."""
    table = pd.read_csv(out / f"{stem}.csv")
    assert len(table) == len(results)
    for row, r in zip(table.itertuples(index=False), results, strict=True):
        assert (row.task, row.model, row.mode, row.seed) == (r.task, r.model, r.mode, r.seed)
        assert row.primary_metric == r.primary_metric
        assert row.model_id == r.hyperparameters["model_id"]
        for split, values in (("val", r.val_metrics), ("test", r.test_metrics)):
            for metric, value in values.items():
                got = getattr(row, f"{split}_{metric}")
                assert got == value or (math.isnan(got) and math.isnan(value))  # exact
    summary = pd.read_csv(out / f"{stem}_summary.csv")
    pd.testing.assert_frame_equal(summary, aggregate(results), check_dtype=False)


def _check_predictions(path, task, result):
    """The test split's rows, ids and labels, and the probabilities the test metrics came from."""
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["row", "id", "label", "prob_0", "prob_1"]
    assert frame["row"].tolist() == list(range(len(task.test)))
    assert frame["id"].tolist() == task.test.ids
    assert frame["label"].tolist() == task.test.labels.tolist()
    probs = frame[["prob_0", "prob_1"]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    again = compute_metrics(frame["label"].to_numpy(), probs)
    for metric, value in result.test_metrics.items():
        assert again[metric] == pytest.approx(value, abs=1e-6, nan_ok=True), metric


@pytest.mark.parametrize("method", [Probe(FAST_PROBE), Finetune(FAST_FINETUNE)])
def test_a_task_report_writes_tables_and_each_seeds_predictions(task, tmp_path, method):
    out = tmp_path / "out"
    report = run_task(task, "scratch", method, [0, 1], out, scratch_config=tiny_cfg())
    mode = method.mode
    _check_tables(out, mode, report.results)
    for result in report.results:
        _check_predictions(out / "predictions" / f"seed{result.seed}.csv", task, result)
    assert "test_probs" not in json.dumps(json.loads((out / f"{mode}.json").read_text()))
    listed = read_manifest(out)["files"]
    assert {f"{mode}.csv", f"{mode}_summary.csv", "predictions"} <= set(listed)
    # --force removes the tables and predictions with the rest, and keeps the user's files.
    (out / "predictions" / "seed7.csv").write_text("old\n")
    (out / "NOTES.txt").write_text("mine\n")
    run_task(task, "scratch", method, [0], out, scratch_config=tiny_cfg(), force=True)
    assert sorted(p.name for p in (out / "predictions").iterdir()) == ["seed0.csv"]
    assert len(pd.read_csv(out / f"{mode}.csv")) == 1 and (out / "NOTES.txt").is_file()


def test_a_benchmark_writes_tables_predictions_and_a_vector_comparison(tmp_path, monkeypatch):
    tasks = synthetic_tasks(tmp_path, 2)
    cfg = _bench(tmp_path, ("a=scratch", "b=scratch"), seeds=(0, 1))
    report = run_benchmark(cfg, tasks=tasks)
    out = tmp_path / "bench"
    _check_tables(out, "results", report.results)
    assert (out / "comparison.pdf").read_bytes().startswith(b"%PDF-")
    assert (out / "comparison.png").is_file()
    loaded = {s.name: load_task(s, 0) for s in tasks}
    for r in report.results:
        path = out / "predictions" / r.task.replace("/", "__") / r.model / f"seed{r.seed}.csv"
        _check_predictions(path, loaded[r.task], r)
    names = set(read_manifest(out)["files"])
    assert {"results.csv", "results_summary.csv", "comparison.pdf", "predictions"} <= names
    assert "test_probs" not in (out / "results.jsonl").read_text()

    # A resumed benchmark skips finished entries and needs none of their predictions.
    calls = []
    monkeypatch.setattr(bm, "run_seed", lambda *a, **kw: calls.append(a))
    for path in (out / "predictions").rglob("*.csv"):
        path.unlink()
    again = run_benchmark(cfg, tasks=tasks)
    assert calls == [] and again.to_dict()["results"] == report.to_dict()["results"]
    _check_tables(out, "results", report.results)


def test_undefined_metrics_are_empty_cells(tmp_path):
    r = SeedResult("t", "m", "probe", 0, "mcc", {"mcc": math.nan}, {"mcc": 0.5, "auroc": 0.7})
    table = results_table([r])
    assert list(table.columns) == [
        "task",
        "model",
        "mode",
        "seed",
        "primary_metric",
        "model_id",
        "val_mcc",
        "val_auroc",
        "test_mcc",
        "test_auroc",
    ]
    text = table.to_csv(index=False)
    assert text.splitlines()[1] == "t,m,probe,0,mcc,,,,0.5,0.7"
