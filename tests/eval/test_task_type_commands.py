"""``--task-type``, ``--target-columns`` and ``--label-separator`` on the command line (issue
23): a user's multi-label and regression tables through ``data info``, ``probe`` and
``benchmark`` (``BenchmarkConfig.task_type``/``target_columns``/``label_separator``)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from gc_sequences import gc_biased_sequence

from findna.cli import main

SCRATCH = "scratch_model={track_size: 4, hidden: 16, n_layers: 1, max_len: 64}"


@pytest.fixture
def table(tmp_path) -> Path:
    """60 rows: 0/1 columns gc_rich and long, labels listing them with '|', a numeric gc."""
    rng = np.random.default_rng(0)
    rows = []
    for _ in range(60):
        seq = gc_biased_sequence(rng)
        gc = sum(c in "GC" for c in seq) / len(seq)
        rows.append((seq, gc, int(gc > 0.45), int(len(seq) > 20)))
    df = pd.DataFrame(rows, columns=["sequence", "gc", "gc_rich", "long"])
    df["labels"] = ["|".join(n for n in ("gc_rich", "long") if r[n]) for _, r in df.iterrows()]
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    return path


def test_data_info_reads_the_task_type_flags(table, capsys):
    assert (
        main(
            [
                "data",
                "info",
                str(table),
                "--task-type",
                "multilabel",
                "--label-column",
                "labels",
                "--label-separator",
                "|",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "multi-label, 2 label(s)" in out and "separated by '|'" in out
    assert main(["data", "info", str(table), "--target-columns", "gc"]) == 0  # regression
    assert "regression, 1 target(s)" in capsys.readouterr().out
    assert main(["data", "info", str(table), "--label-separator", "|"]) == 2
    assert "add --task-type multilabel" in capsys.readouterr().err


def test_probe_a_multilabel_listing(table, tmp_path, capsys):
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text("track_size: 4\nhidden: 16\nn_layers: 1\nmax_len: 64\n")
    out = tmp_path / "probe"
    code = main(
        [
            "probe",
            "--task",
            str(table),
            "--task-type",
            "multilabel",
            "--label-column",
            "labels",
            "--label-separator",
            "|",
            "--model",
            "scratch",
            "--scratch-model",
            str(tiny),
            "--set",
            "head=knn",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "probe.json").read_text())
    result = data["results"][0]
    assert result["primary_metric"] == "macro_auroc"
    assert set(result["hyperparameters"]["labels_without_both_classes"]) == {"val", "test"}
    preds = pd.read_csv(out / "predictions" / "seed0.csv")
    assert {"target_gc_rich", "target_long", "prob_gc_rich", "prob_long"} <= set(preds.columns)


@pytest.mark.parametrize(
    ("flags", "metric", "keys"),
    [
        (
            ["--task-type", "multilabel", "--target-columns", "gc_rich,long"],
            "macro_auroc",
            {"task_type": "multilabel", "target_columns": ["gc_rich", "long"]},
        ),
        (["--target-columns", "gc"], "pearson", {"target_columns": ["gc"]}),
    ],
)
def test_benchmark_of_a_users_multilabel_or_regression_table(
    table, tmp_path, capsys, flags, metric, keys
):
    out = tmp_path / "bench"
    args = [
        "benchmark",
        "--suite",
        str(table),
        "--models",
        "scratch",
        "--seeds",
        "0",
        "--set",
        "probe.head=knn",
        "--set",
        SCRATCH,
        "--out",
        str(out),
        *flags,
    ]
    assert main(args) == 0, capsys.readouterr().err
    data = json.loads((out / "results.json").read_text())
    assert {r["primary_metric"] for r in data["results"]} == {metric}
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert {k: config[k] for k in keys} == keys
    # the flags only reach a user's tables: alone with registered tasks they are an error
    assert (
        main(
            [
                "benchmark",
                "--suite",
                "gue/EMP/H3",
                "--models",
                "scratch",
                *flags,
                "--out",
                str(tmp_path / "reg"),
            ]
        )
        == 2
    )
    assert "no task of the suite (gue/EMP/H3) is the path" in capsys.readouterr().err


def test_the_python_api_mirrors_the_flags(table):
    import findna

    multi = findna.load_task(
        str(table),
        task_options={"task_type": "multilabel", "label_column": "labels", "label_separator": "|"},
    )
    assert multi.spec.task_type == "multilabel" and multi.spec.targets == ("gc_rich", "long")
    cols = findna.load_task(
        str(table), task_options={"task_type": "multilabel", "target_columns": ["gc_rich", "long"]}
    )
    np.testing.assert_array_equal(cols.test.labels, multi.test.labels)
    reg = findna.load_task(str(table), task_options={"target_columns": ["gc"]})
    assert reg.spec.task_type == "regression" and reg.test.labels.dtype == np.float32
    with pytest.raises(ValueError, match="add --task-type multilabel"):
        findna.load_task(str(table), task_options={"label_separator": "|"})
