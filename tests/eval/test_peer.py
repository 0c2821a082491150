"""A published model's predictions in a task's files, scored beside findna's models
(findna.eval.peer): the same rows, the task's metrics, nothing fitted, shown in every report."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr

from findna.data.task_spec import TaskSpec
from findna.data.tasks import TASKS, load_task
from findna.eval.peer import PEER_MODEL, peer_result, peer_results
from findna.eval.report import BenchmarkReport
from findna.provenance import Provenance


def regression_spec(tmp_path, peer: str | None = "peer") -> TaskSpec:
    """A one-file regression task: target ``a`` (GC count) and a noisy ``peer`` prediction."""
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(60)]
    gc = np.array([s.count("G") + s.count("C") for s in seqs], dtype=float)
    frame = pd.DataFrame({"sequence": seqs, "a": gc, "peer": gc + rng.normal(size=60)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    return TaskSpec(
        "t",
        "user",
        {"all": str(tmp_path / "t.csv")},
        "table",
        0,
        "pearson",
        "resplit_70_10_20",
        task_type="regression",
        targets=("a",),
        peer_column=peer,
    )


def test_the_peer_is_scored_on_the_tasks_own_rows(tmp_path):
    spec = regression_spec(tmp_path)
    data = load_task(spec, seed=3)
    result = peer_result(data)
    table = pd.read_csv(tmp_path / "t.csv").set_index("sequence")
    for split, part in (("val", data.val), ("test", data.test)):
        expected = pearsonr(table.loc[part.seqs, "peer"], table.loc[part.seqs, "a"])[0]
        got = (result.val_metrics if split == "val" else result.test_metrics)["pearson"]
        assert got == pytest.approx(expected, rel=1e-5)
    assert (result.model, result.mode, result.seed) == (PEER_MODEL, "published", 3)
    assert result.label == PEER_MODEL  # no "(mode)" suffix: nothing was probed or fine-tuned
    assert result.split_sizes["test"]["n"] == len(data.test)
    assert result.hyperparameters == {"peer_column": "peer", "split_seed": 3}


def test_tasks_without_published_predictions_get_no_peer(tmp_path):
    spec = regression_spec(tmp_path, peer=None)
    assert peer_result(load_task(spec, seed=0)) is None
    assert peer_results([spec], [0, 1]) == []


def test_peer_results_once_per_split_seed_in_the_report(tmp_path):
    spec = regression_spec(tmp_path)
    results = peer_results([spec], [0, 1, 1])  # a repeated seed is scored once
    assert [r.seed for r in results] == [0, 1]
    # different split seeds give different test rows, so the scores differ
    assert results[0].test_metrics["pearson"] != results[1].test_metrics["pearson"]
    report = BenchmarkReport(results, Provenance("a" * 64, "scratch", {}, "0", None, "", {}, {}))
    summary = report.summary()
    assert list(summary["label"]) == [PEER_MODEL] and int(summary["n"].iloc[0]) == 2
    mean = np.mean([r.test_metrics["pearson"] for r in results])
    assert summary["mean"].iloc[0] == pytest.approx(mean)
    assert f"| {PEER_MODEL} |" in report.to_markdown()


@pytest.mark.data
def test_the_published_vaishnav_model_scores_as_its_paper_says(shared_data):
    """The issue measured Pearson r 0.95-0.98 for the published model on these rows."""
    results = peer_results([TASKS["vaishnav2022/native_complex"]], [0], shared_data)
    assert 0.9 < results[0].test_metrics["pearson"] < 0.99
