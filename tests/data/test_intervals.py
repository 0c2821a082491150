"""Tasks given as genome intervals (issue 23): a BED (or a table of chrom, start, end) with a split
column, cut from a reference FASTA or prepared genome; flanks, strands and every named error."""

import gzip
import logging
from pathlib import Path

import numpy as np
import pytest

from findna.data.alphabet import reverse_complement
from findna.data.genome import prepare_genome
from findna.data.interval_windows import overlaps
from findna.data.intervals import IntervalRows, IntervalTaskSpec
from findna.data.tasks import load_task
from findna.data.user_layouts import UserTaskOptions
from findna.data.user_tasks import resolve_task

CHR1 = "ACGTTGCAAC" * 20  # 200 bp
CHR2 = "GGGCCCATAT" * 15  # 150 bp


def write_fasta(path: Path, records: dict[str, str], width: int = 60) -> Path:
    text = "".join(
        f">{name}\n" + "".join(s[i : i + width] + "\n" for i in range(0, len(s), width))
        for name, s in records.items()
    )
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def genome(tmp_path) -> Path:
    return write_fasta(tmp_path / "genome.fa", {"chr1": CHR1, "chr2": CHR2})


ROWS = [  # chrom, start, end, name, score, strand, split, label
    ("chr1", 0, 20, "a", 0, "+", "train", "pos"),
    ("chr1", 30, 50, "b", 0, "-", "train", "neg"),
    ("chr1", 60, 80, "c", 0, ".", "train", "pos"),
    ("chr1", 90, 110, "d", 0, "+", "train", "neg"),
    ("chr2", 0, 20, "e", 0, "+", "val", "pos"),
    ("chr2", 30, 50, "f", 0, "+", "dev", "neg"),
    ("chr2", 60, 80, "g", 0, "-", "test", "pos"),
    ("chr2", 100, 120, "h", 0, "+", "TEST", "neg"),
]


