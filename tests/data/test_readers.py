import gzip
import logging

import numpy as np
import pytest

from findna.data import layouts as lay
from findna.data import readers as rd
from findna.data.alphabet import reverse_complement
from findna.data.kmers import decode_kmers, detect_kmers


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---- tables -------------------------------------------------------------------------------------


def test_gue_csv_reads_sequences_int_labels_and_row_ids(tmp_path):
    f = write(tmp_path / "dev.csv", "sequence,label\nACGT,1\nacgn,0\nTTTT,1\n")
    out = rd.read_table(f)
    assert out.seqs == ["ACGT", "acgn", "TTTT"]
    assert out.labels.dtype == np.int64 and out.labels.tolist() == [1, 0, 1]
    assert out.ids == ["dev.csv:1", "dev.csv:2", "dev.csv:3"]
    assert out.lengths().tolist() == [4, 4, 4]


def test_gb_csv_and_tsv_use_seq_column_and_keep_na_sequence(tmp_path):
    csv = rd.read_table(write(tmp_path / "t.csv", "seq,label\nNA,0\nAC,1\n"))
    tsv = rd.read_table(write(tmp_path / "t.tsv", "seq\tlabel\nNA\t0\nAC\t1\n"))
    for out in (csv, tsv):
        assert out.seqs == ["NA", "AC"]  # "NA" is a DNA sequence, not a missing value
        assert out.labels.tolist() == [0, 1]


def test_gzip_csv(tmp_path):
    f = tmp_path / "t.csv.gz"
    with gzip.open(f, "wt") as fh:
        fh.write("sequence,label\nACG,1\n")
    assert rd.read_table(f).seqs == ["ACG"]


def test_multitask_tsv_selects_task_and_uses_name_ids(tmp_path):
    f = write(
        tmp_path / "nt.tsv",
        "sequence\tname\tlabel\ttask\nAAAA\tchr1:0-4|0\t0\tpromoter\n"
        "CCCC\tchr1:4-8|1\t1\tenhancers\nGGGG\tchr2:0-4|1\t1\tpromoter\n",
    )
    out = rd.read_table(f, task="promoter", id_column="name")
    assert out.seqs == ["AAAA", "GGGG"]
    assert out.ids == ["chr1:0-4|0", "chr2:0-4|1"]
    with pytest.raises(
        ValueError, match=r"no rows with task='splice'.*\['enhancers', 'promoter'\]"
    ):
        rd.read_table(f, task="splice")


def test_error_rows_count_data_rows_after_task_filter(tmp_path):
    f = write(
        tmp_path / "nt.tsv",
        "sequence\tlabel\ttask\nAAAA\t0\ta\nCCCC\t1\tb\nGG-G\t1\tb\n",
    )
    with pytest.raises(ValueError, match=r"nt.tsv, data row 3 \(1-based"):
        rd.read_table(f, task="b")


# ---- DNABERT k-mers -----------------------------------------------------------------------------


def test_decode_kmers_hand_computed():
    assert decode_kmers("ACGTAC CGTACG GTACGT") == "ACGTACGT"
    assert decode_kmers("ACG") == "ACG"


def test_kmer_file_is_detected_and_decoded(tmp_path):
    f = write(tmp_path / "dev_3mer.tsv", "sequence\tlabel\nACG CGT GTT\t1\nTTA TAC\t0\n")
    out = rd.read_table(f)
    assert out.seqs == ["ACGTT", "TTAC"]
    assert out.labels.tolist() == [1, 0]


def test_kmer_overlap_error_names_row_and_kmers(tmp_path):
    f = write(tmp_path / "k.tsv", "sequence\tlabel\nACG CGT GTT\t1\nTTA TAC ACC CCA GGG\t0\n")
    with pytest.raises(ValueError) as err:
        rd.read_table(f)
    msg = str(err.value)
    assert "k.tsv, data row 2" in msg and "k-mers 4 and 5" in msg and "'GGG'" in msg


def test_kmer_length_must_match_across_rows(tmp_path):
    f = write(tmp_path / "k.tsv", "sequence\tlabel\nACG CGT\t1\nACGT CGTA\t0\n")
    with pytest.raises(ValueError, match=r"data row 2.*k-mer 1 'ACGT' has length 4, expected 3"):
        rd.read_table(f)


