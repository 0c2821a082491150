"""A user's per-base table (issue 23): ``--task-type per_base`` (or ``per-base``) and a task
YAML's ``type: per_base`` build ``TaskSpec(format="table", task_type="per_base")``; the classes
are declared or the sorted characters of the training label strings; every bad label names its
file and data row; a table without a split column is split at random by row, seeded."""

from pathlib import Path

import numpy as np
import pytest

from findna.cli import main
from findna.data.per_base import PAD_LABEL
from findna.data.tasks import load_task
from findna.data.user_layouts import UserTaskOptions
from findna.data.user_tasks import resolve_task

PER_BASE = UserTaskOptions(task_type="per_base")


def _table(path: Path, rows: list[tuple[str, ...]], header: str = "sequence,label") -> Path:
    path.write_text(header + "\n" + "\n".join(",".join(r) for r in rows) + "\n")
    return path


def _gc_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` random sequences of 10-20 bp, labelled 1 on G/C and 0 on A/T."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), int(rng.integers(10, 21)))) for _ in range(n)]
    return [(s, "".join("1" if b in "GC" else "0" for b in s)) for s in seqs]


def test_classes_are_the_sorted_characters_of_the_training_strings(tmp_path):
    rows = [("ACGTAC", "nnieei"), ("GGCA", "eein")] * 5
    spec = resolve_task(str(_table(tmp_path / "t.csv", rows)), PER_BASE)
    assert spec.task_type == "per_base" and spec.format == "table"
    assert spec.classes == ("e", "i", "n") and spec.num_classes == 3
    assert spec.metric == "mcc" and spec.protocol == "resplit_70_10_20"
    assert spec.label_column == "label" and spec.files == {"all": str(tmp_path / "t.csv")}
    assert spec.description == f"your own data (one table, no split column, per-base): {spec.name}"
    # the flag's other spelling is the same type
    again = resolve_task(str(tmp_path / "t.csv"), UserTaskOptions(task_type="per-base"))
    assert again == spec


def test_unsplit_table_is_split_at_random_by_row_seeded(tmp_path):
    path = _table(tmp_path / "gc.csv", _gc_rows(50))
    spec = resolve_task(str(path), PER_BASE)
    a, b, c = load_task(spec, 0), load_task(spec, 0), load_task(spec, 1)
    assert [len(a.train), len(a.val), len(a.test)] == [35, 5, 10]
    assert a.test.ids == b.test.ids and a.test.ids != c.test.ids
    assert sorted(a.train.ids + a.val.ids + a.test.ids) == sorted(
        f"gc.csv:{i + 1}" for i in range(50)
    )
    for row, seq in enumerate(a.train.seqs):  # 1 on G/C, padding after the bases
        assert a.train.base_labels(row).tolist() == [int(b in "GC") for b in seq]
        assert (a.train.labels[row, len(seq) :] == PAD_LABEL).all()


def test_data_info_states_the_random_split(tmp_path, capsys):
    path = _table(tmp_path / "gc.csv", _gc_rows(40))
    assert main(["data", "info", str(path), "--task-type", "per-base"]) == 0
    out = capsys.readouterr().out
    assert "2 classes" in out and "labels: 0 = 0, 1 = 1" in out
    assert "a seeded random 70/10/20 re-split (per-base rows: split at random, by row)" in out
    assert "bases of each class" in out
    with pytest.raises(SystemExit):
        main(["data", "info", str(path), "--task-type", "perbase"])
    assert (
        "argument --task-type: 'perbase' is no task type; choose one of classification, "
        "regression, multilabel, per_base (or per-base)" in capsys.readouterr().err
    )


def test_split_column_and_a_bad_character_in_val(tmp_path):
    rows = [(s, lab, "train") for s, lab in _gc_rows(8)]
    rows += [("ACGT", "0110", "val"), ("ACGT", "01x0", "val"), ("AAGG", "0011", "test")]
    path = _table(tmp_path / "s.csv", rows, "sequence,label,split")
    with pytest.raises(ValueError) as err:
        resolve_task(str(path), PER_BASE)
    assert str(err.value) == (
        f"{path}, data row 10 (1-based, header not counted): label character 'x' at base 3 is "
        "not one of the classes ['0', '1']; fix the label or declare the class"
    )


def test_label_string_of_the_wrong_length(tmp_path):
    path = _table(tmp_path / "t.csv", [("ACGT", "0110"), ("ACGTA", "011")])
    with pytest.raises(ValueError) as err:
        resolve_task(str(path), PER_BASE)
    assert str(err.value) == (
        f"{path}, data row 2 (1-based, header not counted): the label string has 3 characters "
        "but the sequence has 5 bases; give one label per base"
    )


def test_one_class_and_misplaced_options_are_refused(tmp_path):
    path = _table(tmp_path / "t.csv", [("ACGT", "0000"), ("AC", "00")])
    with pytest.raises(ValueError, match=r"hold one class only \(\['0'\]\); a per-base task"):
        resolve_task(str(path), PER_BASE)
    both = _table(tmp_path / "b.csv", [("ACGT", "0101")], "sequence,label")
    with pytest.raises(ValueError, match="--target-columns are for regression and multi-label"):
        resolve_task(str(both), UserTaskOptions(task_type="per_base", target_columns=("label",)))
    with pytest.raises(ValueError, match="metric 'pearson' is not a per-base metric"):
        resolve_task(str(both), UserTaskOptions(task_type="per_base", metric="pearson"))
    folder = tmp_path / "fasta"
    folder.mkdir()
    (folder / "a.fa").write_text(">r\nACGT\n")
    (folder / "b.fa").write_text(">s\nGGCC\n")
    with pytest.raises(ValueError, match="not a class per base; a per-base task is a table"):
        resolve_task(str(folder), PER_BASE)


def test_task_yaml_declares_type_and_classes(tmp_path):
    (tmp_path / "train.csv").write_text("seq,bases\nACGT,1100\nGGCC,0011\nAAAA,0000\n")
    (tmp_path / "test.csv").write_text("seq,bases\nACGA,1010\n")
    yml = tmp_path / "task.yaml"
    yml.write_text(
        "name: my_bases\npath: .\ntype: per-base\nclasses: [1, 0]\nlabel_column: bases\n"
        "sequence_column: seq\n"
    )
    spec = resolve_task(str(yml))
    assert spec.name == "my_bases" and spec.task_type == "per_base"
    assert spec.classes == ("1", "0") and spec.protocol == "val_from_train"
    data = load_task(spec, 0)
    assert data.test.base_labels(0).tolist() == [0, 1, 0, 1]  # '1' is class 0
    yml.write_text("path: .\ntype: per_base\nclasses: ['0']\nlabel_column: bases\n")
    with pytest.raises(ValueError, match="per-base classes must be 2 or more distinct single"):
        resolve_task(str(yml))
    yml.write_text("path: .\ntype: per_base\nclasses: [0, 1]\nlabels: [0, 1]\n")
    with pytest.raises(ValueError, match="give classes: or labels:, not both"):
        resolve_task(str(yml))


def test_a_class_of_one_training_row_is_warned_about(tmp_path, caplog):
    """A typo in one label string ('2' among 0/1) makes a class of its own: a warning names the
    row; declared classes (YAML ``classes:``) or a class in two rows are not warned about."""
    rows = _gc_rows(30)
    seq, label = rows[5]
    rows[5] = (seq, "2" + label[1:])
    path = _table(tmp_path / "t.csv", rows)
    with caplog.at_level("WARNING", logger="findna.data.user_per_base"):
        spec = resolve_task(str(path), PER_BASE)
    assert spec.classes == ("0", "1", "2")
    assert "t.csv, data row 6 (1-based, header not counted): class '2' appears in this " in (
        caplog.text
    )
    assert "(1 of its bases, out of 30 training rows)" in caplog.text
    caplog.clear()
    seq, label = rows[7]
    rows[7] = (seq, "2" + label[1:])
    with caplog.at_level("WARNING", logger="findna.data.user_per_base"):
        resolve_task(str(_table(tmp_path / "two.csv", rows)), PER_BASE)
    assert caplog.text == ""


def test_an_id_column_names_the_rows_of_a_per_base_table(tmp_path):
    rows = _gc_rows(30)
    text = "id,sequence,label\n" + "".join(f"r{i},{s},{y}\n" for i, (s, y) in enumerate(rows))
    (tmp_path / "t.csv").write_text(text)
    task = load_task(resolve_task(str(tmp_path / "t.csv"), PER_BASE), seed=0)
    assert set(task.train.ids) | set(task.val.ids) | set(task.test.ids) == {
        f"r{i}" for i in range(30)
    }
    (tmp_path / "d.csv").write_text(text.replace("r5,", "r4,"))  # no row ids: file:row
    dup = load_task(resolve_task(str(tmp_path / "d.csv"), PER_BASE), seed=0)
    assert all(i.startswith("d.csv:") for i in dup.train.ids)
