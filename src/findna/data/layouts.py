"""Benchmark layouts that users download themselves, read into :class:`LabeledSequences`.

- :func:`read_class_folders`: GenomicBenchmarks' downloaded ``<split>/<class>/*.txt`` (one sequence
  per file).
- :func:`read_coordinate_folder` / :func:`read_coordinates`: GenomicBenchmarks interval lists
  ``<split>/<class>.csv[.gz]`` with ``id,region,start,end,strand`` plus a genome FASTA.
- :func:`read_fasta_classes`: one or more FASTA files per class (MTcDNA), with the paper's length
  filter, truncation and N padding (docs/method.md §5.4).

Errors follow :mod:`findna.data.readers`: they name the file and the 1-based data row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from findna.data.alphabet import OnInvalid, reverse_complement
from findna.data.fasta import read_fasta
from findna.data.labels import shown
from findna.data.readers import (
    LabeledSequences,
    check_sequences,
    data_row,
    parse_ints,
    parse_labels,
    read_frame,
    require_column,
)

log = logging.getLogger(__name__)


def _class_labels(
    names: list[str], classes: Sequence[str] | None, where: Path, num_classes: int | None
) -> dict[str, int]:
    """Class name -> label: ``classes`` order if given, integer names as is, else sorted names."""
    if classes is not None:
        missing = sorted(set(names) - set(classes))
        if missing:
            raise ValueError(
                f"{where}: classes {shown(missing)} are not in classes={shown(classes)}"
            )
        mapping = {c: i for i, c in enumerate(classes)}
    elif all(n.isdigit() for n in names):
        mapping = {n: int(n) for n in names}
    else:
        mapping = {n: i for i, n in enumerate(sorted(names))}
    if num_classes is not None and max(mapping[n] for n in names) >= num_classes:
        raise ValueError(
            f"{where}: classes {shown(sorted(names))} give labels "
            f"{shown(sorted(mapping[n] for n in names))}, "
            f"but the task has num_classes={num_classes}. Fix num_classes or the class names."
        )
    return mapping


def read_class_folders(
    folder: str | Path,
    *,
    classes: Sequence[str] | None = None,
    num_classes: int | None = None,
    on_invalid: OnInvalid = "error",
) -> LabeledSequences:
    """Read GenomicBenchmarks' downloaded layout ``folder/<class>/*.txt`` (one sequence per file).

    Labels: the position in ``classes`` if given; the integer itself for folders named ``0``,
    ``1``, ...; otherwise the position of the folder name in sorted order (``negative`` = 0,
    ``positive`` = 1). Ids are ``<class>/<file stem>``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder (expected <class>/*.txt inside)")
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir())
    if not class_dirs:
        raise ValueError(f"{folder}: no class sub-folders; expected {folder}/<class>/*.txt")
    mapping = _class_labels([p.name for p in class_dirs], classes, folder, num_classes)
    seqs, labels, ids, files = [], [], [], []
    for d in class_dirs:
        for f in sorted(d.glob("*.txt")):
            seqs.append("".join(f.read_text().split()))
            labels.append(mapping[d.name])
            ids.append(f"{d.name}/{f.stem}")
            files.append(f)
    if not seqs:
        raise ValueError(f"{folder}: the class folders hold no .txt files")
    seqs = check_sequences(seqs, lambda i: str(files[i]), on_invalid)
    return LabeledSequences(seqs, np.array(labels), ids)


def open_genome(genome: str | Path | Mapping[str, str]) -> Mapping[str, str]:
    """A region name -> sequence mapping that supports ``g[name][start:end]`` and ``len``.

    Plain FASTA goes through pyfaidx (indexed, not loaded); gzip FASTA (or pyfaidx failure, e.g. a
    read-only folder for the ``.fai``) is read into memory.
    """
    if not isinstance(genome, (str, Path)):
        return genome  # already opened (dict or pyfaidx.Fasta)
    path = Path(genome)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: genome FASTA not found")
    if path.suffix != ".gz":
        try:
            import pyfaidx

            return pyfaidx.Fasta(str(path), as_raw=True, sequence_always_upper=False)
        except Exception as err:  # noqa: BLE001 - any index problem: fall back to reading it
            log.info("pyfaidx cannot index %s (%s); reading it into memory", path, err)
    return {r.name: r.raw.decode("ascii") for r in read_fasta(path, on_invalid="n")}


def read_coordinates(
    path: str | Path,
    genome: str | Path | Mapping[str, str],
    *,
    label: int | None = None,
    label_column: str = "label",
    num_classes: int | None = None,
    on_invalid: OnInvalid = "error",
) -> LabeledSequences:
    """Sequences from an interval list (``id,region,start,end,strand``) and a genome.

    Coordinates are 0-based, end-exclusive (GenomicBenchmarks and Python slicing); ``strand`` ``-``
    takes the reverse complement; a missing ``strand`` column means ``+``. The label is ``label``
    for every row if given, else the ``label_column``.
    """
    path = Path(path)
    df = read_frame(path, None)
    for col in ("region", "start", "end"):
        require_column(path, df, col, col)
    if len(df) == 0:
        raise ValueError(f"{path}: no data rows (only a header)")
    if label is None:
        require_column(path, df, label_column, "label")
    g = open_genome(genome)
    where = lambda i: data_row(path, i)  # noqa: E731
    starts = parse_ints(df["start"].tolist(), where, "start")
    ends = parse_ints(df["end"].tolist(), where, "end")
    empty = ends <= starts
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise ValueError(
            f"{where(i)}: end {ends[i]} <= start {starts[i]}. Coordinates are 0-based and "
            "end-exclusive, so end must be greater than start; fix the row."
        )
    strands = df["strand"].str.strip().tolist() if "strand" in df.columns else ["+"] * len(df)
    seqs = []
    for i, region in enumerate(df["region"].str.strip()):
        if region not in g:
            names = list(g.keys())
            raise ValueError(
                f"{where(i)}: region {region!r} is not in the genome (it has {names[:5]}"
                f"{' ...' if len(names) > 5 else ''}). Use the genome the coordinates refer to."
            )
        size = len(g[region])
        if ends[i] > size:
            raise ValueError(
                f"{where(i)}: interval {region}:{starts[i]}-{ends[i]} is outside 0..{size} "
                "(coordinates are 0-based, end-exclusive). Fix the row or use the genome the "
                "coordinates refer to."
            )
        if strands[i] not in ("+", "-"):
            raise ValueError(f"{where(i)}: strand {strands[i]!r} must be '+' or '-'")
        seq = str(g[region][int(starts[i]) : int(ends[i])])
        seqs.append(reverse_complement(seq) if strands[i] == "-" else seq)
    seqs = check_sequences(seqs, where, on_invalid)
    if label is None:
        labels = parse_labels(df[label_column].tolist(), where, num_classes)
    else:
        labels = np.full(len(df), label, dtype=np.int64)
    id_col = df["id"].tolist() if "id" in df.columns else [str(i + 1) for i in range(len(df))]
    return LabeledSequences(seqs, labels, [f"{path.name}:{x}" for x in id_col])


def read_coordinate_folder(
    folder: str | Path,
    genome: str | Path | Mapping[str, str],
    *,
    classes: Sequence[str] | None = None,
    num_classes: int | None = None,
    on_invalid: OnInvalid = "error",
) -> LabeledSequences:
    """GenomicBenchmarks interval lists ``folder/<class>.csv[.gz]``, one file per class.

    Class labels follow :func:`read_class_folders` (``classes`` order, integer names, or sorted).
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.csv")) + sorted(folder.glob("*.csv.gz"))
    if not files:
        raise FileNotFoundError(f"{folder}: no <class>.csv or <class>.csv.gz files")
    names = [f.name.split(".")[0] for f in files]
    mapping = _class_labels(names, classes, folder, num_classes)
    g = open_genome(genome)
    parts = [
        read_coordinates(f, g, label=mapping[n], on_invalid=on_invalid)
        for f, n in zip(files, names, strict=True)
    ]
    return LabeledSequences.concat(parts)


def read_fasta_classes(
    class_files: Mapping[int, Sequence[str | Path]],
    *,
    max_len: int | None,
    min_length: int = 5000,
    pad_char: str = "N",
    on_invalid: OnInvalid = "error",
) -> LabeledSequences:
    """One or more FASTA files per class (MTcDNA layout) with the reference
    code's protocol (docs/method.md §5.4).

    Keeps records strictly longer than ``min_length``, upper-cases them, keeps the first
    ``max_len`` bases and right-pads shorter ones with ``pad_char`` (N, a real one-hot N channel).
    Records are taken class by class (ascending label), file by file, in file order.

    Args:
        class_files: label -> FASTA paths (plain or gzip).
        max_len: output length L of every sequence; None keeps records whole, unpadded.
        min_length: length threshold; only records longer than this are kept (paper: 5000).
        pad_char: padding letter.
        on_invalid: ``"error"`` or ``"n"``.
    """
    if max_len is not None and max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    seqs, labels, ids, where = [], [], [], []
    for label in sorted(class_files):
        for f in class_files[label]:
            kept = total = 0
            for rec in read_fasta(f, on_invalid=on_invalid):
                name, seq = rec.name, rec.raw.decode("ascii")
                total += 1
                if len(seq) > min_length:
                    kept += 1
                    seq = seq.upper()
                    seqs.append(seq if max_len is None else seq[:max_len].ljust(max_len, pad_char))
                    labels.append(label)
                    ids.append(f"{Path(f).name}:{name}")
                    where.append(f"{f}, record {name!r}")
            log.info("%s: kept %d of %d records longer than %d bp", f, kept, total, min_length)
    if not seqs:
        raise ValueError(
            f"no FASTA record longer than min_length={min_length} in "
            f"{[str(f) for fs in class_files.values() for f in fs]}. Lower min_length."
        )
    seqs = check_sequences(seqs, lambda i: where[i], on_invalid)
    return LabeledSequences(seqs, np.array(labels), ids)