def test_stray_trailing_space_keeps_plain_sequences(tmp_path):
    f = write(tmp_path / "plain.csv", "sequence,label\nACGT ,1\n ACGTT,0\nAC,1\n")
    out = rd.read_table(f)
    assert out.seqs == ["ACGT", "ACGTT", "AC"]


def test_interior_space_in_plain_file_names_the_row(tmp_path):
    f = write(tmp_path / "plain.csv", "sequence,label\nACGT,1\nAC GT,0\nACGTT,1\n")
    with pytest.raises(ValueError) as err:
        rd.read_table(f)
    msg = str(err.value)
    assert msg.startswith(f"{f}, data row 2 ")
    assert "sequence contains a space ('AC GT')" in msg
    assert "data row 1 (1-based, header not counted) holds a single token" in msg
    assert "Remove the space(s)" in msg


def test_detect_kmers_needs_two_tokens_in_every_non_empty_row():
    where = "row {}".format
    assert detect_kmers(["ACG CGT", "", "TTA TAC"], where) is True
    assert detect_kmers(["ACGT", "AC"], where) is False
    with pytest.raises(ValueError, match=r"row 1: sequence contains a space.*row 0 holds a single"):
        detect_kmers(["ACG", "ACG CGT"], where)


# ---- bad input ----------------------------------------------------------------------------------


def test_missing_sequence_column_lists_header(tmp_path):
    f = write(tmp_path / "t.csv", "dna,label\nACGT,1\n")
    with pytest.raises(ValueError, match=r"t.csv: no sequence column.*\['dna', 'label'\]"):
        rd.read_table(f)


def test_missing_label_column_lists_header(tmp_path):
    f = write(tmp_path / "t.csv", "sequence,class\nACGT,1\n")
    with pytest.raises(ValueError, match=r"no label column 'label'.*\['sequence', 'class'\]"):
        rd.read_table(f)


@pytest.mark.parametrize("label", ["x", "1.5", ""])
def test_non_integer_label_names_file_and_row(tmp_path, label):
    f = write(tmp_path / "t.csv", f"sequence,label\nACGT,0\nACGT,{label}\n")
    with pytest.raises(ValueError, match=r"t.csv, data row 2 .*is not an integer"):
        rd.read_table(f)


def test_out_of_range_and_negative_labels(tmp_path):
    f = write(tmp_path / "t.csv", "sequence,label\nACGT,0\nACGT,2\n")
    with pytest.raises(ValueError, match=r"data row 2 .*label 2 is out of range \(allowed 0..1\)"):
        rd.read_table(f, num_classes=2)
    assert rd.read_table(f).labels.tolist() == [0, 2]  # no num_classes: any label >= 0
    g = write(tmp_path / "n.csv", "sequence,label\nACGT,-1\n")
    with pytest.raises(ValueError, match="data row 1 .*label -1 is out of range"):
        rd.read_table(g)


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(ValueError, match=r"e.csv: file is empty"):
        rd.read_table(write(tmp_path / "e.csv", ""))
    with pytest.raises(ValueError, match=r"h.csv: no data rows"):
        rd.read_table(write(tmp_path / "h.csv", "sequence,label\n"))


def test_invalid_character_names_file_row_and_position(tmp_path):
    f = write(tmp_path / "t.csv", "sequence,label\nACGT,0\nACXT,1\n")
    with pytest.raises(ValueError) as err:
        rd.read_table(f)
    msg = str(err.value)
    assert "t.csv, data row 2" in msg and "'X'" in msg and "position 3" in msg


def test_on_invalid_n_rewrites_only_bad_rows(tmp_path, caplog):
    f = write(tmp_path / "t.csv", "sequence,label\nacgt,0\nAC*T,1\n")
    with caplog.at_level(logging.WARNING):
        out = rd.read_table(f, on_invalid="n")
    assert out.seqs == ["acgt", "ACNT"]
    assert "data row 2" in caplog.text


def test_empty_sequence_names_row(tmp_path):
    f = write(tmp_path / "t.csv", "sequence,label\nACGT,0\n,1\n")
    with pytest.raises(ValueError, match=r"t.csv, data row 2 .*empty sequence"):
        rd.read_table(f)


