"""Readers for labelled benchmark sequences, one function per published layout.

Every reader returns a :class:`~findna.data.labeled.LabeledSequences` (``str`` sequences, int64
labels or float32 regression targets, row ids) and validates what it reads: bad input raises
``ValueError`` naming the file and the 1-based *data* row (the header line is not counted), with
what to fix. Regression targets are read by :mod:`findna.data.targets`.

Layouts:

- :func:`read_table`: CSV/TSV with a header (GUE ``sequence,label``, GenomicBenchmarks
  ``seq,label``, ``seq<TAB>label``, the multi-task Nucleotide Transformer
  ``sequence,name,label,task`` selected by ``task``) and DNABERT's space-separated overlapping
  k-mers (detected and decoded to bases).
- The layouts users download themselves (class folders, coordinate lists + genome, FASTA per
  class) are in :mod:`findna.data.layouts`, built on the helpers here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from findna.data.alphabet import OnInvalid, decode, encode
from findna.data.kmers import decode_kmers, detect_kmers
from findna.data.labeled import LabeledSequences
from findna.data.labels import map_labels, shown
from findna.data.multilabels import parse_binary, parse_label_lists
from findna.data.table_files import table_errors, table_separator
from findna.data.targets import parse_targets, require_target_columns
from findna.outputs import require_file

log = logging.getLogger(__name__)

SEQUENCE_COLUMNS = ("sequence", "seq")


def data_row(path: str | Path, i: int) -> str:
    return f"{path}, data row {i + 1} (1-based, header not counted)"


def check_sequences(
    seqs: list[str], where: Callable[[int], str], on_invalid: OnInvalid = "error"
) -> list[str]:
    """Validate sequences in one vectorised pass; locate the first bad one only on failure.

    Args:
        seqs: the sequences.
        where: row index -> location text for messages (file and row).
        on_invalid: ``"error"`` raises on characters outside the DNA alphabet; ``"n"`` rewrites the
            affected sequences (upper case, invalid characters and IUPAC codes as N).

    Returns:
        The sequences, with rows rewritten under ``on_invalid="n"``.
    """
    for i, s in enumerate(seqs):
        if not s:
            raise ValueError(f"{where(i)}: empty sequence. Remove the row or fill in its sequence.")
    try:
        encode("".join(seqs))
        return seqs
    except ValueError:
        pass  # find the row below, with a message that names it
    out, rewritten = list(seqs), []
    for i, s in enumerate(seqs):
        try:
            encode(s, source=where(i))
        except ValueError as err:
            if on_invalid == "error" or "non-ASCII" in str(err):
                msg = str(err)
                raise ValueError(
                    msg if msg.startswith(where(i)) else f"{where(i)}: {msg}"
                ) from None
            out[i] = decode(encode(s, on_invalid="n"))
            rewritten.append(i)
    log.warning(
        "%d sequence(s) had invalid characters, read as N (first: %s)",
        len(rewritten),
        where(rewritten[0]),
    )
    return out


def parse_labels(
    values: Sequence[str], where: Callable[[int], str], num_classes: int | None = None
) -> np.ndarray:
    """Integer labels from strings; raise naming the row for non-integers or out-of-range values.

    Returns:
        (N,) int64 labels in ``0..num_classes-1`` (or ``>= 0`` when ``num_classes`` is None).
    """
    s = pd.Series(list(values), dtype=str).str.strip()
    ok = s.str.fullmatch(r"[+-]?\d+").to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise ValueError(
            f"{where(i)}: label {values[i]!r} is not an integer. Labels must be integer class "
            "indices 0..C-1; map class names to integers first."
        )
    labels = s.astype(np.int64).to_numpy()
    hi = num_classes if num_classes is not None else np.iinfo(np.int64).max
    bad = (labels < 0) | (labels >= hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        allowed = f"0..{num_classes - 1}" if num_classes is not None else ">= 0"
        raise ValueError(
            f"{where(i)}: label {labels[i]} is out of range (allowed {allowed}). "
            "Fix the label or the task's num_classes."
        )
    return labels


def parse_ints(values: Sequence[str], where: Callable[[int], str], what: str) -> np.ndarray:
    """Non-negative integer coordinates from strings; raise naming the row and ``what``.

    Args:
        values: the cells (surrounding spaces are ignored).
        where: row index -> location text for messages (file and row).
        what: the column, e.g. ``"start"``.

    Returns:
        (N,) int64 values ``>= 0``.
    """
    s = pd.Series(list(values), dtype=str).str.strip()
    ok = s.str.fullmatch(r"[+-]?\d+").to_numpy(dtype=bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise ValueError(
            f"{where(i)}: {what} {values[i]!r} is not an integer. Coordinates are whole 0-based "
            "base positions (e.g. 1200); fix the row."
        )
    out = s.astype(np.int64).to_numpy()
    neg = out < 0
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        raise ValueError(
            f"{where(i)}: {what} {out[i]} is negative. Coordinates are 0-based positions >= 0; "
            "fix the row."
        )
    return out


def find_sequence_column(path: Path, columns: Sequence[str], fix: str) -> str:
    """The first of :data:`SEQUENCE_COLUMNS` in ``columns``; raise naming the file otherwise.

    ``fix`` ends the message (what the caller can do, e.g. ``"Pass sequence_column=<name>."``).
    """
    found = next((c for c in SEQUENCE_COLUMNS if c in columns), None)
    if found is None:
        raise ValueError(
            f"{path}: no sequence column (looked for {list(SEQUENCE_COLUMNS)}); the header has "
            f"{list(columns)}. {fix}"
        )
    return found


def check_frame(path: Path, df: pd.DataFrame, sep: str, columns: Sequence[str], first: int = 0):
    """Refuse rows with more fields than the header, and rows mixing delimiters: a cell of
    ``columns`` holding the other one, or a row lacking a field of ``columns`` after a cell that
    holds it (``x2<TAB>ACGT`` in a CSV); ``first`` is the data row of ``df``'s first row."""
    if not isinstance(df.index, pd.RangeIndex):
        raise ValueError(
            f"{path}: the data rows have more fields than the header {list(df.columns)}: a "
            "delimiter at the end of every row, or a column without a name in the header. Remove "
            "the trailing delimiters or name every column."
        )
    (other, name), kind = ((",", "comma"), "tab") if sep == "\t" else (("\t", "tab"), "comma")
    header = list(df.columns)
    found: list[tuple[int, int, str, str]] = []  # (row, place, column holding `other`, lacking)
    for column in columns:
        place = header.index(column)
        bad = np.flatnonzero(df[column].str.contains(other, regex=False).to_numpy(dtype=bool))
        found += [(int(bad[0]), place, column, "")] if bad.size else []
        for i in np.flatnonzero((df[column] == "").to_numpy(dtype=bool)):
            holder = next((c for c in header[:place] if other in df[c].iloc[i]), None)
            if holder is not None:
                found.append((int(i), place, holder, column))
                break
    if found:
        i, _, column, lacks = min(found)
        shifted = f", and its {lacks!r} field is empty as a result" if lacks else ""
        raise ValueError(
            f"{data_row(path, first + i)}: the row holds a {name} but the file is {kind}-separated"
            f": the rows mix delimiters (its {column!r} field holds a {name}{shifted}). Use one "
            "delimiter throughout (commas in .csv, tabs in .tsv files)."
        )


