"""A user's own data as a task: every layout, text labels, filled splits, and bad inputs."""

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from findna.data.catalog import format_info, task_card
from findna.data.tasks import load_task
from findna.data.user_layouts import UserTaskOptions
from findna.data.user_tasks import resolve_task


def frame(n: int, seed: int = 0, labels=("other", "enhancer")) -> pd.DataFrame:
    """``n`` random 50 bp sequences; row i has label ``labels[i % len(labels)]``."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), 50)) for _ in range(n)]
    return pd.DataFrame({"sequence": seqs, "label": [labels[i % len(labels)] for i in range(n)]})


def split_folder(folder: Path, splits=("train", "val", "test"), sizes=(40, 10, 10), **kw) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for seed, (name, n) in enumerate(zip(splits, sizes, strict=True)):
        frame(n, seed, **kw).to_csv(folder / f"{name}.csv", index=False)
    return folder


def fasta(path: Path, n: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    text = "".join(f">r{i}\n{''.join(rng.choice(list('ACGT'), 50))}\n" for i in range(n))
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def test_a_folder_of_split_tables_is_used_as_given_with_text_labels_mapped(tmp_path):
    folder = split_folder(tmp_path / "enh")
    spec = resolve_task(str(folder))
    assert (spec.name, spec.suite, spec.origin, spec.protocol) == (
        str(folder),
        "user",
        str(folder),
        "official",
    )
    assert spec.classes == ("enhancer", "other") and spec.num_classes == 2  # sorted order
    task = load_task(spec, seed=0)
    for split, role in (("train", "train"), ("val", "val"), ("test", "test")):
        rows = pd.read_csv(folder / f"{role}.csv")
        part = task.splits()[split]
        assert part.seqs == rows["sequence"].tolist()  # as given, in file order
        assert part.labels.tolist() == [0 if y == "enhancer" else 1 for y in rows["label"]]
    card = task_card(spec)
    assert card["labels"] == {"enhancer": 0, "other": 1}
    assert card["splits"] == "given: train, val, test; all used as given"


def test_a_missing_val_split_is_carved_from_train_and_the_card_says_so(tmp_path):
    folder = split_folder(tmp_path / "tt", ("train", "test"), (40, 20), labels=("0", "1"))
    spec = resolve_task(str(folder) + "/")  # a trailing slash names the same task
    assert spec.name == str(folder) and spec.protocol == "val_from_train"
    assert spec.classes is None  # integer labels 0..C-1 are kept as written
    task = load_task(spec, seed=3)
    assert (len(task.train), len(task.val), len(task.test)) == (36, 4, 20)
    assert np.bincount(task.val.labels).tolist() == [2, 2]  # stratified
    assert set(task.train.seqs) | set(task.val.seqs) == set(
        pd.read_csv(folder / "train.csv")["sequence"]
    )
    card = task_card(spec)
    assert card["splits"].startswith("given: train, test; val filled by val_from_train: ")
    assert "labels" not in card
    info = format_info(str(folder), seed=3)
    assert "val filled by val_from_train" in info and "val    4" in info


def test_one_table_with_a_split_column(tmp_path):
    df = frame(60)
    df["split"] = ["train"] * 40 + ["Val"] * 5 + ["dev"] * 5 + ["test"] * 10  # case, dev = val
    path = tmp_path / "all.tsv.gz"
    df.to_csv(path, sep="\t", index=False)
    spec = resolve_task(str(path))
    assert spec.protocol == "official" and spec.split_column == "split"
    task = load_task(spec, seed=0)
    assert task.val.seqs == df["sequence"][40:50].tolist()
    assert task.test.seqs == df["sequence"][50:].tolist()
    assert task.train.ids[0] == "all.tsv.gz:1" and task.test.ids[0] == "all.tsv.gz:51"


def test_one_table_without_a_split_column_is_resplit(tmp_path):
    path = tmp_path / "pool.csv"
    frame(40).to_csv(path, index=False)
    spec = resolve_task(str(path))
    assert spec.protocol == "resplit_70_10_20"
    task = load_task(spec, seed=0)
    assert (len(task.train), len(task.val), len(task.test)) == (28, 4, 8)
    assert task_card(spec)["splits"].startswith("given: none; train, val, test filled by ")


def test_a_folder_of_fasta_per_class(tmp_path):
    folder = tmp_path / "fa"
    folder.mkdir()
    fasta(folder / "promoter.fa", 20, 0)
    fasta(folder / "background.fasta.gz", 20, 1)
    (folder / "README").write_text("not a FASTA file, ignored")
    spec = resolve_task(str(folder))
    assert spec.format == "fasta_classes" and spec.classes == ("background", "promoter")
    task = load_task(spec, seed=0)
    assert (len(task.train), len(task.val), len(task.test)) == (28, 4, 8)
    assert set(task.train.lengths()) == {50}  # records kept whole, no N padding
    promoter = set(task.train.seqs) & {
        line for line in (folder / "promoter.fa").read_text().split() if not line.startswith(">")
    }
    assert promoter and all(task.train.labels[task.train.seqs.index(s)] == 1 for s in promoter)


def test_a_task_yaml_names_files_columns_labels_and_metric(tmp_path):
    for name, n, seed in (("tr.csv", 40, 0), ("te.csv", 10, 1)):
        frame(n, seed).rename(columns={"sequence": "dna", "label": "kind"}).to_csv(
            tmp_path / name, index=False
        )
    yaml = tmp_path / "task.yaml"
    yaml.write_text(
        "name: my_enhancers\nfiles: {train: tr.csv, test: te.csv}\nsequence_column: dna\n"
        "label_column: kind\nlabels: [other, enhancer]\nmetric: accuracy\nmax_len: 64\n"
    )
    spec = resolve_task(str(yaml))
    assert (spec.name, spec.metric, spec.max_len, spec.origin) == (
        "my_enhancers",
        "accuracy",
        64,
        str(yaml),
    )
    assert spec.classes == ("other", "enhancer")  # the YAML's order, not sorted
    task = load_task(spec, seed=0)
    assert task.test.labels.tolist() == [0, 1] * 5  # frame(): other, enhancer, ...


def test_a_max_len_shorter_than_the_sequences_is_warned_about(tmp_path, caplog):
    """Table sequences are never cut: a YAML max_len under the longest (50 bp) is named in a
    warning, with the length the models are built for; max_len 50 or more says nothing."""
    frame(40).to_csv(tmp_path / "t.csv", index=False)
    for max_len, warned in ((10, True), (50, False), (64, False)):
        yaml = tmp_path / f"task{max_len}.yaml"
        yaml.write_text(f"path: t.csv\nmax_len: {max_len}\n")
        caplog.clear()
        with caplog.at_level("WARNING", logger="findna.data.task_checks"):
            task = load_task(resolve_task(str(yaml)), seed=0)
        assert len(task.train.seqs[0]) == 50
        message = f"max_len {max_len} is shorter than its longest sequence (50 bp)"
        assert (message in caplog.text) == warned, caplog.text
        fix = "models are built for 50 bp; raise max_len to at least 50, or drop it"
        assert (fix in caplog.text) == warned


def test_one_far_longer_sequence_is_named_in_a_warning(tmp_path, caplog):
    """One 300 bp row among 50 bp rows sizes every network: a warning names it; a longest
    row at most 4x the next says nothing."""
    for extra, warned in ((300, True), (200, False)):
        df = frame(40)
        df.loc[7, "sequence"] = "A" * extra
        df.to_csv(tmp_path / "t.csv", index=False)
        caplog.clear()
        with caplog.at_level("WARNING", logger="findna.data.task_checks"):
            load_task(resolve_task(str(tmp_path / "t.csv")), seed=0)
        message = "one sequence, t.csv:8 ("
        assert (message in caplog.text) == warned, caplog.text
    assert caplog.text == ""


def test_label_and_sequence_column_options(tmp_path):
    path = tmp_path / "t.csv"
    frame(40).rename(columns={"sequence": "dna", "label": "y"}).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"no sequence column.*--sequence-column"):
        resolve_task(str(path))
    opts = UserTaskOptions(sequence_column="dna", label_column="y")
    assert resolve_task(str(path), opts).label_column == "y"
    with pytest.raises(ValueError, match=r"no label column 'kind'.*\['dna', 'y'\].*--label-col"):
        resolve_task(str(path), UserTaskOptions(sequence_column="dna", label_column="kind"))
    with pytest.raises(ValueError, match="registered task.*label_column"):
        resolve_task("gue/EMP/H3", UserTaskOptions(label_column="y"))


def test_unknown_names_and_unrecognised_paths(tmp_path):
    with pytest.raises(ValueError, match=r"unknown task 'gue/EMP/H3x'\. Did you mean.*own data"):
        resolve_task("gue/EMP/H3x")
    (tmp_path / "notes.md").write_text("hi")
    with pytest.raises(
        ValueError,
        match=r"no accepted layout \(it holds \['notes.md'\]\).*\(a\) "
        r"a folder with train/val/test tables.*\(c\) a folder with one FASTA",
    ):
        resolve_task(str(tmp_path))
    with pytest.raises(ValueError, match="not a table, folder or task YAML"):
        resolve_task(str(tmp_path / "notes.md"))


def test_split_column_values_must_name_a_split(tmp_path):
    df = frame(6)
    df["split"] = ["train", "train", "holdout", "test", "train", "test"]
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    with pytest.raises(
        ValueError,
        match=rf"{path}, data row 3 .*split 'holdout' in column "
        r"'split' is not a split name\. Use train, val \(or dev\) or test",
    ):
        resolve_task(str(path))


def test_a_single_class_is_refused(tmp_path):
    folder = split_folder(tmp_path / "one", ("train", "test"), (10, 4), labels=("enhancer",))
    with pytest.raises(
        ValueError,
        match=rf"{folder / 'train.csv'}: the training labels "
        r"\('label'\) hold one class only \(\['enhancer'\]\).*--label-column",
    ):
        resolve_task(str(folder))
    fa = tmp_path / "fa"
    fa.mkdir()
    fasta(fa / "only.fa", 5, 0)
    with pytest.raises(ValueError, match=r"one FASTA file .*only\.fa\) is one class"):
        resolve_task(str(fa))


def test_a_test_label_missing_from_train_is_refused(tmp_path):
    folder = split_folder(tmp_path / "x", ("train", "test"), (10, 4))
    test = pd.read_csv(folder / "test.csv")
    test.loc[2, "label"] = "silencer"
    test.to_csv(folder / "test.csv", index=False)
    with pytest.raises(
        ValueError,
        match=rf"{folder / 'test.csv'}, data row 3 .*label 'silencer'"
        r" of the test split does not occur in the training split .*fix the label "
        "or add training rows",
    ):
        resolve_task(str(folder))


def test_bad_folders_and_yaml(tmp_path):
    folder = split_folder(tmp_path / "two_val", ("train", "val", "dev"), (4, 4, 4))
    with pytest.raises(ValueError, match="both dev.csv and val.csv are the dev split"):
        resolve_task(str(folder))
    only_val = split_folder(tmp_path / "val_test", ("val", "test"), (4, 4))
    with pytest.raises(ValueError, match=r"splits given are \['test', 'val'\].*needs a train"):
        resolve_task(str(only_val))
    yaml = tmp_path / "t.yaml"
    yaml.write_text("path: two_val\nlabel_colum: y\n")
    with pytest.raises(ValueError, match=rf"{yaml}: unknown key\(s\) \['label_colum'\]"):
        resolve_task(str(yaml))
    yaml.write_text("name: gue/EMP/H3\npath: val_test\n")
    with pytest.raises(ValueError, match="is a registered task's; choose another name"):
        resolve_task(str(yaml))
    yaml.write_text("path: val_test/val.csv\nsplit_column: part\n")
    with pytest.raises(
        ValueError,
        match=r"val\.csv: no split column 'part'; the header has "
        r"\['sequence', 'label'\]\. Fix split_column: in the task YAML",
    ):
        resolve_task(str(yaml))
    yaml.write_text("files: {train: val_test/val.csv}\nprotocol: official\n")
    with pytest.raises(
        ValueError,
        match=r"protocol 'official' needs the splits \['dev', 'test', "
        r"'train'\] .* only \['train'\] are given",
    ):
        resolve_task(str(yaml))


def test_genomic_benchmarks_download_and_empty_labels(tmp_path):
    folder = tmp_path / "gb"
    for split, classes in (("train", ("negative", "positive")), ("test", ("positive",))):
        for c in classes:
            (folder / split / c).mkdir(parents=True)
            for i in range(3):
                (folder / split / c / f"{i}.txt").write_text("ACGT" * (i + 1) + "\n")
    spec = resolve_task(str(folder))
    assert (spec.format, spec.classes, spec.protocol) == (
        "class_folders",
        ("negative", "positive"),
        "val_from_train",
    )
    assert load_task(spec, seed=0).test.labels.tolist() == [1, 1, 1]
    (folder / "test" / "enhancer").mkdir()
    with pytest.raises(ValueError, match=r"test/enhancer: label 'enhancer' of the test split"):
        resolve_task(str(folder))
    table = tmp_path / "t.csv"
    table.write_text("sequence,label\nACGT,a\nACGA,\nACGG,b\n")
    with pytest.raises(ValueError, match=rf"{table}, data row 2 .*: empty label"):
        resolve_task(str(table))


def test_a_file_of_an_unknown_type_is_named_never_guessed(tmp_path):
    """A suffix a layout does not read is named as such, not read as a table or as FASTA
    ("sequence before the first header"); a BED is an interval task (tests/data/test_intervals.py),
    one file with a split column, never a split file of a task YAML."""
    bed = tmp_path / "regions.bed"
    bed.write_text("chr1\t10\t110\tenhancer\n")
    with pytest.raises(ValueError, match=r"regions\.bed: genome intervals need the reference"):
        resolve_task(str(bed))
    other = tmp_path / "regions.gff"
    other.write_text("chr1\t10\t110\tenhancer\n")
    with pytest.raises(
        ValueError, match=r"not a table, folder or task YAML: regions\.gff has the suffix '\.gff'"
    ):
        resolve_task(str(other))
    yaml = tmp_path / "t.yaml"
    yaml.write_text("files: {train: regions.bed, test: regions.bed}\n")
    with pytest.raises(
        ValueError,
        match=r"t\.yaml: files: train: .*regions\.bed has the suffix '\.bed', which a table task "
        r"does not read; give \.csv, \.tsv, \.txt .*one BED with a split column: give it as path:",
    ):
        resolve_task(str(yaml))
    yaml.write_text("format: fasta_classes\nfiles: {a: regions.bed, b: regions.bed}\n")
    with pytest.raises(ValueError, match=r"which a fasta_classes task does not read; give \.fa"):
        resolve_task(str(yaml))


def test_label_errors_show_a_few_labels_and_the_count(tmp_path):
    """200 distinct training labels: the error shows 8 of them and the count, not all 200."""
    folder = split_folder(tmp_path / "x", ("train", "test"), (200, 4))
    train = pd.read_csv(folder / "train.csv")
    train["label"] = [f"class{i:03d}" for i in range(200)]
    train.to_csv(folder / "train.csv", index=False)
    test = pd.read_csv(folder / "test.csv")
    test.loc[0, "label"] = "unseen"
    test.to_csv(folder / "test.csv", index=False)
    with pytest.raises(ValueError) as err:
        resolve_task(str(folder))
    message = str(err.value)
    assert "label 'unseen'" in message and "'class007', ... (200 in all)" in message
    assert "class008" not in message and len(message) < 600


def test_the_unknown_key_error_lists_each_yaml_key_once(tmp_path):
    yaml = tmp_path / "t.yaml"
    yaml.write_text("path: x\nlabel_colum: y\n")
    with pytest.raises(ValueError, match="unknown key") as err:
        resolve_task(str(yaml))
    allowed = str(err.value).split("allowed: ")[1]
    assert allowed.count("'name'") == 1


def test_decimal_labels_point_to_regression_unless_declared(tmp_path):
    """A regression target left in the label column would make every value a class: refused
    with the flag to pass; declared labels (labels: in a YAML) are taken as class names."""
    df = frame(40)
    df["label"] = [f"{x:.3f}" for x in np.linspace(-1, 1, 40)]
    df.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ValueError) as err:
        resolve_task(str(tmp_path / "t.csv"))
    assert str(err.value).startswith(
        f"{tmp_path / 't.csv'}, data row 2 (1-based, header not counted): label '-0.949' of "
        "column 'label' is a number with decimals"  # row 1's -1.000 is a whole number
    )
    assert "pass --target-columns label (type: regression and targets: [label]" in str(err.value)
    spec = resolve_task(str(tmp_path / "t.csv"), UserTaskOptions(target_columns=("label",)))
    assert spec.task_type == "regression"
    df["label"] = ["0.5", "1.5"] * 20
    df.to_csv(tmp_path / "c.csv", index=False)
    yaml = tmp_path / "c.yaml"
    yaml.write_text("path: c.csv\nlabels: ['0.5', '1.5']\n")
    assert resolve_task(str(yaml)).classes == ("0.5", "1.5")


@pytest.mark.parametrize(
    "key, kind, hint",
    [
        ("labels", "", ""),
        ("classes", "type: per_base\n", "; per-base classes: one character each, e.g. ['0', '1']"),
    ],
)
def test_a_label_list_error_names_the_key_as_written(tmp_path, key, kind, hint):
    frame(40).to_csv(tmp_path / "t.csv", index=False)
    yaml = tmp_path / "t.yaml"
    yaml.write_text(f"path: t.csv\n{kind}{key}: '01'\n")
    with pytest.raises(ValueError) as err:
        resolve_task(str(yaml))
    assert str(err.value) == (
        f"{yaml}: {key}: a list of class names in label order, or a mapping name: label (got "
        f"'01'{hint})"
    )


def test_an_id_column_gives_the_rows_ids_unless_it_repeats_one(tmp_path, caplog):
    """A table's ``id`` column names its rows in every split (and so in the predictions files);
    without one the ids are ``<file>:<data row>``, and so with one that repeats a value (it
    holds no row ids), which a warning says."""
    df = frame(40).assign(split=["train"] * 30 + ["val"] * 5 + ["test"] * 5)
    df.insert(0, "id", [f"seq{i}" for i in range(40)])
    df.to_csv(tmp_path / "t.csv", index=False)
    task = load_task(resolve_task(str(tmp_path / "t.csv")), seed=0)
    assert task.test.ids == [f"seq{i}" for i in range(35, 40)]
    df.drop(columns="id").to_csv(tmp_path / "plain.csv", index=False)
    plain = load_task(resolve_task(str(tmp_path / "plain.csv")), seed=0)
    assert plain.test.ids == [f"plain.csv:{i}" for i in range(36, 41)]
    df.loc[3, "id"] = "seq1"
    df.to_csv(tmp_path / "dup.csv", index=False)
    with caplog.at_level("WARNING", logger="findna.data.row_ids"):
        dup = load_task(resolve_task(str(tmp_path / "dup.csv")), seed=0)
    assert dup.test.ids == [f"dup.csv:{i}" for i in range(36, 41)]
    assert "dup.csv: its 'id' column repeats 'seq1' (data rows 2 and 4), so it does not name" in (
        caplog.text
    )
