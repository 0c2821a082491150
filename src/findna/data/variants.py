"""Variant lists: VCF (plain or gzip), a TSV/CSV table or a Parquet file with columns chrom, pos,
ref, alt.

Both give one :class:`Variant` per (site, alternative allele): a multi-allelic record (ALT
``A,G``) is split into one variant per allele. Positions are **1-based** in both formats (the VCF
convention); ``Variant.start`` is the 0-based index into the chromosome.

- VCF: ``##`` meta lines are skipped; the ``#CHROM POS ID REF ALT QUAL FILTER INFO`` header line
  names the columns (the 8 fixed ones are kept, sample columns are dropped). Data lines need at
  least the first 5 tab-separated fields; missing QUAL/FILTER/INFO read as ``.``.
- TSV/CSV (``.tsv``/``.txt`` tab-separated, ``.csv`` comma-separated, optionally ``.gz``): a header
  with the columns ``chrom``, ``pos``, ``ref`` and ``alt`` (any case, any order, other columns
  kept as they are).
- Parquet (``.parquet``): the same columns as a table; values are read as text (an integral float
  position, as pandas writes a column with missing values, reads as the integer; a missing value
  as empty). Messages name ``FILE row N`` (1-based, data rows only).

A line that cannot be read (too few fields, a position that is not a positive integer, REF with
letters other than ACGTN, an empty allele) raises ``ValueError`` naming the file and line. A
well-formed variant that is not a scorable single-nucleotide variant (an indel, a symbolic or
missing allele, N, ALT equal to REF) is read, with the reason in :attr:`Variant.non_snv`; the
caller decides whether to flag, skip or refuse it.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from findna.data.fasta import is_gzip
from findna.outputs import require_file

VCF_COLUMNS = ("CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
TABLE_COLUMNS = ("chrom", "pos", "ref", "alt")
SNV_BASES = "ACGT"
_REF = re.compile(r"[ACGTN]+")
_TABLE_SEPARATORS = {".tsv": "\t", ".txt": "\t", ".csv": ","}
PARQUET_BATCH = 8192  # rows read from a Parquet file at a time


@dataclass(frozen=True)
class Variant:
    """One alternative allele at one site.

    Attributes:
        chrom: the chromosome (a genome record name).
        pos: 1-based position of the first REF base.
        ref: REF allele, upper case.
        alt: this ALT allele (one of a multi-allelic record's), upper case as given.
        where: ``"FILE line N"`` for messages.
        values: the input row's kept columns as written, with ALT holding only this allele (as
            written, case kept).
        non_snv: why it is not a scorable single-nucleotide variant, or None when it is.
        allele: the index of this allele in the record's ALT list (0 for the first).
        record_alt: the record's whole ALT field as written (``A,t,<DEL>``), so that a writer can
            put a split multi-allelic record back together.
    """

    chrom: str
    pos: int
    ref: str
    alt: str
    where: str
    values: tuple[str, ...]
    non_snv: str | None = None
    allele: int = 0
    record_alt: str = ""

    @property
    def start(self) -> int:
        """0-based index of the variant's first base in the chromosome."""
        return self.pos - 1


def non_snv_reason(ref: str, alt: str) -> str | None:
    """Why REF/ALT is not a scorable SNV (None when both are single, different A/C/G/T bases)."""
    if alt in (".", "*") or alt.startswith("<") or "[" in alt or "]" in alt:
        return f"ALT {alt!r} is not a nucleotide allele (missing, symbolic or breakend)"
    if len(ref) != 1 or len(alt) != 1:
        return f"REF {ref!r} / ALT {alt!r} is not a single-nucleotide variant (indel or MNV)"
    if ref not in SNV_BASES or alt not in SNV_BASES:
        return f"REF {ref!r} / ALT {alt!r}: only A, C, G and T alleles can be scored"
    if ref == alt:
        return f"ALT {alt!r} equals REF"
    return None


def _parse_pos(text: str, where: str, column: str) -> int:
    try:
        pos = int(text)
    except ValueError:
        pos = 0
    if pos < 1 or not text.strip().lstrip("+").isdigit():
        raise ValueError(
            f"{where}: {column} {text!r} is not a positive integer; positions are 1-based "
            "(the first base of a chromosome is 1)"
        )
    return pos


def _split(
    chrom: str, pos_text: str, ref: str, alts: str, where: str, columns: tuple[str, str, str, str]
) -> list[tuple[str, int, str, str]]:
    """Validate one row's site fields; return (chrom, pos, REF, ALT) per alternative allele."""
    c_chrom, c_pos, c_ref, c_alt = columns
    if not chrom:
        raise ValueError(f"{where}: empty {c_chrom}; give the chromosome (a genome record name)")
    pos = _parse_pos(pos_text, where, c_pos)
    ref_u = ref.upper()
    if not _REF.fullmatch(ref_u):
        raise ValueError(
            f"{where}: {c_ref} {ref!r} must be one or more bases A, C, G, T or N (as in the "
            "genome at that position)"
        )
    out = []
    for alt in alts.split(","):
        if not alt:
            raise ValueError(
                f"{where}: empty allele in {c_alt} {alts!r}; separate alleles with single commas "
                "and write '.' for a missing one"
            )
        alt_u = alt if alt.startswith("<") else alt.upper()
        out.append((chrom, pos, ref_u, alt_u))
    return out


