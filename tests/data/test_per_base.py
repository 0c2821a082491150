"""Per-base tasks (issue 23): label strings in a table, repeat labels from a soft-masked FASTA,
splits by region that never share a record, and every bad-label error."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from findna.data.catalog import _format_task, task_card
from findna.data.per_base import (
    PAD_LABEL,
    PerBaseSequences,
    parse_label_strings,
    per_base_sizes,
    read_per_base_table,
)
from findna.data.soft_mask import read_repeat_windows, split_regions
from findna.data.tasks import TaskSpec, load_task


def _where(i):
    return f"t.csv, data row {i + 1}"


def test_label_strings_become_padded_class_indices():
    m = parse_label_strings(["0110", "10"], ["ACGT", "GG"], ("0", "1"), _where)
    assert m.dtype == np.int8
    assert m.tolist() == [[0, 1, 1, 0], [1, 0, PAD_LABEL, PAD_LABEL]]
    named = parse_label_strings(["ier"], ["ACG"], ("e", "i", "r"), _where)
    assert named.tolist() == [[1, 0, 2]]


def test_label_string_length_differs_from_sequence():
    with pytest.raises(ValueError) as err:
        parse_label_strings(["01", "011"], ["AC", "ACGT"], ("0", "1"), _where)
    assert str(err.value) == (
        "t.csv, data row 2: the label string has 3 characters but the sequence has 4 bases; "
        "give one label per base"
    )


def test_label_character_outside_the_classes():
    with pytest.raises(ValueError) as err:
        parse_label_strings(["0120"], ["ACGT"], ("0", "1"), _where)
    assert str(err.value) == (
        "t.csv, data row 1: label character '2' at base 3 is not one of the classes ['0', '1']; "
        "fix the label or declare the class"
    )
    with pytest.raises(ValueError, match="2 or more distinct single characters"):
        parse_label_strings(["0"], ["A"], ("0", "10"), _where)


def test_table_reader_names_file_and_row(tmp_path):
    path = tmp_path / "pb.csv"
    path.write_text("sequence,label\nACGT,0011\nGGA,101\nTTT,10\n")
    with pytest.raises(ValueError) as err:
        read_per_base_table(path, classes=("0", "1"))
    assert str(err.value).startswith(f"{path}, data row 3 (1-based, header not counted): the")
    assert "has 2 characters but the sequence has 3 bases" in str(err.value)
    path.write_text("sequence,label\nACGT,0011\nGGA,101\n")
    rows = read_per_base_table(path, classes=("0", "1"))
    assert rows.ids == ["pb.csv:1", "pb.csv:2"]
    assert rows.base_labels(1).tolist() == [1, 0, 1]
    assert rows.counts(2).tolist() == [3, 4]


def test_per_base_sequences_refuse_labels_on_padding():
    with pytest.raises(ValueError, match="row b: per-base labels must be >= 0 on its 2 bases"):
        PerBaseSequences(["ACG", "AC"], np.array([[0, 1, 0], [1, 1, 0]]), ["a", "b"])
    ok = PerBaseSequences(["ACG", "AC"], np.array([[0, 1, 0], [1, 1, -1]]), ["a", "b"])
    assert ok.subset([1]).labels.tolist() == [[1, 1]]  # padded to its own longest row
    both = PerBaseSequences.concat([ok.subset([1]), ok.subset([0])])
    assert both.labels.tolist() == [[1, 1, -1], [0, 1, 0]] and both.ids == ["b", "a"]


def test_sizes_count_bases_and_refuse_a_missing_class():
    part = PerBaseSequences(["ACG"], np.array([[0, 1, 1]]), ["a"])
    sizes = per_base_sizes({"train": part, "val": part, "test": part}, 2)
    assert sizes["train"] == {"n": 1, "bases": 3, "0": 1, "1": 2}
    one = PerBaseSequences(["AC"], np.array([[1, 1]]), ["b"])
    with pytest.raises(ValueError) as err:
        per_base_sizes({"train": one, "val": part, "test": one}, 2)
    assert str(err.value) == (
        "the train split has no base of class(es) [0]; the test split holds bases of one class only"
    )


def _soft_masked(path: Path, n_records: int = 12, length: int = 130, seed: int = 0) -> Path:
    """Records of random bases, random stretches in lower case; record 1 mostly N."""
    rng = np.random.default_rng(seed)
    lines = []
    for r in range(n_records):
        seq = [str(b) for b in rng.choice(list("ACGT"), length)]
        for start in rng.integers(0, length, 3):
            seq[start : start + 15] = [b.lower() for b in seq[start : start + 15]]
        if r == 1:
            seq[: length - 5] = ["N"] * (length - 5)
        text = "".join(seq)
        lines += [f">rec{r} block {r}", text[:60], text[60:]]
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def test_repeat_windows_read_case_before_the_encoder(tmp_path):
    path = _soft_masked(tmp_path / "g.fa.gz")
    found = read_repeat_windows(path, 40)
    raw = {}
    name = None
    for line in gzip.open(path, "rt").read().splitlines():
        if line.startswith(">"):
            name, raw[line[1:].split()[0]] = line[1:].split()[0], ""
        else:
            raw[name] += line
    # 3 whole windows of 40 per 130-bp record (the 10-bp tail unused); rec1's are all N-heavy
    assert len(found.windows) == 11 * 3 and found.dropped_n == 3
    assert found.region_names[0] == "rec0:0-130" and "rec1:0-130" not in found.region_names
    for i, wid in enumerate(found.windows.ids):
        rec, span = wid.rsplit(":", 1)
        a, b = map(int, span.split("-"))
        text = raw[rec][a:b]
        assert found.windows.seqs[i] == text.upper()
        assert found.windows.base_labels(i).tolist() == [int(c.islower()) for c in text]


def test_split_by_region_is_seeded_and_never_shares_a_region():
    region = np.repeat(np.arange(50), 4)
    a, b, c = (split_regions(region, 50, s) for s in (0, 0, 1))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)
    seen = [set(region[a[k]].tolist()) for k in ("train", "val", "test")]
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert sorted(np.concatenate(list(a.values())).tolist()) == list(range(200))
    assert [len(a[k]) for k in ("train", "val", "test")] == [140, 20, 40]
    with pytest.raises(ValueError, match="needs at least 3"):
        split_regions(np.zeros(5, np.int64), 1, 0)


def test_soft_mask_task_splits_by_record(tmp_path):
    path = _soft_masked(tmp_path / "g.fa.gz", n_records=30)
    spec = TaskSpec(
        "toy/repeats",
        "toy",
        {"all": str(path)},
        "soft_mask",
        2,
        "mcc",
        "resplit_70_10_20",
        max_len=40,
        classes=("other", "repeat"),
        genome=str(path),
        task_type="per_base",
    )
    data = load_task(spec, seed=3)
    records = {k: {i.rsplit(":", 1)[0] for i in p.ids} for k, p in data.splits().items()}
    assert not (records["train"] & records["val"] or records["train"] & records["test"])
    assert not records["val"] & records["test"]
    assert sum(map(len, data.splits().values())) == 29 * 3
    assert isinstance(data.train, PerBaseSequences) and data.train.labels.shape[1] == 40
    card = task_card(spec, 3)
    assert card["task_type"] == "per_base" and "no region in two splits" in card["splits"]
    info = _format_task(data)  # findna data info: shares of bases, not of rows
    counts = data.train.counts(2)
    share = f"1: {counts[1]} ({100 * counts[1] / counts.sum():.1f}%)"
    assert "bases of each class" in info and share in info


def test_per_base_spec_errors(tmp_path):
    common = dict(
        suite="toy",
        files={"all": "x.csv"},
        num_classes=2,
        metric="mcc",
        protocol="resplit_70_10_20",
        task_type="per_base",
    )
    with pytest.raises(ValueError, match="classes of one character each"):
        TaskSpec("t", format="table", classes=("no", "yes"), **common)
    with pytest.raises(ValueError, match="soft_mask needs a genome FASTA and max_len"):
        TaskSpec("t", format="soft_mask", **common)
    with pytest.raises(ValueError, match="not 'class_folders'"):
        TaskSpec("t", format="class_folders", **common)


def test_per_base_table_task_is_split_by_row(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["sequence,label"]
    for _ in range(40):
        seq = "".join(rng.choice(list("ACGT"), 12))
        rows.append(f"{seq},{''.join('1' if b in 'GC' else '0' for b in seq)}")
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    spec = TaskSpec(
        "t",
        "user",
        {"all": str(tmp_path / "t.csv")},
        "table",
        2,
        "mcc",
        "resplit_70_10_20",
        classes=("0", "1"),
        task_type="per_base",
    )
    data = load_task(spec, seed=0)
    assert [len(p) for p in data.splits().values()] == [28, 4, 8]
    assert set(data.train.ids).isdisjoint(data.test.ids)


@pytest.mark.data
def test_registered_repeat_task_on_the_real_genome(shared_data):
    data = load_task("repeats_hg19_chr22", seed=0, root=shared_data)
    assert [len(p) for p in data.splits().values()] == [26862, 3833, 7679]
    records = {k: {i.rsplit(":", 1)[0] for i in p.ids} for k, p in data.splits().items()}
    assert not (records["train"] & records["val"] or records["train"] & records["test"])
    assert not records["val"] & records["test"]
    assert sum(map(len, records.values())) <= 9627
    assert data.train.counts(2).tolist() == [7399468, 6031532]
