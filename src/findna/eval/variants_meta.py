"""What made a file of variant scores, and the names of the files written beside it.

``OUT.meta.json`` (and a Parquet output's schema metadata, key ``findna``, as ``findna embed``
writes) records the model (source, weights id, network, window, CLS rows), the genome and the
variant file with their md5, the settings, findna's version and commit, the date and the
machine (:class:`findna.provenance.Provenance`). The md5 of the genome reads the whole file
once: about 2 s per GB on one core (a few seconds for a human genome, before any scoring).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

OUTPUT_SUFFIXES = (".tsv", ".tsv.gz", ".parquet", ".vcf", ".vcf.gz")
META_KEY = b"findna"  # the Parquet schema metadata key of the provenance JSON, as embed's


def output_format(path: str | Path) -> str:
    """``"tsv"``, ``"tsv.gz"``, ``"parquet"``, ``"vcf"`` or ``"vcf.gz"`` by the suffix of
    ``path``; ValueError otherwise."""
    name = Path(path).name.lower()
    for suffix in sorted(OUTPUT_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix[1:]
    raise ValueError(
        f"--out {path}: unknown output type; end the name in {', '.join(OUTPUT_SUFFIXES)}"
    )


def sidecar(out: str | Path, kind: str) -> Path:
    """``scores.vcf.gz`` -> ``scores.<kind>.json`` (``meta``: provenance; ``metrics``: labels)."""
    out = Path(out)
    stem = out.name[: -len(output_format(out)) - 1]
    return out.with_name(f"{stem}.{kind}.json")


def _genome_files(genome: Path) -> list[Path]:
    """The files a genome is read from: the FASTA, or a prepared folder's data and index."""
    if not genome.is_dir():
        return [genome]
    return [
        genome / n for n in ("index.json", "codes.u8", "softmask.bits") if (genome / n).exists()
    ]


def scores_provenance(
    variants: Path, genome: Path, model: str, model_id: str, which: str, window: int, cfg: Any
) -> dict[str, Any]:
    """What made the scores: the model (source, weights id, network, window, CLS rows), the
    genome and variant files with their md5, the settings, findna's version and commit, the date
    and the machine (:class:`findna.provenance.Provenance`)."""
    from findna.config import config_to_dict
    from findna.provenance import Provenance

    settings = config_to_dict(cfg)
    model_info = {"source": str(model), "model_id": model_id, "network": which, "window": window}
    provenance = Provenance.collect(
        {"score_variants": settings, "model": {**model_info, "n_cls": cfg.n_cls}},
        data_files={"variants": [variants], "genome": _genome_files(genome)},
    )
    provenance.checkpoint_id = model_id  # load_encoder's sha256 of the weights it loaded
    genome_md5 = provenance.data_checksums["genome"]
    return {
        "command": "score-variants",
        "model_source": str(model),
        "model_id": model_id,
        "network": which,
        "window": window,
        "n_cls": cfg.n_cls,
        "genome": str(genome),
        "genome_md5": genome_md5[str(genome)] if len(genome_md5) == 1 else genome_md5,
        "variants": str(variants),
        "variants_md5": next(iter(provenance.data_checksums["variants"].values())),
        "settings": settings,
        **asdict(provenance),
    }


__all__ = ["META_KEY", "OUTPUT_SUFFIXES", "output_format", "scores_provenance", "sidecar"]