def write_bed(path: Path, rows=ROWS, header: str | None = None) -> Path:
    lines = ([header] if header else []) + ["\t".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def task_of(path: Path, **options):
    return resolve_task(str(path), UserTaskOptions(**options))


def error_of(path: Path, **options) -> str:
    with pytest.raises((ValueError, FileNotFoundError)) as err:
        task_of(path, **options)
    return str(err.value)


def test_a_bed_task_cuts_its_sequences_from_the_reference(tmp_path, genome):
    bed = write_bed(tmp_path / "regions.bed")
    spec = task_of(bed, reference=str(genome))
    assert isinstance(spec, IntervalTaskSpec) and spec.format == "coordinates"
    assert spec.protocol == "official" and spec.classes == ("neg", "pos")
    assert spec.genome == str(genome.resolve()) and spec.flank == 0
    task = load_task(spec)
    # BED coordinates: 0-based, end excluded, i.e. Python slices; '-' is reverse-complemented
    assert task.train.seqs == [
        CHR1[0:20],
        reverse_complement(CHR1[30:50]),
        CHR1[60:80],
        CHR1[90:110],
    ]
    assert task.train.labels.tolist() == [1, 0, 1, 0]
    assert task.val.seqs == [CHR2[0:20], CHR2[30:50]]  # 'val' and 'dev' are both val
    assert task.test.seqs == [reverse_complement(CHR2[60:80]), CHR2[100:120]]
    assert task.test.ids == ["regions.bed:7:chr2:60-80:-", "regions.bed:8:chr2:100-120"]


def test_flanks_widen_each_window_and_are_clipped_at_a_chromosome_end(tmp_path, genome, caplog):
    rows = [
        ("chr1", 5, 15, "a", 0, "+", "train", "x"),
        ("chr1", 100, 120, "b", 0, "-", "train", "y"),
        ("chr2", 40, 60, "c", 0, "+", "test", "x"),
        ("chr2", 140, 150, "d", 0, "+", "test", "y"),
        ("chr1", 150, 160, "e", 0, "+", "val", "x"),
    ]
    bed = write_bed(tmp_path / "r.bed", rows)
    with caplog.at_level(logging.WARNING):
        task = load_task(task_of(bed, reference=str(genome), flank=8))
    assert task.train.seqs[0] == CHR1[0:23]  # 8 before 5 is clipped at 0
    assert task.train.seqs[1] == reverse_complement(CHR1[92:128])
    assert task.test.seqs[1] == CHR2[132:150]  # clipped at the end of chr2 (150 bp)
    assert "2 interval(s) lie within the 8 bp flank of a chromosome end" in caplog.text
    assert "first: " + str(bed) + ", line 1, window chr1:0-23" in caplog.text


def test_a_table_with_a_header_and_no_val_carves_val_from_train(tmp_path, genome):
    lines = ["#chrom\tchromStart\tchromEnd\tfold\tclass"]
    lines += [f"chr1\t{10 * i}\t{10 * i + 10}\ttrain\t{'ab'[i % 2]}" for i in range(12)]
    lines += [f"chr2\t{10 * i}\t{10 * i + 10}\ttest\t{'ab'[i % 2]}" for i in range(6)]
    path = tmp_path / "r.bed"
    path.write_text("\n".join(lines) + "\n")
    spec = task_of(path, reference=str(genome), split_column="fold", label_column="class")
    assert spec.protocol == "val_from_train" and spec.label_column == "class"
    task = load_task(spec, seed=0)
    assert len(task.train) + len(task.val) == 12 and len(task.test) == 6
    assert task.test.seqs[0] == CHR2[0:10]  # no strand column: every row is +


def test_a_csv_of_intervals_is_found_by_its_header(tmp_path, genome):
    rows = ["chrom,start,end,strand,split,label"]
    rows += [f"chr1,{10 * i},{10 * i + 10},+,train,{i % 2}" for i in range(6)]
    rows += [f"chr2,{10 * i},{10 * i + 10},-,test,{i % 2}" for i in range(4)]
    path = tmp_path / "regions.csv"
    path.write_text("\n".join(rows) + "\n")
    spec = task_of(path, reference=str(genome))  # a csv without a sequence column
    assert spec.classes is None and spec.num_classes == 2
    task = load_task(spec)
    assert task.test.seqs[1] == reverse_complement(CHR2[10:20])
    assert task.test.labels.tolist() == [0, 1, 0, 1]
    assert error_of(path).startswith(f"{path}: genome intervals need the reference genome")


def test_gzip_fasta_prepared_genome_and_gzip_bed_give_the_same_sequences(tmp_path, genome):
    bed = write_bed(tmp_path / "regions.bed")
    gz = write_fasta(tmp_path / "genome.fa.gz", {"chr1": CHR1, "chr2": CHR2}, width=7)
    prepared = tmp_path / "prepared"
    prepare_genome([genome], prepared)
    bed_gz = tmp_path / "regions.bed.gz"
    bed_gz.write_bytes(gzip.compress(bed.read_bytes()))
    want = load_task(task_of(bed, reference=str(genome))).splits()
    for ref, intervals in ((gz, bed), (prepared, bed), (genome, bed_gz)):
        got = load_task(task_of(intervals, reference=str(ref))).splits()
        assert all(got[k].seqs == want[k].seqs for k in want)


def test_a_task_yaml_names_its_reference_and_flank(tmp_path, genome):
    folder = tmp_path / "task"
    folder.mkdir()
    write_bed(folder / "regions.bed")
    write_fasta(folder / "g.fa", {"chr1": CHR1, "chr2": CHR2})
    yaml = folder / "task.yaml"
    yaml.write_text("name: my_regions\npath: regions.bed\nreference: g.fa\nflank: 2\n")
    spec = resolve_task(str(yaml))
    assert spec.name == "my_regions" and spec.flank == 2
    assert spec.genome == str((folder / "g.fa").resolve())
    assert load_task(spec).train.seqs[3] == CHR1[88:112]
    # --reference on the command line wins over the YAML's
    assert resolve_task(str(yaml), UserTaskOptions(reference=str(genome))).genome == str(genome)
    yaml.write_text("path: regions.bed\nreference: g.fa\nflank: 2.5\n")
    with pytest.raises(ValueError, match=r"flank 2.5 must be a whole number of bases >= 0"):
        resolve_task(str(yaml))


def test_a_regression_task_of_intervals(tmp_path, genome):
    lines = ["chrom\tstart\tend\tstrand\tsplit\tactivity\tother"]
    lines += [f"chr1\t{10 * i}\t{10 * i + 10}\t+\ttrain\t{i * 0.5}\t{-i}" for i in range(8)]
    lines += [f"chr2\t{10 * i}\t{10 * i + 10}\t-\ttest\t{i}\t{i}" for i in range(4)]
    path = tmp_path / "r.tsv"
    path.write_text("\n".join(lines) + "\n")
    spec = task_of(path, reference=str(genome), target_columns=("other", "activity"))
    assert spec.task_type == "regression" and spec.targets == ("other", "activity")
    assert spec.metric == "pearson"
    task = load_task(spec)
    assert task.train.labels.dtype == np.float32 and task.train.labels.shape[1] == 2
    np.testing.assert_array_equal(task.test.labels, [[0, 0], [1, 1], [2, 2], [3, 3]])
    assert task.test.seqs[0] == reverse_complement(CHR2[0:10])
    text = path.read_text().replace("\t+\ttrain\t1.5\t", "\t+\ttrain\thigh\t")
    path.write_text(text)
    msg = error_of(path, reference=str(genome), target_columns=("activity",))
    assert msg.startswith(f"{path}, data row 4 (1-based, header not counted), column 'activity'")
    assert "is not a number" in msg


def row_error(tmp_path, genome, row, **options) -> str:
    bed = write_bed(tmp_path / "bad.bed", [*ROWS[:-1], row])
    return error_of(bed, reference=str(genome), **options)


def test_an_unknown_chromosome_is_named_with_the_references_names(tmp_path, genome):
    msg = row_error(tmp_path, genome, ("chrX", 0, 10, "h", 0, "+", "test", "neg"))
    assert msg == (
        f"{tmp_path / 'bad.bed'}, line 8: chromosome 'chrX' is not in the reference {genome} "
        "(its records: chr1, chr2). Use the reference the intervals were made on, or fix the row."
    )
    msg = row_error(tmp_path, genome, ("1", 0, 10, "h", 0, "+", "test", "neg"))
    assert "chromosome '1' is not in the reference" in msg
    assert "It has 'chr1': the intervals and the reference name chromosomes differently" in msg


def test_bad_rows_are_named(tmp_path, genome):
    bed = tmp_path / "bad.bed"
    cases = [
        (("chr2", 140, 151, "h", 0, "+", "test", "neg"),
         "interval chr2:140-151 ends past the end of chr2 (150 bp in"),
        (("chr2", 50, 50, "h", 0, "+", "test", "neg"),
         "start 50 >= end 50: the interval is empty. Coordinates are BED's, 0-based"),
        (("chr2", "1e3", 50, "h", 0, "+", "test", "neg"), "start '1e3' is not an integer"),
        (("chr2", 5, 50.5, "h", 0, "+", "test", "neg"), "end '50.5' is not an integer"),
        (("chr2", -5, 50, "h", 0, "+", "test", "neg"), "start -5 is negative"),
        (("chr2", 100, 120, "h", 0, "plus", "test", "neg"), "strand 'plus' is not +, - or ."),
        (("chr2", 100, 120, "h", 0, "+", "holdout", "neg"),
         "split 'holdout' in column 'split' is not a split name"),
        (("chr2", 100, 120, "h", 0, "+", "test", "other"),
         "label 'other' of the test split does not occur in the training split"),
    ]  # fmt: skip
    for row, text in cases:
        msg = row_error(tmp_path, genome, row)
        assert msg.startswith(f"{bed}, line 8") or msg.startswith(f"{bed}, data row 8"), msg
        assert text in msg, msg


def test_missing_columns_and_references_are_named(tmp_path, genome):
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t0\t10\tx\t0\t+\ttrain\n")
    assert error_of(bed, reference=str(genome)) == (
        f"{bed}: 7 columns and no header line; a BED task is BED6 + split + label without a "
        "header (chrom, start, end, name, score, strand, split, label: 8 tab-separated columns), "
        "or a table with a header line naming chrom, start, end, optionally strand, the split "
        "column and the label (or target) columns. Add the missing columns, or a header line "
        "naming them."
    )
    bed.write_text("chrom\tbegin\tend\tsplit\tlabel\nchr1\t0\t10\ttrain\ta\n")
    msg = error_of(bed, reference=str(genome))
    assert msg.startswith(f"{bed}: no chrom, start and end column; the columns are ['chrom', ")
    bed.write_text("chrom\tstart\tend\tlabel\nchr1\t0\t10\ta\n")
    assert error_of(bed, reference=str(genome)).startswith(f"{bed}: no 'split' column;")
    write_bed(bed)
    assert error_of(bed) == (
        f"{bed}: genome intervals need the reference genome they were made on: pass --reference "
        "genome.fa (a FASTA, plain or gzip, or a `findna prepare genome` folder), or reference: "
        "genome.fa in a task YAML."
    )
    assert error_of(bed, reference=str(tmp_path / "nope.fa")).startswith(
        f"reference {tmp_path / 'nope.fa'} does not exist. Give a FASTA file"
    )
    only_train = write_bed(tmp_path / "t.bed", [r[:6] + ("train", r[7]) for r in ROWS])
    assert "would split the intervals at random" in error_of(only_train, reference=str(genome))


def test_overlaps_across_splits_are_an_error_unless_allowed(tmp_path, genome, caplog):
    rows = [*ROWS[:-1], ("chr1", 95, 105, "h", 0, "+", "test", "neg")]  # overlaps row 4
    bed = write_bed(tmp_path / "o.bed", rows)
    msg = error_of(bed, reference=str(genome))
    assert msg == (
        f"{bed}: 1 pair(s) of intervals in different splits overlap (windows with flanks), e.g. "
        f"{bed}, line 4 chr1:90-110 (train) and line 8 chr1:95-105 (test): a model would be "
        "scored on bases it was trained on. Split by chromosome or region so that splits do "
        "not overlap, or set allow_overlap: true in a task YAML to go on with a warning."
    )
    # flanks count: rows 4 (90-110) and 1 of val (chr2 0-20) do not overlap, until widened
    flanked = error_of(write_bed(tmp_path / "f.bed"), reference=str(genome), flank=6)
    assert "1 pair(s) of intervals in different splits overlap" in flanked
    assert "chr2:14-36 (val) and line 6 chr2:24-56 (val)" not in flanked  # same split: never
    with caplog.at_level(logging.WARNING):
        task = load_task(task_of(bed, reference=str(genome), allow_overlap=True))
    assert len(task.test) == 2 and "1 pair(s) of intervals" in caplog.text
    # said once, though resolving and loading the task both check the windows
    assert caplog.text.count("kept (allow_overlap)") == 1


def test_overlap_count_matches_every_pair(tmp_path):
    rng = np.random.default_rng(3)
    n = 300
    starts = rng.integers(0, 2000, n)
    ends = starts + rng.integers(1, 60, n)
    chroms = list(rng.choice(["a", "b"], n))
    roles = list(rng.choice(["train", "dev", "test"], n))
    rows = IntervalRows(Path("x"), None, chroms, starts, ends, np.zeros(n, bool), roles, True)
    count, (i, j) = overlaps(rows, starts, ends)
    brute = sum(
        chroms[a] == chroms[b] and roles[a] != roles[b] and starts[a] < ends[b]
        and starts[b] < ends[a]
        for a in range(n) for b in range(a + 1, n)
    )  # fmt: skip
    assert count == brute > 0
    assert roles[i] != roles[j] and chroms[i] == chroms[j]
    assert starts[i] < ends[j] and starts[j] < ends[i]


def test_interval_options_are_refused_for_other_layouts(tmp_path, genome):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "train.csv").write_text("sequence,label\nACGT,a\nACGA,b\n")
    msg = error_of(folder, reference=str(genome))
    assert msg.startswith(f"{folder}: ['reference'] are for a task given as genome intervals")
    table = tmp_path / "t.csv"
    table.write_text("sequence,label,split\nACGT,a,train\n")
    msg = error_of(table, reference=str(genome))
    assert msg.startswith(f"{table}: ['reference'] are for a task given as genome intervals")
    assert msg.endswith("but this is a table of sequences. Drop them, or give the interval file.")
    assert "['flank']" in error_of(table, flank=10)
    headless = tmp_path / "h.csv"  # no sequence column: read as intervals, which it lacks
    headless.write_text("name,label,split\nx,a,train\n")
    assert "no chrom, start and end column" in error_of(headless, reference=str(genome))
