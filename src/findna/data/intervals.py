"""Tasks kept as intervals on a reference genome (issue 23), as BEND and GenomicBenchmarks store
them: a BED (or a CSV/TSV with a header) of ``chrom, start, end``, an optional ``strand``, a split
column and a label column (or regression target columns), plus a reference genome (a FASTA, plain
or gzip/bgzip, or a ``findna prepare``d genome folder, read by
:class:`findna.data.reference.ReferenceGenome`).

Coordinates are BED's: 0-based, end excluded (``chr1 100 150`` is the 50 bases at Python
``chr1[100:150]``). Each interval's sequence is cut when the task is loaded: ``flank`` more bases
on each side, clipped at a chromosome's ends (with a warning that counts the rows clipped), and
reverse-complemented on a ``-`` strand (``.`` or no strand column reads as ``+``). The reference
reads IUPAC codes and other letters as N, and lower case (soft-masking) as the base.

Every row is checked against the reference before a model sees it, each bad row a ``ValueError``
naming the file, the row and the fix: a chromosome the reference lacks (with a ``chr1``/``1``
hint), an interval past a chromosome's end, start >= end, a coordinate that is no whole number, a
strand other than ``+``, ``-``, ``.``, a split value that names no split. Windows (with flanks) of
different splits that overlap are an error unless the task allows them (``allow_overlap: true``),
then a warning; both name how many pairs overlap and one of them.

This module reads and checks the interval file on its own; :mod:`findna.data.interval_windows`
checks the rows against the reference and cuts the sequences, and
:func:`findna.data.interval_tasks.interval_task` builds the task from a user's options.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from findna.data.fasta import is_gzip
from findna.data.readers import data_row, parse_ints, read_frame
from findna.data.splits import SPLIT_VALUES
from findna.data.table_files import table_errors, table_separator
from findna.data.task_spec import TaskSpec

INTERVAL_SUFFIXES = (".bed",)
"""Suffixes of interval files without a header (BED); ``.gz`` may follow."""
BED_COLUMNS = ("chrom", "start", "end", "name", "score", "strand", "split", "label")
"""The columns of a BED task without a header line: BED6, then the split and the label."""
COLUMN_NAMES = {
    "chrom": ("chrom", "chr", "chromosome", "seqname", "region"),
    "start": ("start", "chromstart"),
    "end": ("end", "chromend"),
}
"""Header names accepted for the coordinate columns (compared lower-case, a leading ``#``
dropped); GenomicBenchmarks calls the chromosome ``region``."""
STRANDS = ("+", "-", ".")
LAYOUT = (
    "a BED task is BED6 + split + label without a header (chrom, start, end, name, score, "
    "strand, split, label: 8 tab-separated columns), or a table with a header line naming chrom, "
    "start, end, optionally strand, the split column and the label (or target) columns"
)


@dataclass(frozen=True)
class IntervalTaskSpec(TaskSpec):
    """A task of genome intervals: ``files`` maps each split role to the one interval file,
    ``split_column`` names the column of each row's split and ``genome`` is the reference.

    Attributes:
        flank: bases added on each side of every interval (clipped at a chromosome's ends).
        allow_overlap: go on (with a warning) when windows of different splits overlap.
    """

    flank: int = 0
    allow_overlap: bool = False


def is_interval_file(path: Path) -> bool:
    """Whether ``path`` is named as a BED file (``.bed``, ``.bed.gz``)."""
    name = path.name.lower().removesuffix(".gz")
    return name.endswith(INTERVAL_SUFFIXES)


def interval_columns(header: Sequence[str]) -> dict[str, str] | None:
    """``chrom``/``start``/``end`` -> the header's column for each, or None when one is missing."""
    low = {str(c).strip().lstrip("#").strip().lower(): c for c in header}
    found = {
        k: next((low[n] for n in names if n in low), None) for k, names in COLUMN_NAMES.items()
    }
    return None if None in found.values() else found  # type: ignore[return-value]


@dataclass(frozen=True)
class IntervalRows:
    """The rows of an interval file, parsed and checked on their own (not yet against a genome).

    Attributes:
        path: the file.
        frame: every column as text, with a header (BED's default names when the file has none).
        chroms: N chromosome names; starts, ends: (N,) int64 0-based, end excluded.
        minus: (N,) bool, True on a ``-`` strand.
        roles: N split roles (``train``, ``dev``, ``test``).
        header: whether the file has a header line (rows are then data rows, else lines).
    """

    path: Path
    frame: pd.DataFrame
    chroms: list[str]
    starts: np.ndarray
    ends: np.ndarray
    minus: np.ndarray
    roles: list[str]
    header: bool

    def where(self, i: int) -> str:
        """The file and row of row ``i``, for messages."""
        return _where(self.path, self.header, i)

    def interval(self, i: int, lo: int | None = None, hi: int | None = None) -> str:
        """``chrom:start-end`` of row ``i`` (or of its window ``lo``-``hi``)."""
        lo = int(self.starts[i]) if lo is None else lo
        hi = int(self.ends[i]) if hi is None else hi
        return f"{self.chroms[i]}:{lo}-{hi}"


def _where(path: Path, header: bool, i: int) -> str:
    return data_row(path, i) if header else f"{path}, line {i + 1}"


def _read_bed(path: Path) -> tuple[pd.DataFrame, bool]:
    """A BED file's rows as text, and whether its first line is a header."""
    _refuse_browser_lines(path)
    with table_errors(path, "\t"):
        df = pd.read_csv(
            path, sep="\t", header=None, dtype=str, keep_default_na=False, na_filter=False
        )
    df = df.apply(lambda c: c.str.strip())
    first = [str(x) for x in df.iloc[0]] if len(df) else []
    numbers = len(first) >= 3 and all(x.lstrip("+-").isdigit() for x in first[1:3])
    if first and not numbers:  # a header line: chrom start end ... (BED's may start with '#')
        names = [x.lstrip("#").strip() for x in first]
        return pd.DataFrame(df.iloc[1:].to_numpy(), columns=names), True
    if df.shape[1] != len(BED_COLUMNS):
        raise ValueError(
            f"{path}: {df.shape[1]} columns and no header line; {LAYOUT}. Add the missing "
            "columns, or a header line naming them."
        )
    df.columns = list(BED_COLUMNS)
    return df.reset_index(drop=True), False


def _refuse_browser_lines(path: Path) -> None:
    """Refuse the UCSC genome browser's ``track``/``browser`` lines at the top of a BED."""
    if not path.is_file():
        return  # table_errors' reader says what is missing
    with (
        table_errors(path, "\t"),
        (gzip.open if is_gzip(path) else open)(path, "rt", errors="replace") as f,
    ):
        first = f.readline()
    if first.split(maxsplit=1)[:1] in (["track"], ["browser"]):
        raise ValueError(
            f"{path}, line 1: a UCSC {first.split()[0]!r} line ({first.strip()[:40]!r}); findna "
            "reads the BED rows and an optional header line only. Remove the track and browser "
            "lines (`grep -v -e '^track' -e '^browser' FILE > NEW`)."
        )


def read_interval_rows(
    path: Path, split_column: str, value_columns: Sequence[str], value_flag: str
) -> IntervalRows:
    """Read and check an interval file: its columns, coordinates, strands and split values.

    Args:
        path: a BED (``.bed``, ``.bed.gz``; with or without a header) or a CSV/TSV with a header.
        split_column: the column of each row's split.
        value_columns: the label column, or a regression task's target columns.
        value_flag: how a user names ``value_columns`` (for the message of a missing one).

    Returns:
        The rows; coordinates are non-negative integers with start < end.

    Raises:
        ValueError: a missing column (listing the expected layout), an empty file, a coordinate
            that is no whole number, start >= end, a bad strand or split value; each names the
            file and row.
    """
    if is_interval_file(path):
        df, header = _read_bed(path)
    else:
        df, header = read_frame(path, None), True
    columns = interval_columns(df.columns)
    have = list(df.columns)
    missing = [c for c in (split_column, *value_columns) if c not in have]
    if columns is None or missing:
        lacks = [] if columns is not None else ["chrom, start and end"]
        lacks += [repr(c) for c in missing]
        spaces = len(have) == 1 and len(str(have[0]).split()) > 1
        tabs = is_interval_file(path) or table_separator(path) == "\t"
        fix = (
            "BED and TSV files need tabs (`tr -s ' ' '\\t' < FILE > NEW`)"
            if tabs
            else "a .csv file needs commas (or name it .tsv and use tabs)"
        )
        hint = f" Its fields are separated by spaces: {fix}." if spaces else ""
        raise ValueError(
            f"{path}: no {' or '.join(lacks)} column; the columns are {have}. {LAYOUT} "
            f"(the split column is split_column: in a task YAML, the label {value_flag}).{hint}"
        )
    if len(df) == 0:
        raise ValueError(f"{path}: no intervals (no data rows). Fill in the file or remove it.")
    where = functools.partial(_where, path, header)
    starts = parse_ints(df[columns["start"]].tolist(), where, "start")
    ends = parse_ints(df[columns["end"]].tolist(), where, "end")
    empty = np.flatnonzero(ends <= starts)
    if empty.size:
        i = int(empty[0])
        raise ValueError(
            f"{where(i)}: start {starts[i]} >= end {ends[i]}: the interval is empty. Coordinates "
            "are BED's, 0-based with the end excluded, so end must be greater than start; fix "
            "the row."
        )
    strand = next((c for c in df.columns if c.lower() == "strand"), None)
    strands = [str(s).strip() for s in df[strand]] if strand else ["+"] * len(df)
    bad = [i for i, s in enumerate(strands) if s not in STRANDS]
    if bad:
        raise ValueError(
            f"{where(bad[0])}: strand {strands[bad[0]]!r} is not +, - or . (unknown, read as "
            "+). Fix the row."
        )
    words = {w: role for role, ws in SPLIT_VALUES.items() for w in ws}
    roles = [words.get(str(v).strip().lower()) for v in df[split_column]]
    if None in roles:
        i = roles.index(None)
        raise ValueError(
            f"{where(i)}: split {df[split_column].iloc[i]!r} in column {split_column!r} is not a "
            "split name. Use train, val (or dev, valid) or test, or drop the row."
        )
    chroms = [str(c).strip() for c in df[columns["chrom"]]]
    minus = np.array([s == "-" for s in strands], dtype=bool)
    return IntervalRows(path, df, chroms, starts, ends, minus, roles, header)  # type: ignore[arg-type]
