"""Regression tasks (issue 23): numeric targets read from a user's tables, bad-target errors,
random seeded splits and their checks, and the registered Vaishnav 2022 expression tasks."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from findna.cli.args import target_columns
from findna.data.catalog import format_info, task_card
from findna.data.joined import peer_predictions, read_joined
from findna.data.labeled import LabeledSequences
from findna.data.splits import apply_protocol, check_splits, split_sizes
from findna.data.task_spec import TaskSpec
from findna.data.tasks import TASKS, load_task
from findna.data.user_layouts import UserTaskOptions
from findna.data.user_tasks import resolve_task


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` random 40 bp sequences with targets ``a`` (its GC count), ``b`` and a peer column."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(n)]
    gc = np.array([s.count("G") + s.count("C") for s in seqs], dtype=float)
    return pd.DataFrame(
        {"sequence": seqs, "a": gc, "b": rng.normal(size=n), "peer": gc + rng.normal(size=n)}
    )


def table(path: Path, n: int = 50, seed: int = 0, **cells) -> Path:
    """A CSV of ``frame(n)``; ``cells`` maps ``"column:row"`` to a replacement text cell."""
    df = frame(n, seed).astype(str)
    for key, value in cells.items():
        column, row = key.split(":")
        df.loc[int(row), column] = value
    df.to_csv(path, index=False)
    return path


def opts(*columns: str) -> UserTaskOptions:
    return UserTaskOptions(target_columns=columns)


def test_one_and_two_targets_from_a_table(tmp_path):
    path = table(tmp_path / "t.csv")
    one = load_task(resolve_task(str(path), opts("a")), seed=0)
    assert one.spec.task_type == "regression" and one.spec.num_outputs == 1
    assert one.spec.metric == "pearson" and one.spec.protocol == "resplit_70_10_20"
    assert one.train.labels.shape == (35, 1) and one.train.labels.dtype == np.float32
    two = load_task(resolve_task(str(path), opts("b", "a")), seed=0)
    assert two.spec.targets == ("b", "a") and two.test.labels.shape == (10, 2)
    expected = frame(50)[["b", "a"]].to_numpy(np.float32)
    rows = [int(i.split(":")[1]) - 1 for i in two.test.ids]
    np.testing.assert_array_equal(two.test.labels, expected[rows])
    assert split_sizes(two.splits()) == {"train": {"n": 35}, "val": {"n": 5}, "test": {"n": 10}}
    card = task_card(two.spec, seed=0)
    assert card["task_type"] == "regression" and card["targets"] == {"b": "b", "a": "a"}
    assert card["split_seed"] == 0
    assert "targets mean +- sd" in format_info(str(path), options=opts("a"))


def test_split_tables_and_task_yaml(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    for seed, (name, n) in enumerate((("train", 30), ("val", 6), ("test", 8))):
        table(folder / f"{name}.csv", n, seed)
    data = load_task(resolve_task(str(folder), opts("a", "b")))
    assert data.spec.protocol == "official" and len(data.val) == 6
    yaml = tmp_path / "task.yaml"
    yaml.write_text("name: mine\npath: d\ntype: regression\ntargets: [b]\nmetric: spearman\n")
    spec = resolve_task(str(yaml))
    assert (spec.name, spec.targets, spec.metric) == ("mine", ("b",), "spearman")
    yaml.write_text("path: d\ntype: regression\n")
    with pytest.raises(ValueError, match="type: regression needs its target columns"):
        resolve_task(str(yaml))
    yaml.write_text("path: d\ntargets: [a]\ntarget_columns: [a]\n")
    with pytest.raises(ValueError, match="not both"):
        resolve_task(str(yaml))


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ({"a:3": "high"}, r"t\.csv, data row 4 .*column 'a': the target 'high' is not a number"),
        ({"b:5": ""}, r"data row 6 .*column 'b': the target '' is empty or NaN"),
        ({"a:0": "nan"}, r"data row 1 .*column 'a'.*empty or NaN"),
        ({"b:7": "inf"}, r"data row 8 .*column 'b': the target 'inf' is infinite"),
    ],
)
def test_bad_target_cells_are_named(tmp_path, cells, message):
    path = table(tmp_path / "t.csv", **cells)
    with pytest.raises(ValueError, match=message):
        resolve_task(str(path), opts("a", "b"))


def test_missing_and_constant_targets_and_misuse(tmp_path):
    path = table(tmp_path / "t.csv")
    with pytest.raises(ValueError, match=r"no target column\(s\) \['c'\]; the header has"):
        resolve_task(str(path), opts("a", "c"))
    df = frame(20)
    df["a"] = 3.0
    df.to_csv(tmp_path / "flat.csv", index=False)
    with pytest.raises(ValueError, match="training target 'a' is constant .*nothing to learn"):
        resolve_task(str(tmp_path / "flat.csv"), opts("a"))
    with pytest.raises(ValueError, match="registered task"):
        resolve_task("gue/EMP/H3", opts("a"))
    with pytest.raises(ValueError, match="is for classification"):
        resolve_task(str(path), UserTaskOptions(target_columns=("a",), label_column="a"))
    with pytest.raises(ValueError, match=r"YAML\) \(not --label-column: --target-columns a\)\.$"):
        resolve_task(str(path), UserTaskOptions(task_type="regression", label_column="a"))
    with pytest.raises(ValueError, match="target columns are for a regression or multi-label task"):
        UserTaskOptions(task_type="classification", target_columns=("a",))
    with pytest.raises(Exception, match="column names separated by commas"):
        target_columns("a,,b")
    assert target_columns(" a, b ") == ("a", "b")


def test_task_spec_checks():
    base = dict(suite="user", files={"all": "x.csv"}, format="table", num_classes=0)
    spec = TaskSpec(
        "r", metric="r2", protocol="resplit_70_10_20", task_type="regression", targets=["y"], **base
    )
    assert spec.targets == ("y",) and spec.num_outputs == 1
    with pytest.raises(ValueError, match="task r: a regression task needs at least one target"):
        TaskSpec("r", metric="pearson", protocol="resplit_70_10_20", task_type="regression", **base)
    with pytest.raises(ValueError, match="'mcc' is not a regression metric"):
        TaskSpec(
            "r",
            metric="mcc",
            protocol="resplit_70_10_20",
            task_type="regression",
            targets=("y",),
            **base,
        )
    with pytest.raises(ValueError, match="'pearson' is not a classification metric"):
        TaskSpec("c", metric="pearson", protocol="resplit_70_10_20", **{**base, "num_classes": 2})


def rows(n: int, targets: int = 1, seed: int = 0) -> LabeledSequences:
    y = np.random.default_rng(seed).normal(size=(n, targets))
    return LabeledSequences(["ACGT"] * n, y, [f"r{i}" for i in range(n)])


def test_labels_shapes_and_random_seeded_splits():
    assert LabeledSequences(["A"] * 3, np.arange(3.0), ["x", "y", "z"]).labels.shape == (3, 1)
    assert LabeledSequences(["A"] * 2, [0, 1], ["x", "y"]).labels.dtype == np.int64
    part = rows(40, 2)
    a = apply_protocol("resplit_70_10_20", {"all": part}, seed=3)
    b = apply_protocol("resplit_70_10_20", {"all": part}, seed=3)
    c = apply_protocol("resplit_70_10_20", {"all": part}, seed=4)
    assert [len(a[k]) for k in ("train", "val", "test")] == [28, 4, 8]
    assert a["test"].ids == b["test"].ids != c["test"].ids
    assert a["train"].subset([0, 1]).labels.shape == (2, 2)
    check_splits("t", a)
    small = apply_protocol("val_from_train", {"train": rows(10), "test": rows(1, seed=1)}, 0)
    with pytest.raises(ValueError, match=r"task t: .*the test split has 1 row\(s\)"):
        check_splits("t", small)
    flat = {**a, "train": LabeledSequences(["A"] * 3, np.ones((3, 2)), ["p", "q", "r"])}
    with pytest.raises(ValueError, match="task t: train: the training target 'target 1' is const"):
        check_splits("t", flat)
    inf = {**a, "val": LabeledSequences(["A"] * 2, [[1.0, np.inf], [0.0, 0.0]], ["p", "q"])}
    with pytest.raises(ValueError, match="val split's row p has a non-finite target 2"):
        check_splits("t", inf)


def test_joined_files_and_peer_predictions(tmp_path):
    first, second = frame(30, 0), frame(30, 0)
    second = second.iloc[5:].sample(frac=1.0, random_state=1)  # 25 shared, another order
    first.to_csv(tmp_path / "one.csv", index=False)
    second.to_csv(tmp_path / "two.csv", index=False)
    spec = TaskSpec(
        "j",
        "user",
        {"x": str(tmp_path / "one.csv"), "y": str(tmp_path / "two.csv")},
        "table",
        0,
        "pearson",
        "resplit_70_10_20",
        task_type="regression",
        targets=("x", "y"),
        target_columns=("a", "b"),
        join_column="sequence",
        peer_column="peer",
    )
    joined = read_joined(spec, None)
    assert len(joined) == 25 and joined.ids[0] == "one.csv:6"
    np.testing.assert_allclose(joined.labels[:, 0], first["a"].iloc[5:], rtol=1e-6)
    np.testing.assert_allclose(joined.labels[:, 1], first["b"].iloc[5:], rtol=1e-6)
    data = load_task(spec, seed=0)
    peers = peer_predictions(spec, data.test, data.root)
    expected = first.set_index("sequence")["peer"].loc[data.test.seqs].to_numpy()
    np.testing.assert_allclose(peers[:, 0], expected, rtol=1e-6)
    assert task_card(spec)["peer_predictions"]["column"] == "peer"


@pytest.mark.data
def test_registered_vaishnav_tasks_load(shared_data):
    names = [n for n, s in TASKS.items() if s.suite == "vaishnav2022"]
    assert sorted(names) == [
        f"vaishnav2022/{t}"
        for t in ("native_both", "native_complex", "native_defined", "random_complex")
    ]
    both = load_task("vaishnav2022/native_both", seed=0, root=shared_data)
    assert sum(len(p) for p in both.splits().values()) == 3727
    assert both.train.labels.shape[1] == 2 and len(both.test) == 764
    check_splits(both.spec.name, both.splits())
    # The native promoters' variants stay on one side: no test row within 30 mismatches of a
    # training row (a random split left every one within 5).
    for data in (both, load_task("vaishnav2022/native_complex", seed=1, root=shared_data)):
        assert data.spec.protocol == "grouped_70_10_20"
        train = np.array([list(s.encode()) for s in data.train.seqs], dtype=np.uint8)
        test = [np.frombuffer(s.encode(), np.uint8) for s in data.test.seqs]
        assert min((train != row).sum(1).min() for row in test) > 30
    one = load_task("vaishnav2022/random_complex", seed=0, root=shared_data)
    assert [len(p) for p in one.splits().values()] == [2067, 296, 591]
    assert one.spec.targets == ("expression",)
    card = task_card(one.spec, seed=0)
    assert card["peer_predictions"]["column"] == "Predicted Expression"
    assert "Predicted Expression" not in card["targets"].values()


def test_the_task_card_never_calls_a_regression_split_stratified(tmp_path):
    """Only class labels stratify: a regression task's card and `data info` say "random" in the
    filled-split text and the protocol line alike; a classification task keeps "stratified"."""
    folder = tmp_path / "f"
    folder.mkdir()
    frame(50).to_csv(folder / "train.csv", index=False)
    frame(10, 1).to_csv(folder / "test.csv", index=False)
    info = format_info(str(folder), options=opts("a"))
    assert "val = a seeded random 10% of train" in info
    assert "train/val = seeded random 90/10 of train" in info and "stratified" not in info
    for part, n in (("train", 50), ("test", 10)):
        df = frame(n, n).assign(label=lambda d: (d["a"] > d["a"].median()).astype(int))
        df.to_csv(folder / f"{part}.csv", index=False)
    info = format_info(str(folder))
    assert "train/val = seeded stratified 90/10 of train" in info