def test_a_row_that_mixes_delimiters_is_named_not_an_empty_sequence(tmp_path):
    """Issue 22 WEAK: `x2<TAB>ACGT` in a CSV was "empty sequence"; the row holds the other
    delimiter and so lacks fields. A field of another column may hold it when nothing is lost."""
    f = write(tmp_path / "t.csv", "id,sequence,label\nx1,ACGT,0\nx2\tACGT\t1\n")
    expected = (
        r"t\.csv, data row 2 \(1-based, header not counted\): the row holds a tab but the file is "
        r"comma-separated: the rows mix delimiters \(its 'id' field holds a tab, and its "
        r"'sequence' field is empty as a result\)\. Use one delimiter throughout"
    )
    with pytest.raises(ValueError, match=expected):
        rd.read_table(f, id_column="id")
    g = write(tmp_path / "t.tsv", "sequence\tlabel\nACGT\t0\nACGT,1\n")
    with pytest.raises(ValueError, match=r"data row 2 .*holds a comma but the file is tab-sep"):
        rd.read_table(g)
    h = write(tmp_path / "n.tsv", "sequence\tlabel\tnote\nACGT\t0\ta, b\nACGT\t1\t\n")
    assert rd.read_table(h).seqs == ["ACGT", "ACGT"]  # a comma in a note loses no field


def test_malformed_row_is_a_clear_error(tmp_path):
    f = write(tmp_path / "t.csv", "sequence,label\nACGT,0\nACGT,1,7\n")
    with pytest.raises(ValueError, match=r"t.csv: cannot be parsed as CSV"):
        rd.read_table(f)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        rd.read_table(tmp_path / "nope.csv")


# ---- GenomicBenchmarks folders ------------------------------------------------------------------


def test_class_folders_sorted_names_give_labels(tmp_path):
    write(tmp_path / "train/positive/7.txt", "ACGT\n")
    write(tmp_path / "train/negative/2.txt", "GG\nTT\n")  # lines are joined
    write(tmp_path / "train/negative/1.txt", "CCCC")
    out = lay.read_class_folders(tmp_path / "train")
    assert out.ids == ["negative/1", "negative/2", "positive/7"]
    assert out.seqs == ["CCCC", "GGTT", "ACGT"]
    assert out.labels.tolist() == [0, 0, 1]
    swapped = lay.read_class_folders(tmp_path / "train", classes=("positive", "negative"))
    assert swapped.labels.tolist() == [1, 1, 0]


def test_class_folders_integer_names_and_errors(tmp_path):
    write(tmp_path / "d/0/a.txt", "AC")
    write(tmp_path / "d/2/b.txt", "GT")
    assert lay.read_class_folders(tmp_path / "d").labels.tolist() == [0, 2]
    with pytest.raises(ValueError, match="num_classes=2"):
        lay.read_class_folders(tmp_path / "d", num_classes=2)
    write(tmp_path / "bad/x/c.txt", "A!C")
    with pytest.raises(ValueError, match=r"bad/x/c.txt.*'!'"):
        lay.read_class_folders(tmp_path / "bad")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class sub-folders"):
        lay.read_class_folders(tmp_path / "empty")


# ---- coordinates + genome -----------------------------------------------------------------------

CHR1 = "AAAACCCCGGGGTTTTACGT"
CHR2 = "ggccaattNN"


def genome_files(tmp_path):
    text = f">chr1 test\n{CHR1[:12]}\n{CHR1[12:]}\n>chr2\n{CHR2}\n"
    plain = write(tmp_path / "g" / "genome.fa", text)
    gz = tmp_path / "g" / "genome.fa.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(text)
    return plain, gz


@pytest.mark.parametrize("which", [0, 1])
def test_coordinates_slice_zero_based_and_reverse_complement_minus(tmp_path, which):
    genome = genome_files(tmp_path)[which]
    f = write(
        tmp_path / "pos.csv",
        "id,region,start,end,strand\na,chr1,0,4,+\nb,chr1,4,10,-\nc,chr2,2,8,-\n",
    )
    out = lay.read_coordinates(f, genome, label=1)
    assert out.seqs == ["AAAA", reverse_complement("CCCCGG"), reverse_complement("ccaatt")]
    assert out.seqs[1] == "CCGGGG"
    assert out.labels.tolist() == [1, 1, 1]
    assert out.ids == ["pos.csv:a", "pos.csv:b", "pos.csv:c"]


