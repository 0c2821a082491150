"""Multi-label tasks (issue 23): the TaskSpec type and (N, L) 0/1 labels."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from findna.data.catalog import task_card
from findna.data.labeled import LabeledSequences
from findna.data.splits import check_splits, split_sizes
from findna.data.task_spec import TASK_TYPES, TaskSpec
from findna.data.tasks import load_task
from findna.data.user_layouts import UserTaskOptions
from findna.data.user_tasks import resolve_task


def _spec(**kw) -> TaskSpec:
    base = dict(
        name="t",
        suite="user",
        files={"all": "a.csv"},
        format="table",
        num_classes=0,
        metric="macro_auroc",
        protocol="resplit_70_10_20",
        task_type="multilabel",
        targets=("H3K4me3", "CTCF", "DNase"),
    )
    return TaskSpec(**{**base, **kw})


def test_multilabel_spec_outputs_one_per_label():
    assert "multilabel" in TASK_TYPES
    assert _spec().num_outputs == 3
    listed = _spec(label_column="labels", label_separator=";")
    assert listed.num_outputs == 3 and listed.label_separator == ";"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"metric": "mcc"}, "metric 'mcc' is not a multi-label metric"),
        ({"targets": ()}, "a multi-label task needs at least one label name"),
        ({"targets": ("a", "a")}, "label names repeat: ['a', 'a']"),
        ({"target_columns": ("x",)}, "1 label columns for 3 labels"),
        (
            {"label_separator": ";", "target_columns": ("x", "y", "z")},
            "either one 0/1 column per label (target_columns) or one column listing",
        ),
        ({"label_separator": " "}, "label_separator ' ' must be a visible character"),
    ],
)
def test_multilabel_spec_refuses_bad_fields(kw, message):
    with pytest.raises(ValueError) as err:
        _spec(**kw)
    assert message in str(err.value)


def test_label_separator_only_for_multilabel():
    with pytest.raises(ValueError, match="label_separator is for multi-label tasks"):
        _spec(
            task_type="classification", num_classes=2, metric="mcc", targets=(), label_separator=";"
        )


def test_labeled_sequences_hold_01_labels():
    part = LabeledSequences(["AC", "GT", "AA"], np.array([[0, 1], [1, 1], [0, 0]]), list("abc"))
    assert part.is_multilabel and not part.is_regression
    assert part.labels.dtype == np.int64 and part.labels.shape == (3, 2)
    assert part.subset([2, 0]).labels.tolist() == [[0, 0], [0, 1]]
    with pytest.raises(ValueError, match=r"must be 0 or 1, got values \[2\]"):
        LabeledSequences(["A"], np.array([[2, 0]]), ["a"])


# --- a user's multi-label tables -------------------------------------------------------------

NAMES = ("H3K4me3", "CTCF", "DNase")
ROWS = "(1-based, header not counted)"


def frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """``n`` random 30 bp sequences; a 0/1 column per label and ``labels`` listing them."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(n)]
    y = (rng.random((n, len(NAMES))) < 0.4).astype(int)
    listed = [";".join(n for n, v in zip(NAMES, row, strict=True) if v) for row in y]
    return pd.DataFrame({"sequence": seqs, **dict(zip(NAMES, y.T, strict=True)), "labels": listed})


def table(path: Path, df: pd.DataFrame | None = None, **cells) -> Path:
    """A CSV of ``df`` (default ``frame()``); ``cells`` maps ``"column:row"`` to a text cell."""
    df = (frame() if df is None else df).astype(str)
    for key, value in cells.items():
        column, row = key.split(":")
        df.loc[int(row), column] = value
    df.to_csv(path, index=False)
    return path


def columns_opts(*names: str) -> UserTaskOptions:
    return UserTaskOptions(task_type="multilabel", target_columns=names or NAMES)


def listed_opts(**kw) -> UserTaskOptions:
    return UserTaskOptions(task_type="multilabel", label_column="labels", **kw)