def read_frame(path: Path, sep: str | None) -> pd.DataFrame:
    require_file(path, "table")
    if sep is None:
        sep = table_separator(path)
    with table_errors(path, sep):
        df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_filter=False)
    df.columns = [str(c).strip() for c in df.columns]
    check_frame(path, df, sep, [])
    return df


def check_unique_ids(
    path: Path,
    ids: Sequence[str],
    where: Callable[[int], str],
    seen: dict[str, int] | None = None,
    first: int = 0,
) -> None:
    """Refuse a repeated row id, naming both rows (FASTA record names must be unique too).

    For a file read in chunks, pass the same ``seen`` (id -> row) dict for every chunk and
    ``first``, the row index of the chunk's first row; ``where`` takes row indices.
    """
    seen = {} if seen is None else seen
    for i, rid in enumerate(ids, start=first):
        if rid in seen:
            raise ValueError(
                f"{where(i)}: id {rid!r} repeats {where(seen[rid]).removeprefix(f'{path}, ')}. "
                "Row ids must be unique: rename or remove one of the rows (or rename the column "
                "if it does not hold row ids)."
            )
        seen[rid] = i


def require_column(path: Path, df: pd.DataFrame, column: str, what: str) -> None:
    if column not in df.columns:
        raise ValueError(
            f"{path}: no {what} column {column!r}; the header has {list(df.columns)}. "
            "Rename the column or tell the reader which one to use."
        )


