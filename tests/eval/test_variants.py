"""Zero-shot variant scoring: hand-computed scores, properties, policies and the command line."""

import gzip
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from findna.cli import main
from findna.data.alphabet import reverse_complement
from findna.eval.variants import VariantScoreConfig, choose_network
from findna.eval.variants_file import score_variants_file
from findna.model.cls_rows import pretraining_n_cls
from findna.model.config import ModelConfig
from findna.model.loading import load_encoder

CFG = ModelConfig.tiny(max_len=74)  # 64 bp windows + 10 CLS rows
WINDOW = 64
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"


def _random_seq(n, seed):
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), n))


CHR1, CHR2 = _random_seq(300, 1), _random_seq(200, 2)


def _fasta(path, chr1=CHR1):
    lines = [chr1[i : i + 60] for i in range(0, len(chr1), 60)]
    path.write_text(">chr1 test\n" + "\n".join(lines) + "\n>chr2\n" + CHR2 + "\n")
    return path


def _other(base, k=0):
    return [b for b in "ACGT" if b != base][k]


@pytest.fixture
def genome(tmp_path):
    return _fasta(tmp_path / "g.fa")


@pytest.fixture
def model_yaml(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("track_size: 4\nhidden: 32\nn_layers: 2\nmax_len: 74\n")
    return path


def _score(variants, genome, out, **settings):
    cfg = VariantScoreConfig(device="cpu", **settings)
    return score_variants_file(variants, genome, "scratch", out, cfg, scratch_config=CFG,
                               progress=False)  # fmt: skip


def _vcf(path, rows):
    text = HEADER + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in rows)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def _hand_llr(seq, pos, ref, alt):
    """llr of a SNV at 1-based ``pos``, computed step by step with the network itself."""
    net, _ = load_encoder("scratch", scratch_config=CFG, length_mode="fixed")
    start = pos - 1 - WINDOW // 2
    padded = "N" * max(0, -start) + seq[max(start, 0) : start + WINDOW]
    padded += "N" * (WINDOW - len(padded))  # past the end: N

    def masked_log_probs(window, at):
        x = torch.zeros(1, WINDOW + 10, 5)  # the 10 CLS rows stay zero
        for i, base in enumerate(window):
            if i != at:  # the masked position is the zero row
                x[0, i, "ACGTN".index(base)] = 1.0
        with torch.no_grad():
            return torch.log_softmax(net(x).logits[0, at, :4], dim=-1)

    fwd = masked_log_probs(padded, WINDOW // 2)
    rev = masked_log_probs(reverse_complement(padded), WINDOW - 1 - WINDOW // 2)
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    i = "ACGT".index
    llr_fwd = float(fwd[i(alt)] - fwd[i(ref)])
    llr_rev = float(rev[i(comp[alt])] - rev[i(comp[ref])])
    return (llr_fwd + llr_rev) / 2, llr_fwd, llr_rev


@pytest.mark.parametrize("name", ["v.vcf", "v.vcf.gz"])
def test_scores_match_a_hand_computation(tmp_path, genome, name):
    # pos 150: the window lies inside chr1; pos 3 and chr2:199: N-padded at either end.
    sites = [("chr1", 150, CHR1), ("chr1", 3, CHR1), ("chr2", 199, CHR2)]
    rows = [(c, p, f"v{p}", s[p - 1], _other(s[p - 1])) for c, p, s in sites]
    result = _score(_vcf(tmp_path / name, rows), genome, tmp_path / "out.tsv")
    assert (result.rows, result.scored, result.flagged, result.window) == (3, 3, 0, WINDOW)
    out = pd.read_csv(tmp_path / "out.tsv", sep="\t", keep_default_na=False)
    assert list(out.columns) == ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO",
                                 "llr", "llr_fwd", "llr_rev", "status", "error"]  # fmt: skip
    for row, (_, pos, seq) in zip(out.itertuples(), sites, strict=True):
        expected = _hand_llr(seq, pos, row.REF, row.ALT)
        assert (row.llr, row.llr_fwd, row.llr_rev) == pytest.approx(expected, abs=1e-5)
        assert row.status == "ok" and row.error == ""
    assert out.llr_fwd.abs().min() > 1e-4  # a real score, not a degenerate 0


def test_swapping_ref_and_alt_negates_the_score_exactly(tmp_path):
    pos, ref = 120, CHR1[119]
    alt = _other(ref)
    swapped = CHR1[: pos - 1] + alt + CHR1[pos:]
    a = _score(_vcf(tmp_path / "a.vcf", [("chr1", pos, ".", ref, alt)]),
               _fasta(tmp_path / "a.fa"), tmp_path / "a.tsv")  # fmt: skip
    b = _score(_vcf(tmp_path / "b.vcf", [("chr1", pos, ".", alt, ref)]),
               _fasta(tmp_path / "b.fa", swapped), tmp_path / "b.tsv")  # fmt: skip
    ra, rb = (pd.read_csv(r.out, sep="\t").iloc[0] for r in (a, b))
    assert ra.llr != 0 and rb.llr == -ra.llr  # exact: the masked position hides the allele
    assert rb.llr_fwd == -ra.llr_fwd and rb.llr_rev == -ra.llr_rev


def test_multiallelic_rows_equal_single_allele_rows(tmp_path, genome):
    ref = CHR1[199]
    alts = [b for b in "ACGT" if b != ref]
    multi = _score(_vcf(tmp_path / "m.vcf", [("chr1", 200, "m", ref, ",".join(alts))]),
                   genome, tmp_path / "m.tsv")  # fmt: skip
    single = _score(_vcf(tmp_path / "s.vcf", [("chr1", 200, "s", ref, a) for a in alts]),
                    genome, tmp_path / "s.tsv")  # fmt: skip
    m, s = (pd.read_csv(r.out, sep="\t") for r in (multi, single))
    assert list(m.ALT) == alts and list(m.ID) == ["m"] * 3
    np.testing.assert_allclose(m.llr, s.llr, rtol=0, atol=1e-12)


def test_table_input_keeps_its_columns_and_parquet_matches_tsv(tmp_path, genome):
    ref = CHR2[49]
    table = tmp_path / "v.csv"
    table.write_text(f"name,chrom,pos,ref,alt,note\nx,chr2,50,{ref},{_other(ref)},hi\n"
                     f"y,chr2,50,{ref},{_other(ref, 1)},\n")  # fmt: skip
    _score(table, genome, tmp_path / "o.tsv.gz")
    _score(table, genome, tmp_path / "o.parquet")
    tsv = pd.read_csv(tmp_path / "o.tsv.gz", sep="\t", keep_default_na=False)
    pq = pd.read_parquet(tmp_path / "o.parquet")
    assert list(pq.columns) == ["name", "chrom", "pos", "ref", "alt", "note", "llr", "llr_fwd",
                                "llr_rev", "status", "error"]  # fmt: skip
    assert list(pq.name) == ["x", "y"] and list(pq.note) == ["hi", ""]
    assert pq.pos.dtype == np.int64 and list(pq.pos) == [50, 50]
    np.testing.assert_allclose(pq.llr, tsv.llr, rtol=0, atol=1e-15)


def test_policies_on_mismatch_unknown_chromosome_and_position_past_the_end(tmp_path, genome):
    ok = ("chr1", 10, "ok", CHR1[9], _other(CHR1[9]))
    bad_ref = ("chr1", 11, "bad", _other(CHR1[10]), CHR1[10])
    vcf = _vcf(
        tmp_path / "v.vcf",
        [
            ok,
            bad_ref,
            ("1", 5, "u", "A", "G"),
            ("chr2", 201, "end", "A", "G"),
            ("chr2", 5, "ins", CHR2[4], "AT"),
        ],
    )
    with pytest.raises(ValueError) as err:
        _score(vcf, genome, tmp_path / "o.tsv")
    assert str(err.value) == (
        f"{vcf} line 4: REF '{bad_ref[3]}' does not match the genome, which has '{CHR1[10]}' at "
        f"chr1:11 ({genome}); check that the variants were called on this genome build and that "
        "positions are 1-based (pass --on-mismatch flag to keep going)"
    )
    assert not (tmp_path / "o.tsv").exists()  # checked before any scoring
    result = _score(vcf, genome, tmp_path / "o.tsv", on_mismatch="flag")
    out = pd.read_csv(result.out, sep="\t", keep_default_na=False, na_values=["NaN"])
    assert list(out.status) == ["ok", "ref_mismatch", "unknown_chrom", "out_of_range", "non_snv"]
    assert math.isfinite(out.llr[0]) and out.llr[1:].map(math.isnan).all()
    assert out.error[2].startswith(f"{vcf} line 5: chromosome '1' is not in {genome}")
    assert "the genome calls it 'chr1'" in out.error[2]
    assert out.error[3] == (
        f"{vcf} line 6: position 201 (REF 1 bp) is past the end of chr2 (200 bp in {genome}); "
        "positions are 1-based, check the genome build"
    )
    assert (result.scored, result.flagged) == (1, 4)


def test_non_snv_policy(tmp_path, genome):
    rows = [("chr1", 10, "ok", CHR1[9], _other(CHR1[9])), ("chr1", 20, "ins", CHR1[19], "AT")]
    vcf = _vcf(tmp_path / "v.vcf", rows)
    skipped = _score(vcf, genome, tmp_path / "s.tsv", non_snv="skip")
    assert (skipped.rows, skipped.skipped) == (1, 1)
    assert list(pd.read_csv(skipped.out, sep="\t").ID) == ["ok"]
    message = r"v.vcf line 4: REF '.' / ALT 'AT' is not a single-nucleotide variant \(indel or MNV"
    with pytest.raises(ValueError, match=message + r"\) \(pass --non-snv flag or skip"):
        _score(vcf, genome, tmp_path / "e.tsv", non_snv="error")
    only_indels = _vcf(tmp_path / "i.vcf", rows[1:])
    empty = _score(only_indels, genome, tmp_path / "i.parquet", non_snv="skip")
    assert empty.rows == 0 and len(pd.read_parquet(empty.out).columns) == 13


def test_window_near_the_end_and_other_window_sizes(tmp_path, genome):
    vcf = _vcf(tmp_path / "v.vcf", [("chr2", 200, ".", CHR2[199], _other(CHR2[199]))])
    assert _score(vcf, genome, tmp_path / "a.tsv", window=33).window == 33
    with pytest.raises(ValueError, match="a window of 65 bp \\+ 10 CLS rows does not fit the "
                       "model's max_len 74; use --window 64 or less"):  # fmt: skip
        _score(vcf, genome, tmp_path / "b.tsv", window=65)


def test_exported_model_gives_the_scratch_scores(tmp_path, genome):
    net, _ = load_encoder("scratch", scratch_config=CFG)
    net.save_pretrained(tmp_path / "export")
    vcf = _vcf(tmp_path / "v.vcf", [("chr1", 77, ".", CHR1[76], _other(CHR1[76]))])
    cfg = VariantScoreConfig(device="cpu")
    a = score_variants_file(vcf, genome, str(tmp_path / "export"), tmp_path / "a.tsv", cfg,
                            progress=False)  # fmt: skip
    b = _score(vcf, genome, tmp_path / "b.tsv")
    assert a.which == "teacher"  # an export holds only the teacher
    assert pd.read_csv(a.out, sep="\t").llr[0] == pd.read_csv(b.out, sep="\t").llr[0]


def test_auto_picks_the_student_where_there_is_one(tmp_path):
    (tmp_path / "run.ckpt").write_bytes(b"")
    net, _ = load_encoder("scratch", scratch_config=CFG)
    net.save_pretrained(tmp_path / "export")
    assert choose_network(str(tmp_path / "run.ckpt"), "auto") == "student"
    assert choose_network(str(tmp_path / "export"), "auto") == "teacher"
    assert choose_network("scratch", "auto") == "teacher"
    assert choose_network(str(tmp_path / "export"), "student") == "student"  # as asked


def test_cli_end_to_end_and_bad_inputs(tmp_path, genome, model_yaml, capsys):
    ref = CHR1[59]
    table = tmp_path / "v.tsv"
    table.write_text(f"chrom\tpos\tref\talt\tgene\nchr1\t60\t{ref}\t{_other(ref)}\tG1\n")
    out = tmp_path / "scores.tsv"
    base = ["score-variants", "--genome", str(genome), "--model", "scratch",
            "--scratch-model", str(model_yaml), "--device", "cpu"]  # fmt: skip
    assert main([*base, str(table), "--out", str(out), "--batch-size", "1"]) == 0
    assert (
        "1 rows, 1 scored, 0 flagged, 0 skipped (teacher, 64 bp windows)" in capsys.readouterr().out
    )
    got = pd.read_csv(out, sep="\t")
    assert got.llr[0] == pytest.approx(_hand_llr(CHR1, 60, ref, _other(ref))[0], abs=1e-5)
    assert list(got.gene) == ["G1"]

    def error(*extra):
        assert main([*base, *extra]) == 2
        return capsys.readouterr().err

    assert f"{out} exists; pass --force to replace it" in error(str(table), "--out", str(out))
    assert main([*base, str(table), "--out", str(out), "--force", "--window", "40"]) == 0
    capsys.readouterr()
    onto_input = error(str(table), "--out", str(table), "--force")
    assert f"--out {table} is an input of this command" in onto_input
    assert "unknown output type; end the name in .tsv, .tsv.gz, .parquet" in error(
        str(table), "--out", str(tmp_path / "x.csv"))  # fmt: skip
    bad = tmp_path / "bad.tsv"
    bad.write_text("chrom\tposition\tref\talt\nchr1\t60\tA\tG\n")
    assert "bad.tsv line 1: missing column(s) pos" in error(
        str(bad), "--out", str(tmp_path / "b.tsv")
    )
    bad_vcf = _vcf(tmp_path / "bad.vcf", [])
    bad_vcf.write_text(HEADER + "chr1\t60\t.\tA\n")
    assert f"{bad_vcf} line 3: 4 tab-separated field(s)" in error(
        str(bad_vcf), "--out", str(tmp_path / "c.tsv"))  # fmt: skip
    assert not (tmp_path / "b.tsv").exists() and not (tmp_path / "c.tsv").exists()


LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"


def test_cls_rows_come_from_the_pretraining_run(tmp_path):
    # The legacy run was pretrained on 32 bp windows + 2 CLS rows (max_len 34).
    ckpt = tmp_path / "copy.ckpt"  # away from its run: read from the checkpoint itself
    ckpt.write_bytes((LEGACY / "run" / "checkpoints" / "final.ckpt").read_bytes())
    assert pretraining_n_cls(str(LEGACY / "run"), "student") == 2
    assert pretraining_n_cls(str(LEGACY / "run"), "teacher") == 2
    assert pretraining_n_cls(str(ckpt), "student") == 2
    assert pretraining_n_cls(str(LEGACY / "model"), "teacher") is None  # an export says nothing
    assert pretraining_n_cls("scratch", "teacher") is None
    genome = _fasta(tmp_path / "g.fa")
    vcf = _vcf(tmp_path / "v.vcf", [("chr1", 50, ".", CHR1[49], _other(CHR1[49]))])
    cfg = VariantScoreConfig(device="cpu")
    run = score_variants_file(vcf, genome, str(LEGACY / "run"), tmp_path / "r.tsv", cfg,
                              progress=False)  # fmt: skip
    assert (run.which, run.window) == ("student", 32)
    export = score_variants_file(vcf, genome, str(LEGACY / "model"), tmp_path / "e.tsv", cfg,
                                 progress=False)  # fmt: skip
    assert (export.which, export.window) == ("teacher", 24)  # 34 - the default 10
