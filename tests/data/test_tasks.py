import gzip
import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from findna.data.splits import PROTOCOLS
from findna.data.tasks import (
    TASKS,
    TaskSpec,
    coordinate_task,
    fasta_class_task,
    folder_task,
    get_task,
    load_task,
    task_max_len,
)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_registry_covers_every_shipped_task():
    suites = Counter(s.suite for s in TASKS.values())
    classification = {"emp": 7, "gue": 17, "gb": 2, "toy": 2, "nt": 18, "dnabert": 1}
    assert suites == {**classification, "vaishnav2022": 4, "repeats": 2}
    assert len(TASKS) == 53
    assert sum(s.name.startswith("gue/prom/") for s in TASKS.values()) == 6
    assert sum(s.name.startswith("gue/tf/") for s in TASKS.values()) == 5
    assert sum(s.name.startswith("gue/mouse/") for s in TASKS.values()) == 5


def test_registry_entries_are_well_formed():
    for name, spec in TASKS.items():
        assert spec.name == name
        assert spec.protocol in PROTOCOLS
        needs = PROTOCOLS[spec.protocol].needs
        if needs != ("*",):
            assert set(needs) == set(spec.files), name
        assert all(not Path(p).is_absolute() for p in spec.files.values())
        assert spec.max_len and spec.description
        if spec.task_type == "regression":
            assert spec.num_outputs == len(spec.targets) >= 1 and spec.metric == "pearson", name
        else:
            assert spec.num_classes >= 2, name


@pytest.mark.parametrize(
    ("name", "metric", "protocol", "classes"),
    [
        ("gue/EMP/H3", "mcc", "val_from_dev", 2),
        ("gue/prom/prom_300_tata", "mcc", "official", 2),
        ("gue/prom/prom_300_all", "mcc", "val_from_dev", 2),
        ("gue/mouse/1", "mcc", "val_from_dev", 2),
        ("gue/splice/reconstructed", "mcc", "val_from_dev", 3),
        ("gb/human_enhancers_cohn", "accuracy", "resplit_70_10_20", 2),
        ("gb/human_nontata_promoters", "accuracy", "grouped_70_10_20", 2),
        ("toy/human_ensembl_regulatory", "accuracy", "resplit_70_10_20", 3),
        ("nt/enhancers_types", "mcc", "resplit_70_10_20", 3),
    ],
)
def test_selected_entries(name, metric, protocol, classes):
    spec = TASKS[name]
    assert (spec.metric, spec.protocol, spec.num_classes) == (metric, protocol, classes)


def test_paper_tasks_are_flagged():
    assert {s.name for s in TASKS.values() if s.in_paper} == {
        *(f"gue/EMP/{m}" for m in ("H3", "H3K36me3", "H3K4me1", "H3K4me2", "H3K79me3", "H3K9ac")),
        "gue/EMP/H4",
        "gb/human_enhancers_cohn",
        "gb/human_nontata_promoters",
    }


def test_taskspec_validation():
    base = dict(name="t", suite="x", files={"all": "a.csv"}, format="table", num_classes=2)
    with pytest.raises(ValueError, match="metric 'auc'"):
        TaskSpec(**base, metric="auc", protocol="official")
    with pytest.raises(ValueError, match="protocol 'p'"):
        TaskSpec(**base, metric="mcc", protocol="p")
    with pytest.raises(ValueError, match="fasta_classes needs class_files"):
        TaskSpec(**{**base, "format": "fasta_classes"}, metric="mcc", protocol="nested_60_20_20")


def test_unknown_task_suggests_close_names():
    with pytest.raises(ValueError, match=r"unknown task 'gue/EMP/H3x'.*gue/EMP/H3"):
        get_task("gue/EMP/H3x")


def gue_csv(path, seqs_labels):
    return write(path, "sequence,label\n" + "".join(f"{s},{y}\n" for s, y in seqs_labels))


