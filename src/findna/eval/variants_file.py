"""``findna score-variants``: score a VCF or variant table against a genome into TSV or Parquet.

The scoring itself is :mod:`findna.eval.variants`. This module runs it over a file: the settings,
the variant file, the model and the output path are checked first; one pass over the variants
then applies the policies (so that a refused variant stops the command before any scoring, with
its line), and a second pass scores ``chunk_size`` variants at a time and appends them to the
output, so memory does not grow with the input. The output keeps the input's columns (a VCF's 8
fixed columns; ALT holds one allele per row) and adds :data:`~findna.eval.variants.SCORE_COLUMNS`.
"""

from __future__ import annotations

import gzip
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
from findna.model.cls_rows import source_n_cls
from findna.model.config import ModelConfig
from findna.model.loading import load_encoder
from findna.outputs import atomic_output, check_output_file

log = logging.getLogger(__name__)

OUTPUT_SUFFIXES = (".tsv", ".tsv.gz", ".parquet")


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
    """

    out: Path
    rows: int
    scored: int
    flagged: int
    skipped: int
    which: str
    window: int
    model_id: str


def output_format(path: str | Path) -> str:
    """``"tsv"``, ``"tsv.gz"`` or ``"parquet"`` by the suffix of ``path``; ValueError otherwise."""
    name = Path(path).name.lower()
    for suffix in OUTPUT_SUFFIXES:
        if name.endswith(suffix):
            return suffix[1:]
    raise ValueError(
        f"--out {path}: unknown output type; end the name in {', '.join(OUTPUT_SUFFIXES)}"
    )


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

    def __init__(self, path: Path, fmt: str, variants: VariantFile) -> None:
        self.path, self.fmt, self.variants = path, fmt, variants
        self._fh: Any = None
        self._parquet: Any = None

    def _schema(self) -> Any:
        """Text columns as strings, the position as int64, the scores as float64."""
        import pyarrow as pa

        def kind(i: int, name: str) -> Any:
            return pa.int64() if i == self.variants.pos_column else pa.string()

        fields = [(n, kind(i, n)) for i, n in enumerate(self.variants.columns)]
        fields += [(n, pa.float64() if n.startswith("llr") else pa.string()) for n in SCORE_COLUMNS]
        return pa.schema(fields)

    def write(self, frame: Any) -> None:
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
    """Score every variant of a VCF or TSV/CSV file and write TSV or Parquet (by suffix).

    Args:
        variants_path: ``.vcf``/``.vcf.gz`` or a ``.tsv``/``.csv`` table (chrom, pos, ref, alt;
            pos 1-based).
        genome_path: the reference: a FASTA (plain, gzip or bgzip) or a prepared genome folder.
        model: an HF model dir, a pretraining run dir, a ``.ckpt``, or ``"scratch"``.
        out_path: ``.tsv``, ``.tsv.gz`` or ``.parquet``.
        cfg: the settings (default :class:`VariantScoreConfig`).
        scratch_config: the architecture of ``"scratch"``.
        force: replace an existing output.
        progress: show a tqdm bar (variants).

    Raises:
        ValueError: bad settings, input or output path; a variant a policy refuses (its line);
            a fine-tuned classifier as ``model`` (:func:`refuse_classifier`).
        FileNotFoundError: a missing input or model.
        FileExistsError: the output exists and ``force`` is False.
    """
    from tqdm.auto import tqdm

    cfg = cfg or VariantScoreConfig()
    device = resolve_device(cfg.device)
    fmt = output_format(out_path)
    variants = VariantFile(variants_path)
    taken = set(variants.columns) & set(SCORE_COLUMNS)
    if taken:
        raise ValueError(
            f"{variants.path}: the input already has a column {sorted(taken)[0]!r}, which the "
            f"output adds ({', '.join(SCORE_COLUMNS)}); rename that column"
        )
    refuse_classifier(model)
    which = choose_network(model, cfg.which)
    cfg = replace(cfg, n_cls=source_n_cls(model, which, cfg.n_cls))
    net, model_id = load_encoder(
        model, which=which, length_mode="fixed", seed=cfg.seed, scratch_config=scratch_config
    )
    window = model_window(net, cfg.window, cfg.n_cls)
    inputs = [variants.path, genome_path] + ([model] if Path(model).exists() else [])
    out = check_output_file(out_path, force=force, inputs=inputs)
    genome = ReferenceGenome(genome_path)
    kept, skipped = check_policies(genome, variants, cfg)
    if kept + skipped == 0:
        raise ValueError(f"{variants.path}: no variants found (only header lines)")
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
    bar = tqdm(total=kept, unit="variant", disable=not progress, desc="score-variants")
    with atomic_output(out) as tmp:
        writer = _Writer(tmp, fmt, variants)
        try:
            for chunk, scores in scored_chunks(net, genome, variants, window, cfg, device):
                if chunk:
                    writer.write(_frame(variants, chunk, scores))
                rows += len(chunk)
                scored += sum(s.status == "ok" for s in scores)
                bar.update(len(chunk))
            if rows == 0:  # every variant skipped: the columns alone
                writer.write(_frame(variants, [], []))
        finally:
            writer.close()
            bar.close()
    result = ScoreVariantsResult(out, rows, scored, rows - scored, skipped, which, window, model_id)
    log.info(
        "wrote %s: %d rows, %d scored, %d flagged, %d skipped",
        out,
        rows,
        scored,
        result.flagged,
        skipped,
    )
    return result


__all__ = [
    "OUTPUT_SUFFIXES",
    "ScoreVariantsResult",
    "output_format",
    "refuse_classifier",
    "score_variants_file",
]
