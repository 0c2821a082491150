"""``findna score-variants``: zero-shot scores of single-nucleotide variants (docs/variants.md).

The handler imports lazily and holds no logic (:mod:`findna.eval.variants_file`).
"""

from __future__ import annotations

import argparse

from findna.cli import args as shared


def add_score_variants(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score-variants",
        help="zero-shot log-likelihood ratios of SNVs from the MNM head (VCF, TSV or Parquet in)",
        description="For each variant: llr = log P(alt) - log P(ref) from the MNM head with the "
        "variant's position masked, in a window centred on it (bases past a chromosome end are "
        "N), averaged over the forward strand and the reverse complement (llr_fwd, llr_rev). "
        "VARIANTS: .vcf/.vcf.gz (multi-allelic ALT split into one row per allele), a .tsv/.csv "
        "table or a .parquet file with columns chrom, pos, ref, alt (pos 1-based, as in VCF). "
        "OUT: .tsv, .tsv.gz or .parquet, the input's columns plus llr, llr_fwd, llr_rev, status, "
        "error; or .vcf/.vcf.gz, the records with INFO FINDNA_LLR (and FINDNA_STATUS). "
        "OUT.meta.json beside it names the model, window, genome md5 and settings. Settings: "
        "VariantScoreConfig defaults <- --config YAML <- --set <- the flags below.",
    )
    p.fill_later(_score_variants_args)


def _score_variants_args(p: argparse.ArgumentParser) -> None:
    from findna.eval.variants_config import VariantScoreConfig

    p.add_argument("variants", help="VCF (plain or gzip), TSV/CSV or Parquet variant table")
    p.add_argument(
        "--genome",
        required=True,
        help="reference: FASTA (plain, gzip or bgzip) or a `findna prepare genome` folder",
    )
    shared.add_model_source(p)
    p.add_argument(
        "--out", required=True, help="output .tsv, .tsv.gz, .parquet, .vcf or .vcf.gz (BGZF)"
    )
    settings = shared.add_settings(
        p, "score-variants", None, "window=500 --set non_snv=skip", VariantScoreConfig
    )
    settings.add(
        "--which",
        "which",
        help="network whose MNM head scores: auto is the student, trained with MNM, when the "
        "source holds one, else the teacher of an exported model",
    )
    settings.add(
        "--window",
        "window",
        type=shared.positive_int,
        metavar="BP",
        help="bp around each variant (default the model's max_len minus --n-cls)",
    )
    settings.add(
        "--n-cls",
        "n_cls",
        type=shared.nonnegative_int,
        metavar="K",
        help="zero CLS rows after each window (default: the run's ssl.n_cls, else 10)",
    )
    settings.add(
        "--on-mismatch",
        "on_mismatch",
        help="REF not matching the genome, unknown chromosome, position past the end: stop with "
        "the line (error) or keep the row with NaN scores and status/error (flag)",
    )
    settings.add(
        "--non-snv",
        "non_snv",
        help="indels, symbolic or N alleles: keep with NaN scores (flag), leave out (skip), or "
        "stop (error)",
    )
    settings.add(
        "--labels",
        "labels",
        metavar="COLUMN",
        help="a label column (a VCF: an INFO key) of 1/pathogenic or 0/benign: print AUROC and "
        "AUPRC of -llr (a lower llr counts as more pathogenic) into OUT.metrics.json",
    )
    settings.add(shared.BATCH_SIZE, "batch_size", help="windows per forward pass (two per site)")
    settings.add("--chunk-size", "chunk_size", type=shared.positive_int, metavar="N")
    settings.add(shared.DEVICE, "device")
    settings.add(shared.PRECISION, "precision")
    shared.add_scratch_model(p)
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.set_defaults(handler=_score_variants)


def _score_variants(args: argparse.Namespace) -> None:
    from findna.eval.variants_config import VariantScoreConfig
    from findna.eval.variants_file import score_variants_file

    cfg = shared.load_settings(VariantScoreConfig, "score-variants", args)
    result = score_variants_file(
        args.variants,
        args.genome,
        args.model,
        args.out,
        cfg,
        scratch_config=shared.scratch_config(args),
        force=args.force,
    )
    print(
        f"wrote {result.out}: {result.rows} rows, {result.scored} scored, {result.flagged} "
        f"flagged, {result.skipped} skipped ({result.which}, {result.window} bp windows); "
        f"provenance in {result.meta}"
    )
    if result.metrics is not None:
        from findna.eval.variants_labels import metrics_text

        print(metrics_text(result.metrics))
