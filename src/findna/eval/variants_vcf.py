"""VCF output of ``findna score-variants``: the scores in INFO fields (docs/variants.md).

A VCF 4.2 file with the input VCF's meta lines and records kept as written (its 8 fixed fields;
sample columns are not read), and two INFO fields appended, one value per ALT allele
(``Number=A``), so that a multi-allelic record stays one record:

- ``FINDNA_LLR``: the score (``llr``), ``.`` for an allele that was not scored;
- ``FINDNA_STATUS``: on records where some allele was not scored, why (``ok`` for the scored
  ones).

A table input becomes minimal records (ID, QUAL and FILTER ``.``; its other columns are not
written). ``.vcf.gz`` is written as BGZF (:mod:`findna.data.bgzf`), so ``tabix -p vcf`` indexes
it once the records are sorted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from findna.data.bgzf import BgzfWriter
from findna.data.reference import ReferenceGenome
from findna.data.variants import VCF_COLUMNS, Variant, VariantFile
from findna.eval.variants import STATUSES, VariantScore
from findna.version import __version__

LLR_KEY, STATUS_KEY = "FINDNA_LLR", "FINDNA_STATUS"
INFO_LINES = (
    f'##INFO=<ID={LLR_KEY},Number=A,Type=Float,Description="findna zero-shot score of each ALT '
    "allele: log P(ALT) - log P(REF) from the MNM head with the site masked, forward and reverse "
    f'strands averaged; . where not scored (see {STATUS_KEY})">',
    f'##INFO=<ID={STATUS_KEY},Number=A,Type=String,Description="Why an ALT allele has no '
    f"{LLR_KEY}: {', '.join(STATUSES)}; ok where scored. Only on records with an unscored "
    'allele">',
)


def check_vcf_input(variants: VariantFile) -> None:
    """Refuse a VCF that already carries findna's INFO fields (a scored file scored again).

    Raises:
        ValueError: naming the file and how to remove the fields.
    """
    for line in variants.meta_lines():
        for key in (LLR_KEY, STATUS_KEY):
            if line.startswith(f"##INFO=<ID={key},"):
                raise ValueError(
                    f"{variants.path}: the VCF already has the INFO field {key}, which the output "
                    f"adds; remove it first (bcftools annotate -x INFO/{LLR_KEY},INFO/{STATUS_KEY})"
                )


def vcf_header(
    variants: VariantFile, genome: ReferenceGenome, extra: list[str] | tuple[str, ...] = ()
) -> str:
    """The header: ``##fileformat``, the input's meta lines, contigs (from the genome when the
    input names none), findna's INFO lines, ``##source``, ``##reference``, ``extra`` lines and the
    ``#CHROM`` line."""
    kept = [line for line in variants.meta_lines() if not line.startswith("##fileformat=")]
    lines = ["##fileformat=VCFv4.2", *kept]
    if not any(line.startswith("##contig=") for line in kept):
        lines += [f"##contig=<ID={n},length={genome.length(n)}>" for n in genome.names]
    lines += [*INFO_LINES, f"##source=findna {__version__}"]
    lines += [f"##reference={Path(genome.path).resolve().as_uri()}", *extra]
    lines.append("#" + "\t".join(VCF_COLUMNS))
    return "\n".join(lines) + "\n"


def _value(score: VariantScore | None) -> tuple[str, str]:
    """(FINDNA_LLR, FINDNA_STATUS) of one allele; None: left out by ``non_snv: skip``."""
    if score is None:
        return ".", "non_snv"
    if score.status != "ok":
        return ".", score.status
    return repr(score.llr), "ok"


class VcfWriter:
    """Writes scored variants as VCF records, one per input record (its alleles rejoined), plain
    or BGZF (``bgzf``).

    Rows of one record arrive together (the readers yield a record's alleles in a row), but may
    straddle two chunks, so the last record of a chunk is held until the next one.
    """

    def __init__(self, path: Path, variants: VariantFile, header: str, *, bgzf: bool) -> None:
        self.variants = variants
        self._is_vcf = variants.kind == "vcf"
        self._fh: TextIO | BgzfWriter
        self._fh = BgzfWriter(path) if bgzf else open(path, "w", newline="")
        self._fh.write(header)
        self._pending: list[tuple[Variant, VariantScore]] = []

    def write(self, rows: list[Variant], scores: list[VariantScore]) -> None:
        for v, s in zip(rows, scores, strict=True):
            if self._pending and self._pending[0][0].where != v.where:
                self._flush()
            self._pending.append((v, s))

    def _flush(self) -> None:
        first = self._pending[0][0]
        alts = first.record_alt or first.alt
        by_allele: dict[int, VariantScore] = {v.allele: s for v, s in self._pending}
        values = [_value(by_allele.get(k)) for k in range(len(alts.split(",")))]
        info = f"{LLR_KEY}={','.join(llr for llr, _ in values)}"
        if any(status != "ok" for _, status in values):
            info += f";{STATUS_KEY}={','.join(status for _, status in values)}"
        pos = str(first.pos)  # as read: an integer
        if self._is_vcf:
            chrom, _, vid, ref, _, qual, filt, old = first.values
            info = info if old in (".", "") else f"{old};{info}"
        else:
            chrom, ref = first.chrom, first.values[self.variants.site[2]]
            vid = qual = filt = "."
        self._fh.write("\t".join((chrom, pos, vid, ref, alts, qual, filt, info)) + "\n")
        self._pending = []

    def close(self) -> None:
        if self._pending:
            self._flush()
        self._fh.close()


__all__ = ["INFO_LINES", "LLR_KEY", "STATUS_KEY", "VcfWriter", "check_vcf_input", "vcf_header"]