def _open_text(path: Path) -> TextIO:
    raw = gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its line end), with read errors naming the file."""
    try:
        with _open_text(path) as fh:
            for n, line in enumerate(fh, start=1):
                yield n, line.rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason}); is it a VCF or table?") from None
    except EOFError:
        raise ValueError(f"{path}: the gzip stream ends early (truncated file?)") from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(f"{path}: not a readable gzip file ({err}); `gzip -t` checks it") from None


def site_columns(
    names: tuple[str, ...], where: str, kind: str = "", hint: str = ""
) -> tuple[int, int, int, int]:
    """The indices of chrom, pos, ref and alt among a table's column ``names`` (any case).

    Raises:
        ValueError: a column is missing or appears twice, naming ``where`` (file and line).
    """
    lower = [h.lower() for h in names]
    missing = [c for c in TABLE_COLUMNS if c not in lower]
    if missing:
        raise ValueError(
            f"{where}: missing column(s) {', '.join(missing)}; the header has "
            f"{', '.join(repr(x) for x in names)}. A variant table needs the {kind}"
            f"columns {', '.join(TABLE_COLUMNS)} (pos 1-based){hint}"
        )
    dup = [c for c in TABLE_COLUMNS if lower.count(c) > 1]
    if dup:
        raise ValueError(f"{where}: column {dup[0]!r} appears twice in the header")
    return tuple(lower.index(c) for c in TABLE_COLUMNS)  # type: ignore[return-value]


def _row_variants(
    fields: list[str], site_at: tuple[int, int, int, int], where: str, names: tuple[str, ...]
) -> Iterator[Variant]:
    """The variants of one table row (one per allele of its alt column)."""
    i_alt = site_at[3]
    site = [fields[i] for i in site_at]
    alleles = _split(*site, where, names)  # type: ignore[arg-type]
    for k, ((chrom, pos, ref, alt), written) in enumerate(
        zip(alleles, site[3].split(","), strict=True)
    ):
        values = tuple(written if i == i_alt else f for i, f in enumerate(fields))
        yield Variant(chrom, pos, ref, alt, where, values, non_snv_reason(ref, alt), k, site[3])


def _text(value: object) -> str:
    """A Parquet cell as a table's text: missing is empty, an integral float an integer."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class VariantFile:
    """A VCF or TSV/CSV variant list; iterating reads it again from the start (streamed).

    Attributes:
        path: the file.
        kind: ``"vcf"`` or ``"table"``.
        columns: the names of the kept input columns (the output keeps them in this order).
        pos_column: the index of the position column in ``columns``.
        site: the indices of chrom, pos, ref and alt in ``columns``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = require_file(path, "variant file")
        name = self.path.name.lower().removesuffix(".gz")
        suffix = Path(name).suffix
        if suffix in (".vcf", ".bcf"):
            if suffix == ".bcf":
                raise ValueError(
                    f"{self.path}: BCF is binary; convert it with `bcftools view -Ov -o x.vcf`"
                )
            self.kind = "vcf"
            self._check_vcf_header()
            self.columns, self.pos_column = VCF_COLUMNS, 1
            self._site = (0, 1, 3, 4)
        elif suffix == ".parquet" and not self.path.name.lower().endswith(".gz"):
            self.kind = "parquet"
            self.columns, self._site = self._parquet_header()
            self.pos_column = self._site[1]
        elif suffix in _TABLE_SEPARATORS:
            self.kind = "table"
            self._sep = _TABLE_SEPARATORS[suffix]
            self.columns, self._site = self._table_header()
            self.pos_column = self._site[1]
        else:
            raise ValueError(
                f"{self.path}: unknown variant file type {suffix!r}; give a .vcf or .vcf.gz, or a "
                f"table (.tsv, .txt, .csv, optionally .gz, or .parquet) with columns "
                f"{', '.join(TABLE_COLUMNS)}"
            )

    @property
    def site(self) -> tuple[int, int, int, int]:
        """The indices of chrom, pos, ref and alt in :attr:`columns`."""
        return self._site

    def __iter__(self) -> Iterator[Variant]:
        if self.kind == "parquet":
            return self._read_parquet()
        return self._read_vcf() if self.kind == "vcf" else self._read_table()

    # --- VCF -------------------------------------------------------------------------------

    def _check_vcf_header(self) -> None:
        """The ``#CHROM`` line, when there is one before the data, must name the fixed columns."""
        for n, line in _lines(self.path):
            if line.startswith("##"):
                continue
            if line.startswith("#") and tuple(line[1:].split("\t")[:5]) != VCF_COLUMNS[:5]:
                raise ValueError(
                    f"{self.path} line {n}: the header line must start with "
                    f"#{chr(9).join(VCF_COLUMNS[:5])} (tab-separated), found {line[:60]!r}"
                )
            return

    def meta_lines(self) -> list[str]:
        """A VCF's ``##`` meta lines (empty for a table): a VCF writer keeps them."""
        if self.kind != "vcf":
            return []
        out = []
        for _, line in _lines(self.path):
            if not line.startswith("##"):
                break
            out.append(line)
        return out

    def _read_vcf(self) -> Iterator[Variant]:
        width = len(VCF_COLUMNS)
        for n, line in _lines(self.path):
            if not line or line.startswith("#"):
                continue
            where = f"{self.path} line {n}"
            fields = line.split("\t")
            if len(fields) < 5:
                raise ValueError(
                    f"{where}: {len(fields)} tab-separated field(s), a VCF data line needs at "
                    f"least 5 ({' '.join(VCF_COLUMNS[:5])}); found {line[:60]!r}"
                )
            kept = (fields + ["."] * width)[:width]
            site = _split(*fields[:2], fields[3], fields[4], where, ("CHROM", "POS", "REF", "ALT"))
            alleles = fields[4].split(",")
            for k, ((chrom, pos, ref, alt), written) in enumerate(zip(site, alleles, strict=True)):
                values = tuple(kept[:4]) + (written,) + tuple(kept[5:])
                reason = non_snv_reason(ref, alt)
                yield Variant(chrom, pos, ref, alt, where, values, reason, k, fields[4])

    # --- Parquet ---------------------------------------------------------------------------

    def _parquet_file(self):  # noqa: ANN202 - pyarrow.parquet.ParquetFile
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as err:
            raise ValueError(
                f"{self.path}: not a readable Parquet file ({err}); write it with pandas' "
                "to_parquet or pyarrow"
            ) from None

    def _parquet_header(self) -> tuple[tuple[str, ...], tuple[int, int, int, int]]:
        names = tuple(self._parquet_file().schema_arrow.names)
        return names, site_columns(names, f"{self.path} (Parquet schema)")

    def _read_parquet(self) -> Iterator[Variant]:
        import pyarrow as pa

        names = tuple(self.columns[i] for i in self._site)
        row = 0
        try:
            batches = self._parquet_file().iter_batches(batch_size=PARQUET_BATCH)
            for batch in batches:
                columns = [[_text(x) for x in c.to_pylist()] for c in batch.columns]
                for fields in zip(*columns, strict=True):
                    row += 1
                    where = f"{self.path} row {row}"
                    yield from _row_variants([f.strip() for f in fields], self._site, where, names)
        except pa.ArrowException as err:
            raise ValueError(f"{self.path}: cannot read the rows after row {row} ({err})") from None

    # --- TSV / CSV -------------------------------------------------------------------------

    def _table_rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, fields) of every non-empty line, the header first."""
        try:
            with _open_text(self.path) as fh:
                reader = csv.reader(fh, delimiter=self._sep)
                for fields in reader:
                    if fields and any(f.strip() for f in fields):
                        yield reader.line_num, fields
        except UnicodeDecodeError as err:
            raise ValueError(f"{self.path}: not UTF-8 text ({err.reason})") from None
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise ValueError(f"{self.path}: not a readable gzip file ({err})") from None
        except csv.Error as err:
            raise ValueError(f"{self.path}: not a readable table ({err})") from None

    def _table_header(self) -> tuple[tuple[str, ...], tuple[int, int, int, int]]:
        first = next(self._table_rows(), None)
        if first is None:
            raise ValueError(
                f"{self.path}: empty file; expected a header with {', '.join(TABLE_COLUMNS)}"
            )
        n, header = first
        names = tuple(h.strip() for h in header)
        sep = "tab" if self._sep == "\t" else "comma"
        other, hint = (",", ".csv") if self._sep == "\t" else ("\t", ".tsv")
        if len(names) == 1 and other in names[0]:
            hint = f"; this header is not {sep}-separated: name the file {hint}"
        else:
            hint = ""
        return names, site_columns(names, f"{self.path} line {n}", f"{sep}-separated ", hint)

    def _read_table(self) -> Iterator[Variant]:
        rows = self._table_rows()
        next(rows)  # the header, checked on opening
        names = tuple(self.columns[i] for i in self._site)
        for n, fields in rows:
            where = f"{self.path} line {n}"
            if len(fields) != len(self.columns):
                raise ValueError(
                    f"{where}: {len(fields)} field(s), the header has {len(self.columns)}; "
                    "check the separators on this line"
                )
            fields = [f.strip() for f in fields]
            yield from _row_variants(fields, self._site, where, names)


__all__ = [
    "SNV_BASES",
    "TABLE_COLUMNS",
    "VCF_COLUMNS",
    "Variant",
    "VariantFile",
    "non_snv_reason",
    "site_columns",
]
