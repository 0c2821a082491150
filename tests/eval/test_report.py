"""Benchmark reports: aggregation by hand, JSON round trip, Markdown, bar plot, provenance."""

import json
import math

import numpy as np
import pytest

from findna.eval.plots import plot_comparison
from findna.eval.report import BenchmarkReport, SeedResult, aggregate
from findna.eval.results_log import ResultLog
from findna.provenance import (
    Provenance,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _result(task, model, seed, test, val=None, mode="finetune", metric="accuracy", **extra):
    return SeedResult(
        task=task,
        model=model,
        mode=mode,
        seed=seed,
        primary_metric=metric,
        val_metrics={metric: test if val is None else val},
        test_metrics={metric: test, **extra},
        hyperparameters={"lr": 1e-3, "epochs": 20},
        timings={"train_s": 12.5},
    )


def _provenance() -> Provenance:
    return Provenance(
        config_hash="a" * 64,
        checkpoint_id="scratch",
        data_checksums={"promoters": {"promoters/train.csv": "900150983cd24fb0d6963f7d28e17f72"}},
        findna_version="0.1.0",
        git_commit=None,
        date="2025-01-01T00:00:00+00:00",
        machine={"hostname": "box", "accelerator": "cpu"},
        config={"seed": 0, "lr": [1e-3, 1e-4]},
    )


@pytest.fixture
def report() -> BenchmarkReport:
    results = [
        _result("promoters", "findna", 0, 0.80),
        _result("promoters", "findna", 1, 0.84),
        _result("promoters", "findna", 2, 0.82),
        _result("promoters", "scratch", 0, 0.75),
        _result("covid", "findna", 0, 0.40, metric="macro_f1"),
        _result("covid", "scratch", 0, 0.45, metric="macro_f1"),
    ]
    return BenchmarkReport(results=results, provenance=_provenance())


def test_aggregate_mean_and_sample_std_by_hand(report):
    agg = aggregate(report.results)
    assert list(agg.columns) == ["task", "model", "mode", "split", "metric", "mean", "std", "n"]
    row = agg[(agg.task == "promoters") & (agg.model == "findna") & (agg.split == "test")].iloc[0]
    # mean of 0.80, 0.84, 0.82 = 0.82; deviations (-0.02, 0.02, 0): var = 0.0008 / (3 - 1)
    assert row["mean"] == pytest.approx(0.82)
    assert row["std"] == pytest.approx(0.02)
    assert row["n"] == 3
    single = agg[(agg.model == "scratch") & (agg.task == "promoters")].iloc[0]
    assert single["n"] == 1 and math.isnan(single["std"])
    assert list(dict.fromkeys(agg.task)) == ["promoters", "covid"]  # first-appearance order


def test_aggregate_skips_nan_and_counts_only_finite_values():
    results = [
        _result("t", "m", 0, 0.5, auroc=0.6),
        _result("t", "m", 1, 0.7, auroc=math.nan),
    ]
    agg = aggregate(results).set_index(["split", "metric"])
    assert agg.loc[("test", "auroc"), "mean"] == pytest.approx(0.6)
    assert agg.loc[("test", "auroc"), "n"] == 1
    assert agg.loc[("test", "accuracy"), "n"] == 2


def test_markdown_has_bold_best_cells_and_na_for_single_seed(report):
    md = report.to_markdown()
    assert "model selection" in md.lower() and "validation split only" in md
    assert "| task (primary metric) | findna (finetune) | scratch (finetune) |" in md
    prom = next(line for line in md.splitlines() if line.startswith("| promoters (accuracy)"))
    assert "**82.00 ± 2.00 (3)**" in prom
    assert "75.00 ± n/a (1)" in prom and "**75.00" not in prom
    covid = next(line for line in md.splitlines() if line.startswith("| covid (macro_f1)"))
    assert "**45.00 ± n/a (1)**" in covid and "| 40.00 ± n/a (1) |" in covid
    assert "promoters/train.csv md5 900150983cd24fb0d6963f7d28e17f72" in md


def test_markdown_marks_missing_combinations_and_ties():
    results = [
        _result("a", "m1", 0, 0.9),
        _result("a", "m2", 0, 0.9),
        _result("b", "m1", 0, 0.5),
    ]
    md = BenchmarkReport(results, _provenance()).to_markdown()
    assert "| a (accuracy) | **90.00 ± n/a (1)** | **90.00 ± n/a (1)** |" in md
    assert "| b (accuracy) | **50.00 ± n/a (1)** | – |" in md


def test_markdown_per_seed_table_lists_hyperparameters(report):
    md = report.to_markdown(split="val", per_seed=True)
    assert "## Benchmark results (val split)" in md
    assert (
        '| promoters | findna (finetune) | 1 | 84.00 | 84.00 | {"epochs": 20, "lr": 0.001} |' in md
    )


def test_per_seed_table_shows_na_for_a_missing_validation_metric():
    result = SeedResult("t", "knn", "probe", 0, "accuracy", {}, {"accuracy": 0.5})
    md = BenchmarkReport([result], _provenance()).to_markdown(per_seed=True)
    assert "| t | knn (probe) | 0 | n/a | 50.00 | {} |" in md


def test_json_round_trip_keeps_every_seed(report, tmp_path):
    path = report.to_json(tmp_path / "out" / "report.json")
    back = BenchmarkReport.from_json(path)
    assert back == report
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    assert len(data["results"]) == 6
    summary = {(s["task"], s["model"], s["split"]): s for s in data["summary"]}
    assert summary[("promoters", "findna", "test")]["std"] == pytest.approx(0.02)
    assert summary[("promoters", "scratch", "test")]["std"] is None


def test_json_writes_nan_as_null_and_reads_it_back(tmp_path):
    rep = BenchmarkReport([_result("t", "m", 0, 0.5, auroc=math.nan)], _provenance())
    path = rep.to_json(tmp_path / "r.json")
    assert "NaN" not in path.read_text()
    back = BenchmarkReport.from_json(path)
    assert math.isnan(back.results[0].test_metrics["auroc"])


def test_from_json_rejects_foreign_or_malformed_files(tmp_path, report):
    foreign = tmp_path / "other.json"
    foreign.write_text(json.dumps({"results": []}))
    with pytest.raises(ValueError, match="schema_version"):
        BenchmarkReport.from_json(foreign)
    data = report.to_dict()
    del data["results"][1]["task"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"malformed report at results\[1\]"):
        BenchmarkReport.from_json(broken)
    with pytest.raises(FileNotFoundError):
        BenchmarkReport.from_json(tmp_path / "missing.json")


def test_seed_result_and_report_validation():
    with pytest.raises(ValueError, match="mode must be one of"):
        _result("t", "m", 0, 0.5, mode="train")
    with pytest.raises(ValueError, match="unknown primary metric 'f1'"):
        _result("t", "m", 0, 0.5, metric="f1")
    with pytest.raises(ValueError, match="lacks the primary metric"):
        SeedResult("t", "m", "probe", 0, "mcc", {}, {"accuracy": 0.5})
    with pytest.raises(ValueError, match="duplicate result"):
        BenchmarkReport([_result("t", "m", 0, 0.5), _result("t", "m", 0, 0.6)], _provenance())
    with pytest.raises(ValueError, match="different primary metrics"):
        mixed = [_result("t", "m", 0, 0.5), _result("t", "m", 1, 0.5, metric="mcc")]
        BenchmarkReport(mixed, _provenance())


def test_probe_and_finetune_of_one_model_are_separate_columns():
    results = [_result("t", "m", 0, 0.6, mode="probe"), _result("t", "m", 0, 0.8)]
    md = BenchmarkReport(results, _provenance()).to_markdown()
    assert "| t (accuracy) | 60.00 ± n/a (1) | **80.00 ± n/a (1)** |" in md


def test_plot_comparison_writes_png(report, tmp_path):
    path = plot_comparison(report, tmp_path / "plots" / "bars.png")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_summary_rejects_unknown_split(report):
    with pytest.raises(ValueError, match="split must be one of"):
        report.summary("train")
    assert np.isclose(report.summary("val").query("task == 'promoters'")["mean"].max(), 0.82)


def test_regression_targets_are_written_as_their_float32_text(tmp_path):
    """Targets are held as float32; the predictions table writes 0.448, not the
    0.4480000138282776 a float64 cast would print, and reads back to the same float32."""
    from findna.data.labeled import LabeledSequences
    from findna.eval.report_tables import predictions_table

    values = np.array([[0.448, 2.024], [-1.236, 1e-8]], dtype=np.float32)
    test = LabeledSequences(["ACGT", "GGCC"], values, ["a", "b"])
    preds = np.array([[0.5, 2.0], [-1.0, 0.0]])
    table = predictions_table(test, ["x", "y"], preds, ("target", "pred"))
    text = table.to_csv(index=False)
    assert "a,0.448,2.024,0.5,2.0" in text and "b,-1.236,1e-08,-1.0,0.0" in text
    back = table[["target_x", "target_y"]].to_numpy().astype(np.float32)
    np.testing.assert_array_equal(back, values)


def test_the_results_log_writes_nan_as_null_and_reads_it_back(tmp_path):
    path = tmp_path / "results.jsonl"
    result = _result("t", "m", 0, 0.5, auroc=math.nan)
    ResultLog(path).append(("t", "m", "finetune", 0), "s", "id", result, "data")
    line = path.read_text()
    assert line.count("\n") == 1 and json.loads(line, parse_constant=_refuse)["result"]
    back = ResultLog(path).result(("t", "m", "finetune", 0))
    assert math.isnan(back.test_metrics["auroc"]) and back.test_metrics["accuracy"] == 0.5


def _refuse(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")