def read_table(
    path: str | Path,
    *,
    sequence_column: str | None = None,
    label_column: str = "label",
    sep: str | None = None,
    task: str | tuple[str, ...] | None = None,
    task_column: str = "task",
    id_column: str | None = None,
    num_classes: int | None = None,
    classes: Sequence[str] | None = None,
    kmer: bool | None = None,
    on_invalid: OnInvalid = "error",
    target_columns: Sequence[str] | None = None,
    multilabel: bool = False,
    label_separator: str | None = None,
) -> LabeledSequences:
    """Read a CSV/TSV of labelled sequences with a header line.

    Args:
        path: the file (``.gz`` is decompressed).
        sequence_column: the sequence column; None picks the first of ``sequence``, ``seq``.
        label_column: the integer label column.
        sep: field separator; None: tab for ``.tsv``/``.txt`` files, else comma.
        task: keep only rows whose ``task_column`` equals this (multi-task NT file); a tuple
            keeps rows whose value, stripped and lower-cased, is one of it (a split column).
        task_column: the column holding task names.
        id_column: a column to use as row ids; None uses ``<file name>:<data row>``.
        num_classes: when given, labels must lie in ``0..num_classes-1``.
        classes: label values in label order (``"enhancer"``, ...): a row's label is the index
            of its value, and a value not listed is an error. None: labels are integers.
        kmer: True decodes space-separated overlapping k-mers; None detects them
            (:func:`detect_kmers`: every non-empty row holds >= 2 space-separated tokens, and a
            stray space in a plain-sequence file is an error naming its row); False treats spaces
            as invalid characters.
        on_invalid: ``"error"`` or ``"n"`` (see :func:`check_sequences`).
        target_columns: a regression task's target columns, in target order: the labels are
            then their (N, T) float32 values (:mod:`findna.data.targets`) and ``label_column``,
            ``num_classes`` and ``classes`` are unused.
        multilabel: the labels are (N, L) 0/1 (:mod:`findna.data.multilabels`): with
            ``target_columns`` one 0/1 column per label; with ``label_separator`` the
            ``label_column`` lists each row's positive labels and ``classes`` names the L labels.
        label_separator: see ``multilabel``.

    Returns:
        The rows, in file order.
    """
    path = Path(path)
    df = read_frame(path, sep)
    if sequence_column is None:
        sequence_column = find_sequence_column(
            path, list(df.columns), "Rename the column or pass sequence_column=<name>."
        )
    require_column(path, df, sequence_column, "sequence")
    if multilabel and target_columns is None and (label_separator is None or classes is None):
        raise ValueError(
            f"{path}: a multi-label table needs its 0/1 label columns, or its label column with "
            "a separator and the label names"
        )
    if target_columns is None:
        require_column(path, df, label_column, "label")
        value_columns = [label_column]
    else:
        require_target_columns(path, list(df.columns), target_columns)
        value_columns = list(target_columns)
    check_frame(path, df, sep or table_separator(path), [sequence_column, *value_columns])
    rows = np.arange(len(df))
    if task is not None:
        require_column(path, df, task_column, "task")
        values = df[task_column]
        if isinstance(task, tuple):
            keep = values.str.strip().str.lower().isin(task).to_numpy()
        else:
            keep = (values == task).to_numpy()
        if not keep.any():
            raise ValueError(
                f"{path}: no rows with {task_column}={task!r}; tasks present: "
                f"{shown(sorted(df[task_column].unique()))}"
            )
        df, rows = df[keep], rows[keep]
    if len(df) == 0:
        raise ValueError(f"{path}: no data rows (only a header). Fill in the file or remove it.")

    def where(i: int) -> str:
        return data_row(path, int(rows[i]))

    seqs = df[sequence_column].str.strip().tolist()
    if kmer is None:
        kmer = detect_kmers(seqs, where)
    if kmer:
        k = len(seqs[0].split()[0]) if seqs[0].split() else None
        seqs = [decode_kmers(s, source=where(i), k=k) for i, s in enumerate(seqs)]
    seqs = check_sequences(seqs, where, on_invalid)
    if multilabel and target_columns is not None:
        labels = parse_binary(df, target_columns, where)
    elif multilabel:
        cells = df[label_column].tolist()
        labels = parse_label_lists(cells, classes, label_separator, where, label_column)
    elif target_columns is not None:
        labels = parse_targets(df, target_columns, where)
    elif classes is None:
        labels = parse_labels(df[label_column].tolist(), where, num_classes)
    else:
        labels = map_labels(df[label_column].tolist(), classes, where)
    if id_column is not None:
        require_column(path, df, id_column, "id")
        ids = df[id_column].tolist()
        check_unique_ids(path, ids, where)
    else:
        ids = [f"{path.name}:{r + 1}" for r in rows]
    return LabeledSequences(seqs, labels, ids)