def test_coordinate_errors_name_row(tmp_path):
    genome = genome_files(tmp_path)[1]
    f = write(tmp_path / "c.csv", "id,region,start,end,strand\na,chr1,0,4,+\nb,chr9,0,4,+\n")
    with pytest.raises(ValueError, match=r"c.csv, data row 2 .*region 'chr9' is not in the genome"):
        lay.read_coordinates(f, genome, label=0)
    f = write(tmp_path / "o.csv", "id,region,start,end,strand\na,chr1,18,21,+\n")
    with pytest.raises(ValueError, match=r"data row 1 .*chr1:18-21 is outside 0..20"):
        lay.read_coordinates(f, genome, label=0)
    f = write(tmp_path / "s.csv", "id,region,start,end,strand\na,chr1,0,2,*\n")
    with pytest.raises(ValueError, match="strand '\\*' must be"):
        lay.read_coordinates(f, genome, label=0)
    f = write(tmp_path / "m.csv", "id,chrom,start,end\na,chr1,0,2\n")
    with pytest.raises(ValueError, match=r"no region column.*\['id', 'chrom', 'start', 'end'\]"):
        lay.read_coordinates(f, genome, label=0)


@pytest.mark.parametrize(
    "row, message",
    [
        ("a,chr1,0.5,4", r"data row 1 .*: start '0.5' is not an integer\. Coordinates are whole"),
        ("a,chr1,0,x", r"data row 1 .*: end 'x' is not an integer"),
        ("a,chr1,-2,4", r"data row 1 .*: start -2 is negative\. Coordinates are 0-based"),
        ("a,chr1,4,4", r"data row 1 .*: end 4 <= start 4\. .*end must be greater than start"),
    ],
)
def test_coordinate_number_errors_are_worded_as_coordinates(tmp_path, row, message):
    genome = genome_files(tmp_path)[0]
    f = write(tmp_path / "c.csv", f"id,region,start,end\n{row}\n")
    with pytest.raises(ValueError, match=message) as err:
        lay.read_coordinates(f, genome, label=0)
    assert "label" not in str(err.value)


def test_coordinate_folder_one_file_per_class(tmp_path):
    genome = genome_files(tmp_path)[0]
    with gzip.open(tmp_path / "positive.csv.gz", "wt") as fh:
        fh.write("id,region,start,end,strand\np1,chr1,16,20,+\n")
    write(tmp_path / "negative.csv", "id,region,start,end,strand\nn1,chr2,0,2,+\n")
    out = lay.read_coordinate_folder(tmp_path, genome)
    assert out.seqs == ["gg", "ACGT"]
    assert out.labels.tolist() == [0, 1]


# ---- FASTA per class (MTcDNA) -------------------------------------------------------------------


def test_fasta_classes_filter_truncate_and_n_pad(tmp_path):
    turtle = write(tmp_path / "turtle.fa", ">t1\n" + "a" * 10 + "\n>t2\n" + "ac" * 15 + "\n")
    mouse = tmp_path / "mouse.fa.gz"
    with gzip.open(mouse, "wt") as fh:
        fh.write(">m1\n" + "G" * 25 + "T" * 25 + "\n>m2\n" + "C" * 20 + "\n")
    out = lay.read_fasta_classes({1: [mouse], 0: [turtle]}, max_len=40, min_length=20)
    # t1 (10 bp) and m2 (20 bp, not longer than 20) are dropped.
    assert out.ids == ["turtle.fa:t2", "mouse.fa.gz:m1"]
    assert out.seqs == ["AC" * 15 + "N" * 10, "G" * 25 + "T" * 15]
    assert out.labels.tolist() == [0, 1]
    with pytest.raises(ValueError, match="no FASTA record longer than min_length=100"):
        lay.read_fasta_classes({0: [turtle]}, max_len=40, min_length=100)


def test_labeled_sequences_subset_concat_and_length_check():
    a = rd.LabeledSequences(["A", "CC", "GGG"], [0, 1, 0], ["x", "y", "z"])
    b = a.subset([2, 0])
    assert b.seqs == ["GGG", "A"] and b.labels.tolist() == [0, 0] and b.ids == ["z", "x"]
    c = rd.LabeledSequences.concat([a, b])
    assert len(c) == 5 and c.ids[-1] == "x"
    with pytest.raises(ValueError, match="differ in length"):
        rd.LabeledSequences(["A"], [0, 1], ["x"])
