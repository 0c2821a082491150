"""Multi-label tasks (issue 23): the TaskSpec type and (N, L) 0/1 labels."""

from __future__ import annotations

import numpy as np
import pytest

from findna.data.labeled import LabeledSequences
from findna.data.task_spec import TASK_TYPES, TaskSpec


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
