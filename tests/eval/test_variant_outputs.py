"""score-variants as GPN and VEP users keep variant files: Parquet in, VCF out with the score in
INFO, provenance beside the scores, and AUROC/AUPRC against a label column."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from findna.cli import main
from findna.data.bgzf import EOF_BLOCK
from findna.eval.variants import VariantScoreConfig
from findna.eval.variants_file import score_variants_file, sidecar
from findna.model.config import ModelConfig
from findna.provenance import file_md5

CFG = ModelConfig.tiny(max_len=74)  # 64 bp windows + 10 CLS rows
SEQ = "".join(np.random.default_rng(3).choice(list("ACGT"), 400))
HEADER = (
    "##fileformat=VCFv4.2\n"
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">\n'
    "##contig=<ID=chr1,length=400>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
)


def _other(base, k=0):
    return [b for b in "ACGT" if b != base][k]


@pytest.fixture
def genome(tmp_path):
    path = tmp_path / "g.fa"
    path.write_text(">chr1\n" + "\n".join(SEQ[i : i + 70] for i in range(0, 400, 70)) + "\n")
    return path


def _score(variants, genome, out, **settings):
    cfg = VariantScoreConfig(device="cpu", **settings)
    return score_variants_file(
        variants, genome, "scratch", out, cfg, scratch_config=CFG, progress=False
    )


def _vcf(tmp_path):
    r = [SEQ[p - 1] for p in (50, 90, 130)]
    text = HEADER + (
        f"chr1\t50\trs1\t{r[0]}\t{_other(r[0])},{_other(r[0], 1)}\t30\tPASS\tDP=4\n"
        f"chr1\t90\trs2\t{r[1]}\t{_other(r[1])},AT\t.\tq10\t.\n"
        f"chr1\t130\trs3\t{_other(r[2])}\t{r[2]}\t.\t.\tDP=2\n"  # REF does not match
        f"chr1\t170\tindel\t{SEQ[169]}\tAT\t.\t.\t.\n"
    )
    path = tmp_path / "v.vcf"
    path.write_text(text)
    return path


def _records(path):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        lines = fh.read().splitlines()
    return [x for x in lines if x.startswith("##")], [x.split("\t") for x in lines if x[0] != "#"]


def test_vcf_output_keeps_each_record_and_adds_the_score_per_allele(tmp_path, genome):
    vcf = _vcf(tmp_path)
    tsv = _score(vcf, genome, tmp_path / "o.tsv", on_mismatch="flag")
    result = _score(vcf, genome, tmp_path / "o.vcf.gz", on_mismatch="flag", non_snv="skip")
    raw = result.out.read_bytes()
    assert raw[12:14] == b"BC" and raw.endswith(EOF_BLOCK)  # BGZF, so tabix can index it
    meta, records = _records(result.out)
    assert meta[:3] == HEADER.splitlines()[:3]  # the input's meta lines, contig kept
    assert sum(x.startswith("##contig") for x in meta) == 1
    assert any(x.startswith("##INFO=<ID=FINDNA_LLR,Number=A,Type=Float,Description=") for x in meta)
    assert any(x.startswith("##INFO=<ID=FINDNA_STATUS,Number=A,Type=String,") for x in meta)
    assert "##source=findna " in "\n".join(meta)
    assert f"##reference={genome.resolve().as_uri()}" in meta
    llr = [float(x) for x in pd.read_csv(tsv.out, sep="\t").llr]
    first, second, mismatch = records  # the indel-only record is skipped
    assert first[:7] == ["chr1", "50", "rs1", SEQ[49], f"{_other(SEQ[49])},{_other(SEQ[49], 1)}",
                         "30", "PASS"]  # fmt: skip
    assert first[7] == f"DP=4;FINDNA_LLR={llr[0]!r},{llr[1]!r}"
    assert second[4] == f"{_other(SEQ[89])},AT" and second[6] == "q10"
    assert second[7] == f"FINDNA_LLR={llr[2]!r},.;FINDNA_STATUS=ok,non_snv"  # '.' INFO replaced
    assert mismatch[7] == "DP=2;FINDNA_LLR=.;FINDNA_STATUS=ref_mismatch"
    flagged = _score(vcf, genome, tmp_path / "f.vcf", on_mismatch="flag")
    assert _records(flagged.out)[1][3][7] == "FINDNA_LLR=.;FINDNA_STATUS=non_snv"


def test_a_table_becomes_minimal_vcf_records(tmp_path, genome):
    ref = SEQ[59]
    table = tmp_path / "v.csv"
    table.write_text(f"gene,chrom,pos,ref,alt\nG1,chr1,60,{ref},{_other(ref)}\n")
    result = _score(table, genome, tmp_path / "o.vcf")
    meta, records = _records(result.out)
    assert "##contig=<ID=chr1,length=400>" in meta  # from the genome: the table names none
    assert records[0][:7] == ["chr1", "60", ".", ref, _other(ref), ".", "."]
    assert records[0][7].startswith("FINDNA_LLR=") and len(records[0]) == 8


def test_a_vcf_scored_before_is_refused_for_vcf_output(tmp_path, genome):
    vcf = tmp_path / "s.vcf"
    vcf.write_text(HEADER.replace("#CHROM", '##INFO=<ID=FINDNA_LLR,Number=A,Type=Float,'
                                  'Description="x">\n#CHROM'))  # fmt: skip
    with pytest.raises(ValueError, match="already has the INFO field FINDNA_LLR.*bcftools annot"):
        _score(vcf, genome, tmp_path / "o.vcf")


def test_provenance_beside_the_scores_and_in_the_parquet_schema(tmp_path, genome):
    import pyarrow.parquet as pq

    vcf = _vcf(tmp_path)
    result = _score(vcf, genome, tmp_path / "o.parquet", on_mismatch="flag", window=40)
    assert result.meta == tmp_path / "o.meta.json"
    meta = json.loads(result.meta.read_text())
    assert (meta["rows"], meta["scored"], meta["flagged"]) == (6, 3, 3)
    assert (meta["model_source"], meta["model_id"], meta["network"]) == (
        "scratch",
        "scratch-seed0",
        "teacher",
    )
    assert (meta["window"], meta["n_cls"], meta["settings"]["window"]) == (40, 10, 40)
    assert meta["genome_md5"] == file_md5(genome) and meta["variants_md5"] == file_md5(vcf)
    assert meta["checkpoint_id"] == "scratch-seed0" and meta["findna_version"]
    assert "git_commit" in meta and meta["config_hash"]
    schema = json.loads(pq.read_schema(result.out).metadata[b"findna"])
    assert schema["genome_md5"] == meta["genome_md5"] and schema["window"] == 40
    assert sidecar(tmp_path / "x.tsv.gz", "meta") == tmp_path / "x.meta.json"
    assert sidecar(tmp_path / "x.vcf.gz", "metrics") == tmp_path / "x.metrics.json"


def test_parquet_input_scores_as_the_same_table_in_csv(tmp_path, genome):
    frame = pd.DataFrame(
        {"chrom": ["chr1", "chr1"], "pos": [70, 300], "ref": [SEQ[69], SEQ[299]],
         "alt": [_other(SEQ[69]), _other(SEQ[299])], "gene": ["a", "b"]}
    )  # fmt: skip
    frame.to_parquet(tmp_path / "v.parquet")
    frame.to_csv(tmp_path / "v.csv", index=False)
    a = pd.read_csv(_score(tmp_path / "v.parquet", genome, tmp_path / "a.tsv").out, sep="\t")
    b = pd.read_csv(_score(tmp_path / "v.csv", genome, tmp_path / "b.tsv").out, sep="\t")
    pd.testing.assert_frame_equal(a, b)


def _labelled(tmp_path, labels):
    rows = [f"chr1,{p},{SEQ[p - 1]},{_other(SEQ[p - 1])},{lab}" for p, lab in labels]
    path = tmp_path / "l.csv"
    path.write_text("chrom,pos,ref,alt,Label\n" + "\n".join(rows) + "\n")
    return path


def test_labels_give_auroc_and_auprc_of_minus_llr(tmp_path, genome, capsys):
    positions = range(20, 381, 30)
    values = ["1", "0", "Pathogenic", "BENIGN", "", "1", "0", "1", "benign", "pathogenic", "NA",
              "0", "1"]  # fmt: skip
    table = _labelled(tmp_path, list(zip(positions, values, strict=True)))
    text = table.read_text().replace(f"chr1,20,{SEQ[19]}", f"chr1,20,{_other(SEQ[19], 2)}")
    table.write_text(text)  # the first row (label 1) no longer matches: flagged, left out
    result = _score(table, genome, tmp_path / "o.tsv", labels="label", on_mismatch="flag")
    out = pd.read_csv(result.out, sep="\t", keep_default_na=False, na_values=["NaN"])
    y = np.array([{"1": 1, "pathogenic": 1}.get(v.lower(), 0) for v in values])
    use = np.array([v not in ("", "NA") for v in values]) & out.llr.notna().to_numpy()
    m = result.metrics
    assert m["auroc"] == pytest.approx(roc_auc_score(y[use], -out.llr[use]))
    assert m["auprc"] == pytest.approx(average_precision_score(y[use], -out.llr[use]))
    assert (m["used"], m["pathogenic"], m["benign"]) == (10, 5, 5)
    assert (m["left_out_unscored"], m["left_out_unlabelled"], m["score"]) == (1, 2, "-llr")
    assert json.loads((tmp_path / "o.metrics.json").read_text()) == m
    assert list(out.Label) == values  # the column is kept as written


@pytest.mark.parametrize(
    "labels, column, message",
    [
        ([(40, "1"), (80, "maybe")], "label", "l.csv line 3: column 'Label' has 'maybe', not a "
         "label; use 1 or pathogenic"),
        ([(40, "1"), (80, "0")], "class", "l.csv has no column 'class' for --labels; its columns "
         "are 'chrom', 'pos', 'ref', 'alt', 'Label'"),
        ([(40, "1"), (80, "")], "Label", "--labels Label: every labelled row is pathogenic (1) "
         "(1 rows, 1 unlabelled); AUROC and AUPRC need both"),
    ],
)  # fmt: skip
def test_bad_labels_stop_before_any_output(tmp_path, genome, labels, column, message):
    table = _labelled(tmp_path, labels)
    with pytest.raises(ValueError) as err:
        _score(table, genome, tmp_path / "o.tsv", labels=column)
    assert message in str(err.value)
    assert not (tmp_path / "o.tsv").exists() and not (tmp_path / "o.meta.json").exists()


def test_cli_vcf_out_with_labels_from_info(tmp_path, genome, capsys):
    lines = [
        f"chr1\t{p}\tv{p}\t{SEQ[p - 1]}\t{_other(SEQ[p - 1])}\t.\t.\tCLNSIG={lab}"
        for p, lab in [(40, "Pathogenic"), (80, "Benign"), (120, "benign"), (160, "1")]
    ]
    vcf = tmp_path / "c.vcf"
    vcf.write_text(HEADER + "\n".join(lines) + "\n")
    model = tmp_path / "tiny.yaml"
    model.write_text("track_size: 4\nhidden: 32\nn_layers: 2\nmax_len: 74\n")
    argv = ["score-variants", str(vcf), "--genome", str(genome), "--model", "scratch",
            "--scratch-model", str(model), "--device", "cpu", "--out", str(tmp_path / "o.vcf"),
            "--labels", "CLNSIG"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "provenance in" in printed and "o.meta.json" in printed
    assert "AUROC" in printed and "of -llr as the pathogenicity score" in printed
    assert "4 rows used (2 pathogenic, 2 benign)" in printed
    records = _records(tmp_path / "o.vcf")[1]
    assert all(r[7].startswith("CLNSIG=") and ";FINDNA_LLR=" in r[7] for r in records)