def test_multilabel_columns_and_listing_read_the_same_labels(tmp_path):
    path = table(tmp_path / "t.csv")
    cols = load_task(resolve_task(str(path), columns_opts()), seed=0)
    assert cols.spec.task_type == "multilabel" and cols.spec.metric == "macro_auroc"
    assert cols.spec.targets == NAMES and cols.train.labels.shape == (42, 3)
    expected = frame()[list(NAMES)].to_numpy()
    rows = [int(i.split(":")[1]) - 1 for i in cols.test.ids]
    np.testing.assert_array_equal(cols.test.labels, expected[rows])
    listed = load_task(resolve_task(str(path), listed_opts()), seed=0)
    assert listed.spec.targets == tuple(sorted(NAMES)) and listed.spec.label_separator == ";"
    order = [NAMES.index(n) for n in listed.spec.targets]
    np.testing.assert_array_equal(listed.test.labels, cols.test.labels[:, order])
    assert listed.test.ids == cols.test.ids  # the same seeded random split
    sizes = split_sizes(cols.splits(), cols.spec.targets)
    assert sizes["test"] == {
        "n": 12,
        **{f"pos_{n}": int(cols.test.labels[:, j].sum()) for j, n in enumerate(NAMES)},
    }
    card = task_card(listed.spec, seed=0)
    assert card["task_type"] == "multilabel" and card["label_separator"] == ";"
    assert card["empty_cell"] == "a row with no positive label (all 0)"
    assert "seeded random 70/10/20" in card["splits"]


def test_multilabel_task_yaml_and_separator(tmp_path):
    df = frame()
    df["labels"] = df["labels"].str.replace(";", "|")
    table(tmp_path / "t.csv", df)
    (tmp_path / "task.yaml").write_text(
        "path: t.csv\ntype: multilabel\nlabel_column: labels\nlabel_separator: '|'\n"
    )
    spec = resolve_task(str(tmp_path / "task.yaml"))
    assert spec.label_separator == "|" and spec.targets == tuple(sorted(NAMES))
    (tmp_path / "cols.yaml").write_text("path: t.csv\ntype: multilabel\ntargets: [CTCF, DNase]\n")
    spec = resolve_task(str(tmp_path / "cols.yaml"))
    assert spec.targets == ("CTCF", "DNase") and spec.num_outputs == 2


def test_empty_cell_is_a_row_without_labels(tmp_path):
    path = table(tmp_path / "t.csv", **{"labels:0": ""})
    task = load_task(resolve_task(str(path), listed_opts()), seed=0)
    all_rows = task.train.concat([task.train, task.val, task.test])
    row0 = all_rows.ids.index("t.csv:1")
    assert all_rows.labels[row0].tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("cells", "opts", "message"),
    [
        (
            {"CTCF:4": "2"},
            columns_opts(),
            f"t.csv, data row 5 {ROWS}, column 'CTCF': the label value '2' is not 0 or 1",
        ),
        (
            {"DNase:7": ""},
            columns_opts(),
            f"t.csv, data row 8 {ROWS}, column 'DNase': the label value '' is not 0 or 1",
        ),
        (
            {"labels:3": "CTCF;;DNase"},
            listed_opts(),
            f"t.csv, data row 4 {ROWS}, column 'labels': 'CTCF;;DNase' has an empty label between",
        ),
        (
            {"labels:3": "CTCF;CTCF"},
            listed_opts(),
            f"t.csv, data row 4 {ROWS}, column 'labels': 'CTCF;CTCF' lists 'CTCF' more than once",
        ),
    ],
)
def test_bad_multilabel_cells_are_named(tmp_path, cells, opts, message):
    path = table(tmp_path / "t.csv", **cells)
    with pytest.raises(ValueError) as err:
        resolve_task(str(path), opts)
    assert message in str(err.value)


