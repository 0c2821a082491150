import logging

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from findna.data.readers import LabeledSequences
from findna.data.splits import (
    PROTOCOLS,
    apply_protocol,
    check_splits,
    shared_sequences,
    split_indices,
    split_sizes,
)


def rows(n, prefix, labels=None, seqs=None):
    labels = labels if labels is not None else [i % 2 for i in range(n)]
    seqs = seqs or [f"{'ACGT'[i % 4]}{i:05d}".replace("0", "A") for i in range(n)]
    return LabeledSequences(seqs, labels, [f"{prefix}:{i + 1}" for i in range(n)])


def test_split_indices_partition_sizes_and_stratification():
    labels = np.array([0] * 700 + [1] * 300)
    tr, va, te = split_indices(labels, (0.7, 0.1, 0.2), seed=3)
    assert (len(tr), len(va), len(te)) == (700, 100, 200)
    allidx = np.concatenate([tr, va, te])
    assert sorted(allidx.tolist()) == list(range(1000))
    for part, n in ((tr, 700), (va, 100), (te, 200)):
        assert np.all(np.diff(part) > 0)  # sorted
        assert labels[part].sum() == round(0.3 * n)  # class balance kept exactly


def test_split_indices_seeded():
    labels = np.arange(200) % 3
    a = split_indices(labels, (0.9, 0.1), seed=0)
    b = split_indices(labels, (0.9, 0.1), seed=0)
    c = split_indices(labels, (0.9, 0.1), seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[1], c[1])


def test_nested_split_reproduces_the_reference_two_stage_sklearn_calls():
    labels = np.array([0] * 37 + [1] * 63)
    x = np.arange(100)
    x_train, x_test = train_test_split(x, test_size=0.2, random_state=1)
    x_tr, x_dev = train_test_split(x_train, test_size=0.25, random_state=1)
    tr, va, te = split_indices(labels, (0.6, 0.2, 0.2), seed=1, stratify=False)
    assert te.tolist() == sorted(x_test.tolist())
    assert va.tolist() == sorted(x_dev.tolist())
    assert tr.tolist() == sorted(x_tr.tolist())


def test_split_falls_back_to_unstratified_with_a_warning(caplog):
    labels = np.array([0] * 8 + [1])  # class 1 has one member: cannot stratify
    with caplog.at_level(logging.WARNING):
        parts = split_indices(labels, (0.7, 0.1, 0.2), seed=0)
    assert "stratified split impossible" in caplog.text
    assert sum(len(p) for p in parts) == 9


@pytest.mark.parametrize("fractions", [(1.0,), (0.5, 0.6), (0.0, 1.0)])
def test_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        split_indices(np.zeros(10), fractions, seed=0)


def test_official_protocol_is_identity():
    src = {"train": rows(5, "train.csv"), "dev": rows(3, "dev.csv"), "test": rows(4, "test.csv")}
    out = apply_protocol("official", src, seed=0)
    assert out["train"] is src["train"] and out["val"] is src["dev"] and out["test"] is src["test"]


def test_val_from_dev_splits_dev_and_leaves_test_untouched():
    dev, test = rows(100, "dev.csv"), rows(40, "test.csv")
    out = apply_protocol("val_from_dev", {"dev": dev, "test": test}, seed=0)
    assert out["test"] is test
    assert (len(out["train"]), len(out["val"])) == (90, 10)
    assert sorted(out["train"].ids + out["val"].ids) == sorted(dev.ids)
    assert not set(out["val"].ids) & set(test.ids)
    assert out["val"].labels.sum() == 5  # stratified: half of 10


def test_val_from_train_never_uses_test():
    train, test = rows(50, "train.csv"), rows(20, "test.csv")
    out = apply_protocol("val_from_train", {"train": train, "test": test}, seed=2)
    assert out["test"] is test
    assert set(out["val"].ids) <= set(train.ids)


def test_resplit_pools_all_files():
    out = apply_protocol("resplit_70_10_20", {"a": rows(60, "a"), "b": rows(40, "b")}, seed=0)
    assert [len(out[k]) for k in ("train", "val", "test")] == [70, 10, 20]
    ids = out["train"].ids + out["val"].ids + out["test"].ids
    assert len(set(ids)) == 100


def test_protocol_errors():
    with pytest.raises(ValueError, match="unknown split protocol 'x'"):
        apply_protocol("x", {}, seed=0)
    with pytest.raises(ValueError, match=r"needs files \['train', 'dev', 'test'\].*\['train'\]"):
        apply_protocol("official", {"dev": rows(3, "d"), "test": rows(3, "t")}, seed=0)


def test_shared_sequences_counts_distinct_duplicates_per_pair():
    a = LabeledSequences(["AAA", "CCC", "CCC", "GGG"], [0, 1, 1, 0], ["1", "2", "3", "4"])
    b = LabeledSequences(["CCC", "TTT"], [1, 0], ["5", "6"])
    c = LabeledSequences(["GGG", "TTT", "AAT"], [0, 0, 1], ["7", "8", "9"])
    assert shared_sequences({"train": a, "val": b, "test": c}) == {
        "train&val": 1,
        "train&test": 1,
        "val&test": 1,
    }


def test_every_protocol_has_a_description():
    for p in PROTOCOLS.values():
        assert p.description and p.needs


def _labelled(labels: list[int]) -> LabeledSequences:
    return LabeledSequences(["ACGT"] * len(labels), np.array(labels), [str(i) for i in labels])


def test_split_sizes_count_examples_per_split_and_class():
    sizes = split_sizes({"train": _labelled([0, 1, 1]), "val": _labelled([2])})
    assert sizes == {"train": {"n": 3, "0": 1, "1": 2}, "val": {"n": 1, "2": 1}}


@pytest.mark.parametrize(
    ("train", "val", "test", "problem"),
    [
        ([0, 0, 1, 1], [0, 0], [0, 1], r"the val split has 2 example\(s\) of 1 class"),
        ([0, 1, 1, 1], [0, 1], [0, 1], r"train has fewer than 2 examples of class\(es\) 0"),
        ([0, 0, 1, 1], [0, 1], [1, 2], r"class\(es\) 2 appear in val/test but never in train"),
    ],
)
def test_check_splits_refuses_splits_without_a_meaningful_score(train, val, test, problem):
    splits = {"train": _labelled(train), "val": _labelled(val), "test": _labelled(test)}
    with pytest.raises(ValueError, match=rf"task t: no meaningful score is possible: {problem}"):
        check_splits("t", splits)


def test_check_splits_accepts_two_classes_everywhere():
    two = _labelled([0, 1, 0, 1])
    check_splits("t", {"train": two, "val": _labelled([0, 1]), "test": _labelled([1, 0])})