def test_load_task_from_relative_root_reports_shared_duplicates(tmp_path, caplog):
    seqs = [("A" * (i + 1) + "C", i % 2) for i in range(40)]  # 40 distinct sequences
    gue_csv(tmp_path / "t/dev.csv", seqs)
    gue_csv(tmp_path / "t/test.csv", [("GGGGA", 0), ("TTTTC", 1), (seqs[0][0], 0)])
    spec = TaskSpec(
        name="mine",
        suite="gue",
        files={"dev": "t/dev.csv", "test": "t/test.csv"},
        format="table",
        num_classes=2,
        metric="mcc",
        protocol="val_from_dev",
    )
    with caplog.at_level(logging.WARNING):
        data = load_task(spec, seed=0, root=tmp_path)
    assert (len(data.train), len(data.val), len(data.test)) == (36, 4, 3)
    assert data.test.ids == ["test.csv:1", "test.csv:2", "test.csv:3"]
    assert not set(data.val.ids) & set(data.test.ids)
    # seqs[0] is in dev (so in train or val) and in test
    assert data.shared["train&val"] == 0
    assert data.shared["train&test"] + data.shared["val&test"] == 1
    assert "shared across splits" in caplog.text
    again = load_task(spec, seed=0, root=tmp_path)
    assert again.val.ids == data.val.ids
    assert data.root == tmp_path  # provenance reads the files from the root they came from


def test_task_max_len_is_longest_or_spec_length_plus_cls(tmp_path):
    gue_csv(tmp_path / "all.csv", [("A" * (5 + i % 7), i % 2) for i in range(40)])
    spec = TaskSpec("mine", "toy", {"all": "all.csv"}, "table", 2, "mcc", "resplit_70_10_20")
    data = load_task(spec, seed=0, root=tmp_path)
    assert task_max_len(data, 0) == 11 and task_max_len(data, 10) == 21
    longer = load_task(replace(spec, max_len=30), seed=0, root=tmp_path)
    assert task_max_len(longer, 2) == 32
    assert task_max_len(longer, 2, override=64) == 64  # an explicit length wins as is


def test_folder_task_end_to_end(tmp_path):
    for split, n in (("train", 20), ("test", 6)):
        for cls in ("negative", "positive"):
            for i in range(n // 2):
                write(tmp_path / "ds" / split / cls / f"{i}.txt", "ACGT"[i % 4] * (i + 3))
    spec = folder_task("gb/mine", tmp_path / "ds")
    assert (spec.format, spec.suite, spec.genome) == ("class_folders", "gb", None)
    assert spec.files == {"train": str(tmp_path / "ds/train"), "test": str(tmp_path / "ds/test")}
    data = load_task(spec, seed=0)
    assert spec.protocol == "val_from_train" and spec.metric == "accuracy"
    assert (len(data.train), len(data.val), len(data.test)) == (18, 2, 6)
    assert sorted(data.val.labels.tolist()) == [0, 1]


def test_coordinate_task_end_to_end(tmp_path):
    write(tmp_path / "genome.fa", ">chr1\n" + "ACGTTGCA" * 10 + "\n")
    for split in ("train", "test"):
        (tmp_path / "ds" / split).mkdir(parents=True)
        for cls in ("negative", "positive"):
            rows = "".join(f"{cls[0]}{i},chr1,{i},{i + 8},{'+-'[i % 2]}\n" for i in range(10))
            with gzip.open(tmp_path / "ds" / split / f"{cls}.csv.gz", "wt") as fh:
                fh.write("id,region,start,end,strand\n" + rows)
    spec = coordinate_task("gb/coords", tmp_path / "ds", tmp_path / "genome.fa")
    assert (spec.format, spec.suite, spec.genome) == (
        "coordinates",
        "gb",
        str(tmp_path / "genome.fa"),
    )
    assert spec.files == {"train": str(tmp_path / "ds/train"), "test": str(tmp_path / "ds/test")}
    assert coordinate_task("x", "ds", "g.fa", 3, suite="mine", metric="mcc").num_classes == 3
    data = load_task(spec, seed=0)
    assert (len(data.train), len(data.val), len(data.test)) == (18, 2, 20)
    assert set(data.test.lengths().tolist()) == {8}
    assert data.test.ids[0] == "negative.csv.gz:n0"


def test_fasta_class_task_end_to_end(tmp_path):
    write(tmp_path / "turtle.fa", "".join(f">t{i}\n{'AC' * (3 + i)}\n" for i in range(10)))
    write(tmp_path / "mouse.fa", "".join(f">m{i}\n{'GT' * (3 + i)}\n" for i in range(10)))
    spec = fasta_class_task(
        "mtcdna/test", {0: ["turtle.fa"], 1: ["mouse.fa"]}, max_len=12, min_length=6
    )
    data = load_task(spec, seed=1, root=tmp_path)
    # records of length 6 are not longer than min_length=6: 9 per class kept, 18 in all
    assert (len(data.train), len(data.val), len(data.test)) == (10, 4, 4)
    assert set(data.train.lengths().tolist()) == {12}
    assert spec.protocol == "nested_60_20_20" and spec.num_classes == 2