def test_label_never_seen_in_training_is_named_with_known_labels(tmp_path):
    names = [f"mark{i:02d}" for i in range(20)]
    rng = np.random.default_rng(1)
    seqs = ["".join(rng.choice(list("ACGT"), 30)) for _ in range(3)]
    train = pd.DataFrame(
        {"sequence": seqs, "labels": [";".join(names[:10]), ";".join(names[10:]), ""]}
    )
    test = pd.DataFrame({"sequence": seqs, "labels": ["mark03", "mark03;H3K27ac", ""]})
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(ValueError) as err:
        resolve_task(str(tmp_path), listed_opts())
    text = str(err.value)
    assert (
        f"test.csv, data row 2 {ROWS}, column 'labels': the label 'H3K27ac' is never listed" in text
    )
    assert "20 known label(s): 'mark00', 'mark01'" in text and "... (12 more)" in text
    assert "mark19" not in text  # never the whole list


def test_label_column_without_positives_in_training_is_refused(tmp_path):
    df = frame()
    df["DNase"] = 0
    path = table(tmp_path / "t.csv", df)
    with pytest.raises(ValueError, match=r"the label column\(s\) \['DNase'\] are 0 in every row"):
        resolve_task(str(path), columns_opts())


def test_multilabel_option_conflicts(tmp_path):
    path = table(tmp_path / "t.csv")
    with pytest.raises(ValueError, match="add --task-type multilabel"):
        UserTaskOptions(label_separator=";")
    with pytest.raises(ValueError, match="not both"):
        resolve_task(
            str(path),
            columns_opts().__class__(
                task_type="multilabel", target_columns=NAMES, label_separator=";"
            ),
        )
    (tmp_path / "fa").mkdir()
    (tmp_path / "fa" / "a.fa").write_text(">x\nACGT\n")
    (tmp_path / "fa" / "b.fa").write_text(">y\nACGT\n")
    with pytest.raises(ValueError, match="not multi-label labels"):
        resolve_task(str(tmp_path / "fa"), listed_opts())


def test_multilabel_split_checks():
    good = LabeledSequences(["A", "C", "G"], np.array([[1, 0], [0, 0], [1, 1]]), list("abc"))
    flat = LabeledSequences(["A", "C"], np.array([[1, 0], [1, 0]]), list("ab"))
    check_splits("t", {"train": good, "val": good, "test": good}, ("x", "y"))
    with pytest.raises(ValueError) as err:
        check_splits("t", {"train": good, "val": flat, "test": good}, ("x", "y"))
    assert "no label of the val split has both positive and negative rows" in str(err.value)
    assert "val: 2 rows, positives x 2, y 0" in str(err.value)


@pytest.mark.parametrize(
    "cell, warning",
    [
        ("H3K4me3|CTCF", r"data row 4 \(.*column 'labels': label 'H3K4me3\|CTCF' holds '\|'"),
        ("ctcf", r"lists 'CTCF' and 'ctcf', which differ only in case"),
    ],
)
def test_listed_labels_that_look_like_typos_are_warned_about(tmp_path, caplog, cell, warning):
    """A label holding another separator, or one label in two cases, is read as written but a
    warning names it (it becomes a label of its own)."""
    path = table(tmp_path / "t.csv", **{"labels:3": cell})
    with caplog.at_level("WARNING", logger="findna.data.multilabels"):
        spec = resolve_task(str(path), listed_opts())
    assert cell in spec.targets
    assert re.search(warning, caplog.text), caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="findna.data.multilabels"):
        resolve_task(str(table(tmp_path / "clean.csv")), listed_opts())
    assert caplog.text == ""


def test_a_listed_label_on_every_or_no_training_row_is_refused(tmp_path):
    """As with 0/1 columns: a label every training row lists, or a declared one none lists,
    leaves nothing to learn."""
    df = frame()
    df["labels"] = ["DNase;" + x if x and "DNase" not in x else x or "DNase" for x in df["labels"]]
    with pytest.raises(ValueError) as err:
        resolve_task(str(table(tmp_path / "t.csv", df)), listed_opts())
    assert "t.csv (all rows): the label(s) ['DNase'] are on every one of the 60 training rows" in (
        str(err.value)
    )
    assert str(err.value).endswith("drop it from labels: (or the lists).")
    with pytest.raises(ValueError, match=r"the label\(s\) \['ATAC'\] are listed in no row"):
        resolve_task(str(table(tmp_path / "u.csv")), listed_opts(labels=(*NAMES, "ATAC")))
