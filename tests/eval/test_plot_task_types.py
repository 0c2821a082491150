"""`findna plot-embeddings` beyond classification (issue 23): a regression task's map coloured by
a target (colour bar), a multi-label task's by one label's 0/1, a per-base task refused; the
classification path unchanged. Tiny scratch network, PCA."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gc_sequences import gc_biased_sequence

import findna.eval.plots as plots
import findna.eval.task_maps as task_maps
from findna.cli import main
from findna.eval.embed import plot_task_embeddings
from findna.eval.plots import plot_embedding_values
from findna.model.config import ModelConfig

TINY = ModelConfig(track_size=4, hidden=16, n_layers=1, max_len=64)


@pytest.fixture
def table(tmp_path) -> Path:
    """48 rows of 16-24 bp: numeric targets gc and length, 0/1 labels gc_rich and long, a class
    column and a per-base label string (1 on G/C)."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(48):
        seq = gc_biased_sequence(rng)
        gc = sum(c in "GC" for c in seq) / len(seq)
        bases = "".join("1" if c in "GC" else "0" for c in seq)
        rows.append((seq, gc, len(seq), i % 2, int(len(seq) > 20), "ab"[i % 2], bases))
    cols = ["sequence", "gc", "length", "gc_rich", "long", "label", "bases"]
    path = tmp_path / "t.csv"
    pd.DataFrame(rows, columns=cols).to_csv(path, index=False)
    (tmp_path / "tiny.yaml").write_text("track_size: 4\nhidden: 16\nn_layers: 1\nmax_len: 64\n")
    return path


@pytest.fixture
def figures(monkeypatch) -> list:
    """The matplotlib figures plot-embeddings saves, in order (each still written)."""
    saved = []
    real = plots.save_figure

    def keep(fig, path):
        saved.append(fig)
        return real(fig, path)

    monkeypatch.setattr(plots, "save_figure", keep)
    return saved


def plot(table: Path, png: Path, *flags: str) -> list[str]:
    tiny = ["--model", "scratch", "--scratch-model", str(table.parent / "tiny.yaml")]
    return ["plot-embeddings", "--task", str(table), *flags, *tiny, "--method", "pca",
            "--out", str(png)]  # fmt: skip


def test_a_regression_map_has_a_colour_bar_of_the_chosen_target(table, tmp_path, figures, capsys):
    png = tmp_path / "reg.png"
    assert main(plot(table, png, "--target-columns", "gc,length", "--target", "length")) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    (fig,) = figures
    ax, bar = fig.axes  # the map and its colour bar
    assert bar.get_ylabel() == "length"
    assert ax.get_title().endswith(", coloured by length")
    (points,) = ax.collections
    values = np.asarray(points.get_array())
    assert values.min() >= 16 and values.max() <= 24  # lengths, not gc fractions
    assert main(plot(table, tmp_path / "first.png", "--target-columns", "gc,length")) == 0
    assert figures[1].axes[1].get_ylabel() == "gc"  # the first target by default


def test_a_multilabel_map_is_coloured_by_one_labels_0_1(table, tmp_path, figures):
    png = tmp_path / "ml.png"
    flags = ["--task-type", "multilabel", "--target-columns", "gc_rich,long", "--target", "long"]
    assert main(plot(table, png, *flags)) == 0
    (fig,) = figures
    (ax,) = fig.axes  # a legend, no colour bar
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "long"
    assert {t.get_text() for t in legend.get_texts()} <= {"not long", "long"}
    assert ax.get_title().endswith(", coloured by long")


def test_a_per_base_task_is_refused_saying_why_and_what_instead(table, tmp_path, capsys):
    png = tmp_path / "pb.png"
    assert main(plot(table, png, "--task-type", "per_base", "--label-column", "bases")) == 2
    err = capsys.readouterr().err
    assert f"task {table} is a per-base task (a label per base), and plot-embeddings draws one " \
        "point per sequence" in err  # fmt: skip
    assert f"Use `findna probe --task {table}`" in err and "findna embed --per-token" in err
    assert not png.exists()


def test_bad_targets_name_what_there_is(table, tmp_path, capsys):
    assert (
        main(plot(table, tmp_path / "x.png", "--target-columns", "gc,length", "--target", "zz"))
        == 2
    )
    assert f"--target 'zz' is no target of task {table}; choose one of gc, length" in (
        capsys.readouterr().err
    )
    assert main(plot(table, tmp_path / "x.png", "--target", "gc")) == 2
    assert "is a classification task, coloured by its class; --target picks" in (
        capsys.readouterr().err
    )


def test_classification_calls_plot_embeddings_as_before(table, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(task_maps, "plot_embeddings", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(task_maps, "plot_embedding_values", lambda *a, **k: calls.append("v"))
    from findna.data.user_tasks import resolve_task

    spec = resolve_task(str(table))
    out = plot_task_embeddings(spec, "scratch", tmp_path / "c.png", method="pca", max_points=7,
                               scratch_config=TINY)  # fmt: skip
    assert out == tmp_path / "c.png"
    ((args, kwargs),) = calls
    assert args[2] == tmp_path / "c.png" and args[1].tolist() == findna_labels(spec)
    assert kwargs["label_names"] == {0: "a", 1: "b"}
    assert kwargs["max_points"] == 7 and kwargs["method"] == "pca" and kwargs["seed"] == 0
    assert "coloured by" not in kwargs["title"]


def findna_labels(spec) -> list[int]:
    from findna.data.tasks import load_task

    return load_task(spec, seed=0).test.labels.tolist()


def test_plot_embedding_values_subsamples_and_checks_values(tmp_path, figures):
    rng = np.random.default_rng(1)
    x, v = rng.normal(size=(40, 5)), rng.normal(size=40)
    emb = plot_embedding_values(x, v, tmp_path / "v.svg", "score", method="pca", max_points=25)
    assert emb.coords.shape == (25, 2) and len(set(emb.indices.tolist())) == 25
    np.testing.assert_array_equal(figures[0].axes[0].collections[0].get_array(), v[emb.indices])
    v[7] = np.nan
    with pytest.raises(ValueError, match=r"score of row 7 is not finite \(NaN/inf\)"):
        plot_embedding_values(x, v, tmp_path / "w.png", "score", method="pca")
