"""Run-curve plots: files written, sparse CSV handling, run-folder search, errors."""

import os

import pytest

from findna.train.curves import find_metrics_csv, plot_run, read_metrics

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Lightning CSVLogger layout: train metrics on some steps, validation metrics on others.
METRICS_CSV = """epoch,step,train/loss_mnm,train/loss_cl,train/lr,val/mnm_acc,train/teacher_entropy
0,9,1.60,0.90,0.0001,,1.58
0,19,1.50,0.85,0.0002,,1.55
0,19,,,,0.31,
1,29,1.40,0.80,0.0003,,1.50
1,39,1.30,0.70,0.0003,,1.49
1,39,,,,0.35,
"""


def _assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_plot_run_draws_every_metric_from_a_sparse_csv(tmp_path):
    csv = tmp_path / "metrics.csv"
    csv.write_text(METRICS_CSV)
    out = tmp_path / "figs" / "run.png"
    names = plot_run(csv, out)
    expected = ["train/loss_mnm", "train/loss_cl", "train/lr", "val/mnm_acc"]
    assert names == [*expected, "train/teacher_entropy"]
    _assert_png(out)
    assert plot_run(csv, tmp_path / "two.png", metrics=["val/mnm_acc"]) == ["val/mnm_acc"]


def test_read_metrics_keeps_sparse_rows_as_nan(tmp_path):
    (tmp_path / "metrics.csv").write_text(METRICS_CSV)
    frame = read_metrics(tmp_path / "metrics.csv")
    assert "epoch" not in frame.columns
    assert frame["val/mnm_acc"].notna().sum() == 2
    assert frame["train/loss_mnm"].notna().sum() == 4


def test_run_dir_is_searched_and_newest_version_wins(tmp_path):
    old = tmp_path / "logs" / "version_0" / "metrics.csv"
    new = tmp_path / "logs" / "version_1" / "metrics.csv"
    for p in (old, new):
        p.parent.mkdir(parents=True)
        p.write_text(METRICS_CSV)
    os.utime(old, (1_000_000, 1_000_000))
    assert find_metrics_csv(tmp_path) == new
    assert plot_run(tmp_path, tmp_path / "run.png")[0] == "train/loss_mnm"
    _assert_png(tmp_path / "run.png")


def test_plot_run_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plot_run(tmp_path / "nope", tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="no metrics.csv"):
        plot_run(tmp_path, tmp_path / "x.png")
    only_index = tmp_path / "metrics.csv"
    only_index.write_text("epoch,step,train/loss\n0,1,\n0,2,\n")
    with pytest.raises(ValueError, match="no metric column with a logged value"):
        plot_run(only_index, tmp_path / "x.png")
    only_index.write_text("epoch,loss\n0,1.0\n")
    with pytest.raises(ValueError, match="no 'step' column"):
        plot_run(only_index, tmp_path / "x.png")
    only_index.write_text(METRICS_CSV)
    with pytest.raises(ValueError, match="train/center_norm"):
        plot_run(only_index, tmp_path / "x.png", metrics=["train/center_norm"])
    assert not (tmp_path / "x.png").exists()
