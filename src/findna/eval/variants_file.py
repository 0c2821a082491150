"""``findna score-variants``: score a VCF or variant table against a genome into TSV, Parquet or
VCF.

The scoring itself is :mod:`findna.eval.variants`. This module runs it over a file: the settings,
the variant file, the model and the output path are checked first; one pass over the variants
then applies the policies (so that a refused variant stops the command before any scoring, with
its line), and a second pass scores ``chunk_size`` variants at a time and appends them to the
output, so memory does not grow with the input. The output keeps the input's columns (a VCF's 8
fixed columns; ALT holds one allele per row) and adds :data:`~findna.eval.variants.SCORE_COLUMNS`;
a VCF output keeps the input's records and adds the score as INFO fields
(:mod:`findna.eval.variants_vcf`). ``OUT.meta.json`` beside it (and a Parquet file's schema
metadata) says what made the scores (:func:`scores_provenance`); with ``labels``,
``OUT.metrics.json`` holds the AUROC and AUPRC (:mod:`findna.eval.variants_labels`).
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from findna.data.reference import ReferenceGenome
from findna.data.variants import Variant, VariantFile
from findna.devices import resolve_device
from findna.eval.variants import (
    SCORE_COLUMNS,
    VariantScore,
    VariantScoreConfig,
    check_policies,
    choose_network,
    model_window,
    scored_chunks,
)
from findna.eval.variants_labels import LabelCheck, label_metrics, metrics_text
from findna.eval.variants_meta import (
    META_KEY,
    OUTPUT_SUFFIXES,
    output_format,
    scores_provenance,
    sidecar,
)
from findna.eval.variants_vcf import VcfWriter, check_vcf_input, vcf_header
from findna.model.cls_rows import source_n_cls
from findna.model.config import ModelConfig
from findna.model.loading import load_encoder
from findna.outputs import atomic_output, check_output_file, json_text, write_text_atomic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreVariantsResult:
    """What ``score_variants_file`` wrote.

    Attributes:
        out: the output file.
        rows: rows written (one per variant and alternative allele).
        scored: rows with a score (``status`` ok).
        flagged: rows kept with NaN scores.
        skipped: non-SNVs left out (``non_snv: skip``).
        which: the network that scored (``student`` or ``teacher``).
        window: the window in bp.
        model_id: the weights' id (see :func:`findna.model.loading.load_encoder`).
        meta: the provenance sidecar ``OUT.meta.json``.
        metrics: with ``labels``: AUROC, AUPRC and the counts (also in ``OUT.metrics.json``).
    """

    out: Path
    rows: int
    scored: int
    flagged: int
    skipped: int
    which: str
    window: int
    model_id: str
    meta: Path | None = None
    metrics: dict | None = None


def _frame(variants: VariantFile, rows: list[Variant], scores: list[VariantScore]) -> Any:
    """One output chunk as a DataFrame: the input columns (position as an integer) + scores."""
    import pandas as pd

    data: dict[str, Any] = {}
    for i, name in enumerate(variants.columns):
        if i == variants.pos_column:
            data[name] = np.array([v.pos for v in rows], dtype=np.int64)
        else:
            data[name] = [v.values[i] for v in rows]
    for name in SCORE_COLUMNS:
        values = [getattr(s, name) for s in scores]
        data[name] = np.array(values, dtype=np.float64) if name.startswith("llr") else values
    return pd.DataFrame(data)


class _Writer:
    """Appends DataFrame chunks to a TSV (plain or gzip) or Parquet file."""

    def __init__(self, path: Path, fmt: str, variants: VariantFile, meta: dict) -> None:
        self.path, self.fmt, self.variants, self.meta = path, fmt, variants, meta
        self._fh: Any = None
        self._parquet: Any = None

    def _schema(self) -> Any:
        """Text columns as strings, the position as int64, the scores as float64."""
        import pyarrow as pa

        def kind(i: int, name: str) -> Any:
            return pa.int64() if i == self.variants.pos_column else pa.string()

        fields = [(n, kind(i, n)) for i, n in enumerate(self.variants.columns)]
        fields += [(n, pa.float64() if n.startswith("llr") else pa.string()) for n in SCORE_COLUMNS]
        return pa.schema(fields, metadata={META_KEY: json.dumps(self.meta)})

    def write(self, rows: list[Variant], scores: list[VariantScore]) -> None:
        frame = _frame(self.variants, rows, scores)
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = self._schema()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, schema)
            self._parquet.write_table(pa.Table.from_pandas(frame, schema, preserve_index=False))
            return
        first = self._fh is None
        if first:
            opener = gzip.open if self.fmt == "tsv.gz" else open
            self._fh = opener(self.path, "wt", newline="")
        frame.to_csv(self._fh, sep="\t", index=False, header=first, na_rep="NaN")

    def close(self) -> None:
        for handle in (self._parquet, self._fh):
            if handle is not None:
                handle.close()


def refuse_classifier(model: str | Path) -> None:
    """Refuse a fine-tuned classifier folder as the model of ``score-variants``.

    Fine-tuning trains the encoder and a classification head, never the per-token MNM head
    that scores variants: in a classifier that head is the pretrained one left behind an
    encoder that moved, so its scores would mean nothing. The message names the pretrained
    source it came from (the fine-tune report's ``source`` beside it, and ``task.json``'s
    ``source_model`` id).

    Raises:
        ValueError: ``model`` holds a ``task.json`` (a findna classifier).
    """
    import json

    from findna.model.classifier import read_info

    path = Path(model)
    if not (path / "task.json").is_file():
        return
    try:
        info = read_info(path)
        task, origin = f"task {info.task}", info.source_model
    except ValueError:
        task, origin = "task.json", ""
    report = path.parent / "finetune.json"
    try:
        source = json.loads(report.read_text())["provenance"]["config"]["source"]
    except (OSError, ValueError, KeyError, TypeError):
        source = None
    if origin.startswith("scratch"):
        fix = (
            f"it was fine-tuned from a random network ({origin}), which has no trained MNM head "
            "either: score with a pretrained run or export (--model RUN)"
        )
    elif source:
        fix = f"score with the pretrained model it was fine-tuned from: --model {source}"
        fix += f" (weights {origin})" if origin else ""
    else:
        fix = "score with the pretrained run or export it was fine-tuned from"
        fix += f" (its weights' id in task.json: source_model {origin})" if origin else ""
    raise ValueError(
        f"{path} is a fine-tuned classifier ({task}), not a pretrained model: fine-tuning trains "
        "its encoder and classification head but never the MNM head that score-variants reads, "
        f"so its scores would be meaningless. {fix[0].upper()}{fix[1:]}"
    )


def score_variants_file(
    variants_path: str | Path,
    genome_path: str | Path,
    model: str,
    out_path: str | Path,
    cfg: VariantScoreConfig | None = None,
    *,
    scratch_config: ModelConfig | None = None,
    force: bool = False,
    progress: bool = True,
) -> ScoreVariantsResult:
    """Score every variant of a VCF, TSV/CSV or Parquet file; write TSV, Parquet or VCF (by
    suffix), with ``OUT.meta.json`` (and, with ``cfg.labels``, ``OUT.metrics.json``) beside it.

    Args:
        variants_path: ``.vcf``/``.vcf.gz``, a ``.tsv``/``.csv`` table or a ``.parquet`` file
            (chrom, pos, ref, alt; pos 1-based).
        genome_path: the reference: a FASTA (plain, gzip or bgzip) or a prepared genome folder.
        model: an HF model dir, a pretraining run dir, a ``.ckpt``, or ``"scratch"``.
        out_path: ``.tsv``, ``.tsv.gz``, ``.parquet``, ``.vcf`` or ``.vcf.gz``.
        cfg: the settings (default :class:`VariantScoreConfig`).
        scratch_config: the architecture of ``"scratch"``.
        force: replace an existing output.
        progress: show a tqdm bar (variants).

    Raises:
        ValueError: bad settings, input or output path; a variant a policy refuses (its line);
            a bad label or a label column with one class; a fine-tuned classifier as ``model``
            (:func:`refuse_classifier`).
        FileNotFoundError: a missing input or model.
        FileExistsError: the output exists and ``force`` is False.
    """
    from tqdm.auto import tqdm

    cfg = cfg or VariantScoreConfig()
    device = resolve_device(cfg.device)
    fmt = output_format(out_path)
    variants = VariantFile(variants_path)
    taken = set(variants.columns) & set(SCORE_COLUMNS)
    if taken and not fmt.startswith("vcf"):
        raise ValueError(
            f"{variants.path}: the input already has a column {sorted(taken)[0]!r}, which the "
            f"output adds ({', '.join(SCORE_COLUMNS)}); rename that column"
        )
    if fmt.startswith("vcf"):
        check_vcf_input(variants)
    labels = LabelCheck(variants, cfg.labels) if cfg.labels else None
    refuse_classifier(model)
    which = choose_network(model, cfg.which)
    cfg = replace(cfg, n_cls=source_n_cls(model, which, cfg.n_cls))
    net, model_id = load_encoder(
        model, which=which, length_mode="fixed", seed=cfg.seed, scratch_config=scratch_config
    )
    window = model_window(net, cfg.window, cfg.n_cls)
    inputs = [variants.path, genome_path] + ([model] if Path(model).exists() else [])
    out = check_output_file(out_path, force=force, inputs=inputs)
    sidecars = [sidecar(out, "meta")] + ([sidecar(out, "metrics")] if labels else [])
    for path in sidecars:  # findna's own files for OUT: replaced with it
        check_output_file(path, force=True, inputs=inputs)
    genome = ReferenceGenome(genome_path)
    rows_in = labels.checked(variants) if labels else variants
    kept, skipped = check_policies(genome, rows_in, cfg)
    if kept + skipped == 0:
        raise ValueError(f"{variants.path}: no variants found (only header lines)")
    if labels:
        labels.require_both()
    meta = scores_provenance(variants.path, Path(genome_path), model, model_id, which, window, cfg)
    net.to(device)
    log.info(
        "scoring %d variants with the %s of %s (%s), %d bp windows, on %s",
        kept,
        which,
        model,
        model_id,
        window,
        device,
    )
    rows = scored = 0
    seen: list[int | None] = []
    llrs: list[float] = []
    bar = tqdm(total=kept, unit="variant", disable=not progress, desc="score-variants")
    with atomic_output(out) as tmp:
        if fmt.startswith("vcf"):
            extra = [f"##findna_meta={sidecar(out, 'meta').name}"]
            header = vcf_header(variants, genome, extra)
            writer: Any = VcfWriter(tmp, variants, header, bgzf=fmt == "vcf.gz")
        else:
            writer = _Writer(tmp, fmt, variants, meta)
        try:
            for chunk, scores in scored_chunks(net, genome, variants, window, cfg, device):
                if chunk:
                    writer.write(chunk, scores)
                if labels:
                    seen += [labels.read(v) for v in chunk]
                    llrs += [s.llr for s in scores]
                rows += len(chunk)
                scored += sum(s.status == "ok" for s in scores)
                bar.update(len(chunk))
            if rows == 0:  # every variant skipped: the columns (or the header) alone
                writer.write([], [])
        finally:
            writer.close()
            bar.close()
        counts = {"rows": rows, "scored": scored, "flagged": rows - scored, "skipped": skipped}
        write_text_atomic(sidecars[0], json.dumps({**counts, **meta}, indent=1) + "\n")
        metrics = label_metrics(labels.column, seen, llrs) if labels else None
        if metrics is not None:
            write_text_atomic(sidecars[1], json_text(metrics))
    result = ScoreVariantsResult(
        out, rows, scored, rows - scored, skipped, which, window, model_id, sidecars[0], metrics
    )
    log.info(
        "wrote %s: %d rows, %d scored, %d flagged, %d skipped",
        out,
        rows,
        scored,
        result.flagged,
        skipped,
    )
    if metrics is not None:
        log.info("%s (%s)", metrics_text(metrics), sidecars[1])
    return result


__all__ = [
    "OUTPUT_SUFFIXES",
    "ScoreVariantsResult",
    "output_format",
    "refuse_classifier",
    "score_variants_file",
    "scores_provenance",
    "sidecar",
]
