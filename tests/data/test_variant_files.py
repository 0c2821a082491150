"""Variant lists (VCF, TSV/CSV) and reference genome windows."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from findna.data.alphabet import decode
from findna.data.genome import prepare_genome
from findna.data.reference import ReferenceGenome
from findna.data.variants import VCF_COLUMNS, VariantFile, non_snv_reason

VCF = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr1>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
    "chr1\t3\trs1\tg\ta\t50\tPASS\tDP=3\tGT\t0/1\n"
    "chr1\t7\tmulti\tC\tA,t,<DEL>\t.\t.\t.\tGT\t1/2\n"
    "chr2\t1\tdel\tAC\tA\t.\t.\t.\tGT\t0/1\n"
)


def _write(path: Path, text: str) -> Path:
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["calls.vcf", "calls.vcf.gz"])
def test_vcf_splits_multiallelic_records_and_keeps_the_fixed_columns(tmp_path, name):
    variants = VariantFile(_write(tmp_path / name, VCF))
    assert variants.kind == "vcf" and variants.columns == VCF_COLUMNS and variants.pos_column == 1
    got = list(variants)
    assert [(v.chrom, v.pos, v.start, v.ref, v.alt) for v in got] == [
        ("chr1", 3, 2, "G", "A"),
        ("chr1", 7, 6, "C", "A"),
        ("chr1", 7, 6, "C", "T"),
        ("chr1", 7, 6, "C", "<DEL>"),
        ("chr2", 1, 0, "AC", "A"),
    ]
    # The fixed columns as written (sample columns dropped), ALT replaced by the one allele.
    assert got[0].values == ("chr1", "3", "rs1", "g", "a", "50", "PASS", "DP=3")  # as written
    assert [v.values[4] for v in got[1:4]] == ["A", "t", "<DEL>"]  # one allele per row
    assert [v.where for v in got] == [f"{tmp_path / name} line {n}" for n in (4, 5, 5, 5, 6)]
    assert [v.non_snv is None for v in got] == [True, True, True, False, False]
    assert "symbolic" in got[3].non_snv and "indel" in got[4].non_snv
    assert list(variants) == got  # iterating reads the file again


def test_vcf_without_a_header_and_with_only_five_columns(tmp_path):
    got = list(VariantFile(_write(tmp_path / "x.vcf", "X\t10\t.\tA\tG\n")))
    assert got[0].values == ("X", "10", ".", "A", "G", ".", ".", ".")


def test_non_snv_reasons():
    assert non_snv_reason("A", "G") is None
    assert "equals REF" in non_snv_reason("A", "A")
    assert "only A, C, G and T" in non_snv_reason("N", "A")
    assert "only A, C, G and T" in non_snv_reason("A", "N")
    assert "missing" in non_snv_reason("A", ".")
    assert "breakend" in non_snv_reason("A", "A[chr2:5[")
    assert "indel or MNV" in non_snv_reason("AT", "GC")


@pytest.mark.parametrize(
    "line, message",
    [
        ("chr1\t3\trs1\tG", "line 2: 4 tab-separated field(s), a VCF data line needs at least 5"),
        ("chr1 3 rs1 G A", "line 2: 1 tab-separated field(s)"),
        (
            "chr1\tx3\trs1\tG\tA",
            "line 2: POS 'x3' is not a positive integer; positions are 1-based",
        ),
        ("chr1\t0\trs1\tG\tA", "line 2: POS '0' is not a positive integer"),
        ("chr1\t3\trs1\tG1\tA", "line 2: REF 'G1' must be one or more bases A, C, G, T or N"),
        ("chr1\t3\trs1\tG\tA,,T", "line 2: empty allele in ALT 'A,,T'"),
        ("\t3\trs1\tG\tA", "line 2: empty CHROM"),
    ],
)
def test_malformed_vcf_lines_name_the_file_and_line(tmp_path, line, message):
    path = _write(tmp_path / "bad.vcf", f"#CHROM\tPOS\tID\tREF\tALT\n{line}\n")
    with pytest.raises(ValueError) as err:
        list(VariantFile(path))
    assert str(err.value).startswith(f"{path} {message}")


def test_vcf_header_line_must_name_the_fixed_columns(tmp_path):
    path = _write(tmp_path / "bad.vcf", "##x\n#CHROM POS ID REF ALT\nchr1\t3\t.\tG\tA\n")
    with pytest.raises(ValueError, match=r"bad.vcf line 2: the header line must start with #CHROM"):
        VariantFile(path)


def test_table_keeps_its_columns_in_any_order_and_case(tmp_path):
    text = 'id,Alt,pos,ref,CHROM,score\nv1,T,12,a,chr1,0.5\nv2,"C,G",3,A,chr2,\n'
    variants = VariantFile(_write(tmp_path / "v.csv", text))
    assert variants.columns == ("id", "Alt", "pos", "ref", "CHROM", "score")
    assert variants.pos_column == 2
    got = list(variants)
    assert [(v.chrom, v.pos, v.ref, v.alt) for v in got] == [
        ("chr1", 12, "A", "T"),
        ("chr2", 3, "A", "C"),
        ("chr2", 3, "A", "G"),
    ]
    assert got[1].values == ("v2", "C", "3", "A", "chr2", "")
    assert got[2].where == f"{tmp_path / 'v.csv'} line 3"


def test_gzipped_tsv(tmp_path):
    path = _write(tmp_path / "v.tsv.gz", "chrom\tpos\tref\talt\nchr1\t5\tC\tG\n")
    assert [(v.chrom, v.pos) for v in VariantFile(path)] == [("chr1", 5)]


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "chrom\tposition\tref\talt\n",
            "line 1: missing column(s) pos; the header has 'chrom', "
            "'position', 'ref', 'alt'. A variant table needs the tab-separated columns chrom, pos, "
            "ref, alt (pos 1-based)",
        ),
        (
            "chrom,pos,ref,alt\n",
            "line 1: missing column(s) chrom, pos, ref, alt; the header has "
            "'chrom,pos,ref,alt'. A variant table needs the tab-separated columns chrom, pos, ref, "
            "alt (pos 1-based); this header is not tab-separated: name the file .csv",
        ),
        ("chrom\tpos\tref\talt\nchr1\t5\tC\n", "line 2: 3 field(s), the header has 4"),
        ("chrom\tpos\tref\talt\n\nchr1\t-5\tC\tG\n", "line 3: pos '-5' is not a positive integer"),
        ("chrom\tpos\tref\tALT\tpos\n", "line 1: column 'pos' appears twice"),
        ("", "empty file"),
    ],
)
def test_bad_tables_name_the_file_line_and_fix(tmp_path, text, message):
    path = _write(tmp_path / "v.tsv", text)
    with pytest.raises(ValueError) as err:
        list(VariantFile(path))
    assert message in str(err.value) and str(path) in str(err.value)


def test_unknown_suffix_bcf_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match=r"unknown variant file type '\.bed'"):
        VariantFile(_write(tmp_path / "v.bed", "x"))
    with pytest.raises(ValueError, match="BCF is binary"):
        VariantFile(_write(tmp_path / "v.bcf", "x"))
    with pytest.raises(FileNotFoundError, match="variant file .*nope.vcf does not exist"):
        VariantFile(tmp_path / "nope.vcf")


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = _write(tmp_path / "v.vcf.gz", VCF * 50)
    path.write_bytes(path.read_bytes()[:60])
    with pytest.raises(ValueError, match="gzip stream ends early"):
        list(VariantFile(path))


# --- reference genome -----------------------------------------------------------------------

FASTA = ">chr1 first\nACGTACGTAC\nGTA\n>chr2\nttgcaRN\n"


@pytest.fixture(params=["plain", "gzip", "prepared"])
def reference(request, tmp_path):
    if request.param == "prepared":
        fa = _write(tmp_path / "g.fa", FASTA)
        prepare_genome([fa], tmp_path / "prepared")
        return ReferenceGenome(tmp_path / "prepared")
    name = "g.fa" if request.param == "plain" else "g.fa.gz"
    return ReferenceGenome(_write(tmp_path / name, FASTA))


def test_reference_windows_pad_with_n_past_the_ends(reference):
    assert reference.names == ("chr1", "chr2")
    assert reference.length("chr1") == 13 and reference.length("chrX") is None
    assert decode(reference.fetch("chr1", 2, 6)) == "GTAC"
    assert decode(reference.fetch("chr1", -3, 2)) == "NNNAC"
    assert decode(reference.fetch("chr1", 11, 16)) == "TANNN"
    assert decode(reference.fetch("chr2", 0, 7)) == "TTGCANN"  # lower case and IUPAC R
    assert decode(reference.fetch("chr2", 20, 22)) == "NN"
    assert reference.fetch("chr1", 0, 3).dtype == np.uint8


def test_unknown_record_hints_at_the_chr_prefix(tmp_path):
    ref = ReferenceGenome(_write(tmp_path / "g.fa", FASTA))
    assert "the genome calls it 'chr1'" in ref.unknown_record_hint("1")
    assert "records are chr1, chr2" in ref.unknown_record_hint("chrM")


# --- Parquet input ----------------------------------------------------------------------------


def test_parquet_reads_as_a_table(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(
        {
            "ID": ["a", "b", None],
            "Chrom": ["chr1", "chr2", "chr1"],
            "pos": [12.0, 3.0, 7.0],  # a float column, as pandas writes one with gaps
            "REF": ["a", "A", "C"],
            "alt": ["T", "C,G", "A"],
            "label": [1, 0, 1],
        }
    )
    path = tmp_path / "v.parquet"
    frame.to_parquet(path)
    variants = VariantFile(path)
    assert variants.kind == "parquet" and variants.pos_column == 2
    assert variants.columns == ("ID", "Chrom", "pos", "REF", "alt", "label")
    got = list(variants)
    assert [(v.chrom, v.pos, v.ref, v.alt) for v in got] == [
        ("chr1", 12, "A", "T"),
        ("chr2", 3, "A", "C"),
        ("chr2", 3, "A", "G"),
        ("chr1", 7, "C", "A"),
    ]
    assert got[1].values == ("b", "chr2", "3", "A", "C", "0")
    assert got[3].values[0] == ""  # a missing value reads as empty
    assert [v.where for v in got] == [f"{path} row {n}" for n in (1, 2, 2, 3)]
    assert (got[2].allele, got[2].record_alt) == (1, "C,G")


@pytest.mark.parametrize(
    "frame, message",
    [
        ({"chrom": ["chr1"], "position": [3], "ref": ["A"], "alt": ["G"]},
         "(Parquet schema): missing column(s) pos; the header has 'chrom', 'position'"),
        ({"chrom": ["chr1", "chr1"], "pos": [3, -1], "ref": ["A", "A"], "alt": ["G", "G"]},
         "row 2: pos '-1' is not a positive integer"),
        ({"chrom": ["chr1"], "pos": [float("nan")], "ref": ["A"], "alt": ["G"]},
         "row 1: pos '' is not a positive integer"),
        ({"chrom": ["chr1"], "pos": [3], "ref": ["X"], "alt": ["G"]},
         "row 1: ref 'X' must be one or more bases"),
    ],
)  # fmt: skip
def test_bad_parquet_names_the_file_row_and_column(tmp_path, frame, message):
    import pandas as pd

    path = tmp_path / "v.parquet"
    pd.DataFrame(frame).to_parquet(path)
    with pytest.raises(ValueError) as err:
        list(VariantFile(path))
    assert str(err.value).startswith(f"{path} {message}")


def test_a_file_that_is_not_parquet(tmp_path):
    with pytest.raises(ValueError, match="v.parquet: not a readable Parquet file"):
        VariantFile(_write(tmp_path / "v.parquet", "chrom,pos\n"))


# --- a stale FASTA index --------------------------------------------------------------------


def _stale_index(tmp_path):
    """A FASTA indexed at 4 bases per line, then rewritten at 5 with the index made newer (as
    `cp -p` of an older FASTA over the indexed one leaves it)."""
    import os

    import pyfaidx

    fa = _write(tmp_path / "g.fa", ">chr1\nACGT\nACGT\nTTTT\nGG\n>chr2\nCCCC\n")
    pyfaidx.Fasta(str(fa)).close()
    fa.write_text(">chr1\nACGTA\nCGTTT\nTTGG\n>chr2\nCCCC\n")
    later = fa.stat().st_mtime + 10
    os.utime(fa.with_name("g.fa.fai"), (later, later))
    return fa


def test_a_stale_index_is_rebuilt_with_a_warning(tmp_path, caplog):
    from findna.data.reference import stale_index

    fa = _stale_index(tmp_path)
    assert "its lines are not 4 bases long" in stale_index(fa)
    with caplog.at_level("WARNING"):
        ref = ReferenceGenome(fa)
    assert f"{fa}.fai does not match {fa}" in caplog.text and "rebuilding it" in caplog.text
    assert decode(ref.fetch("chr1", 0, 14)) == "ACGTACGTTTTTGG"
    assert stale_index(fa) is None  # pyfaidx wrote it again


def test_an_index_older_than_its_fasta_is_stale(tmp_path):
    import os

    from findna.data.reference import stale_index

    fa = _write(tmp_path / "g.fa", FASTA)
    ReferenceGenome(fa)
    assert stale_index(fa) is None
    earlier = fa.stat().st_mtime - 10
    os.utime(fa.with_name("g.fa.fai"), (earlier, earlier))
    assert stale_index(fa) == "it is older than g.fa"


def test_a_stale_index_that_cannot_be_removed_is_refused(tmp_path, monkeypatch):
    from findna.data import reference

    fa = _stale_index(tmp_path)

    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(reference, "_remove_index", refuse)
    with pytest.raises(ValueError) as err:
        ReferenceGenome(fa)
    assert str(err.value).startswith(
        f"the genome index {fa}.fai does not match {fa}: record 'chr1' is not where the index says"
    )
    assert f"Remove it (`rm {fa}.fai`" in str(err.value) and "Permission denied" in str(err.value)


def test_an_index_that_goes_stale_after_the_check_is_named_when_read(tmp_path, monkeypatch):
    import os

    import pyfaidx

    from findna.data import reference

    fa = _write(tmp_path / "g.fa", ">chr1\nACGTA\nCGTTT\nTTGG\n")  # indexed at 5 per line
    pyfaidx.Fasta(str(fa)).close()
    fa.write_text(">chr1\nACGT\nACGT\nTTTT\nGG\n")  # then 4, the index made newer
    later = fa.stat().st_mtime + 10
    os.utime(fa.with_name("g.fa.fai"), (later, later))
    monkeypatch.setattr(reference, "stale_index", lambda path: None)  # as if changed since
    ref = ReferenceGenome(fa)
    with pytest.raises(ValueError) as err:
        ref.fetch("chr1", 0, 14)
    assert f"the index {fa}.fai does not match the FASTA. Remove it (`rm {fa}.fai`)" in str(
        err.value
    )


@pytest.mark.parametrize(
    "text",
    [
        ">a\nACGT\n>empty\n>b\nAC\n",  # an empty record
        ">a\r\nACGT\r\nAC\r\n>b\r\nAC\r\n",  # Windows line ends
        ">a desc\nACGT\nAC",  # no final line end
        FASTA,
    ],
)
def test_a_fresh_index_is_not_stale(tmp_path, text):
    import pyfaidx

    from findna.data.reference import stale_index

    fa = tmp_path / "g.fa"
    fa.write_bytes(text.encode())
    pyfaidx.Fasta(str(fa)).close()
    assert stale_index(fa) is None
