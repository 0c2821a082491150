"""The reference side of a task of genome intervals (:mod:`findna.data.intervals`): the genome,
each row's window on it (interval plus flanks, clipped at a chromosome's ends), the checks of
rows against it (unknown chromosomes, intervals past a chromosome's end), overlaps across splits,
and the sequences cut for each split when the task is loaded.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from findna.data.alphabet import OnInvalid, decode, reverse_complement_codes
from findna.data.intervals import IntervalRows, IntervalTaskSpec, read_interval_rows
from findna.data.labeled import LabeledSequences
from findna.data.labels import map_labels
from findna.data.readers import parse_labels
from findna.data.reference import ReferenceGenome
from findna.data.targets import parse_targets
from findna.logs import log_once

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=2)
def _open_reference(path: str, mtime_ns: int, size: int) -> ReferenceGenome:
    return ReferenceGenome(path)


def open_reference(path: str | Path) -> ReferenceGenome:
    """The reference genome at ``path`` (kept open for the next call while the file is unchanged).

    Raises:
        FileNotFoundError: no such file or folder, naming it and what a reference is.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"reference {path} does not exist. Give a FASTA file (plain, gzip or bgzip) or a "
            "`findna prepare genome` folder (--reference PATH, or reference: PATH in a task YAML)."
        )
    stat = path.stat()
    return _open_reference(str(path), stat.st_mtime_ns, stat.st_size)


def windows(rows: IntervalRows, ref: ReferenceGenome, flank: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's window on ``ref``: the interval and ``flank`` bases each side, clipped at the
    chromosome's ends (a warning counts the rows clipped).

    Returns:
        (lo, hi): (N,) int64 window bounds, 0-based, end excluded.

    Raises:
        ValueError: a chromosome ``ref`` lacks (with a ``chr`` hint) or an interval past a
            chromosome's end, naming the row.
    """
    sizes = np.empty(len(rows.chroms), dtype=np.int64)
    for i, chrom in enumerate(rows.chroms):
        size = ref.length(chrom)
        if size is None:
            raise ValueError(f"{rows.where(i)}: {unknown_chromosome(chrom, ref)}")
        sizes[i] = size
    past = np.flatnonzero(rows.ends > sizes)
    if past.size:
        i = int(past[0])
        raise ValueError(
            f"{rows.where(i)}: interval {rows.interval(i)} ends past the end of {rows.chroms[i]} "
            f"({sizes[i]:,} bp in {ref.path}). Coordinates are 0-based with the end excluded, so "
            f"end may be at most {sizes[i]}; fix the row, or use the reference the intervals "
            "were made on."
        )
    lo = np.maximum(rows.starts - flank, 0)
    hi = np.minimum(rows.ends + flank, sizes)
    clipped = np.flatnonzero((lo != rows.starts - flank) | (hi != rows.ends + flank))
    if clipped.size:
        i = int(clipped[0])
        _warn_once(
            (rows.path, "clipped", flank, clipped.size),
            "%s: %d interval(s) lie within the %d bp flank of a chromosome end; their windows "
            "are clipped there, so they are shorter (first: %s, window %s)",
            rows.path,
            clipped.size,
            flank,
            rows.where(i),
            rows.interval(i, int(lo[i]), int(hi[i])),
        )
    return lo, hi


def unknown_chromosome(chrom: str, ref: ReferenceGenome) -> str:
    """The message for a chromosome the reference lacks: a few of its names, and a hint when
    it has the name with or without ``chr``."""
    names = ref.names
    shown = ", ".join(names[:6]) + (f" ... ({len(names)} in all)" if len(names) > 6 else "")
    other = chrom.removeprefix("chr") if chrom.startswith("chr") else f"chr{chrom}"
    hint = (
        f" It has {other!r}: the intervals and the reference name chromosomes differently "
        "(chr1 vs 1); rename the chromosomes of one of the two."
        if ref.length(other) is not None
        else " Use the reference the intervals were made on, or fix the row."
    )
    return f"chromosome {chrom!r} is not in the reference {ref.path} (its records: {shown}).{hint}"


def overlaps(rows: IntervalRows, lo: np.ndarray, hi: np.ndarray) -> tuple[int, tuple[int, int]]:
    """Pairs of rows in different splits whose windows overlap: their count and one of them.

    Counted per chromosome and split pair in O(N log N): of all pairs, those with one window
    ending at or before the other's start do not overlap. Returns (0, (-1, -1)) when none do.
    """
    total, example = 0, (-1, -1)
    roles = np.array(rows.roles)
    chroms = np.array(rows.chroms)
    for chrom in dict.fromkeys(rows.chroms):
        on = chroms == chrom
        for a, b in (("train", "dev"), ("train", "test"), ("dev", "test")):
            ia = np.flatnonzero(on & (roles == a))
            ib = np.flatnonzero(on & (roles == b))
            if not ia.size or not ib.size:
                continue
            ends_a, starts_a = np.sort(hi[ia]), np.sort(lo[ia])
            before = np.searchsorted(ends_a, lo[ib], side="right")  # a ends <= b starts
            after = ia.size - np.searchsorted(starts_a, hi[ib], side="left")  # a starts >= b ends
            per_b = ia.size - before - after
            total += int(per_b.sum())
            if example[0] < 0 and per_b.any():
                j = int(ib[np.flatnonzero(per_b)[0]])
                i = int(next(k for k in ia if lo[k] < hi[j] and lo[j] < hi[k]))
                example = (i, j)
    return total, example


def check_overlaps(rows: IntervalRows, lo: np.ndarray, hi: np.ndarray, allow: bool) -> None:
    """Refuse (or with ``allow`` warn about) windows of different splits that overlap.

    Raises:
        ValueError: naming how many pairs overlap and one of them, unless ``allow``.
    """
    count, (i, j) = overlaps(rows, lo, hi)
    if not count:
        return
    role = {"dev": "val"}
    pair = (
        f"{count} pair(s) of intervals in different splits overlap (windows with flanks), e.g. "
        f"{rows.where(i)} {rows.interval(i, int(lo[i]), int(hi[i]))} "
        f"({role.get(rows.roles[i], rows.roles[i])}) and "
        f"{rows.where(j).removeprefix(f'{rows.path}, ')} {rows.interval(j, int(lo[j]), int(hi[j]))}"
        f" ({role.get(rows.roles[j], rows.roles[j])})"
    )
    if allow:
        key = (rows.path, "overlap", count, i, j)
        _warn_once(key, "%s: %s; kept (allow_overlap)", rows.path, pair)
        return
    raise ValueError(
        f"{rows.path}: {pair}: a model would be scored on bases it was trained on. Split by "
        "chromosome or region so that splits do not overlap, or set allow_overlap: true in a "
        "task YAML to go on with a warning."
    )


def _warn_once(key: tuple, message: str, *args: object) -> None:
    """Log a warning about a file once per process: resolving a task and loading it both check
    its windows (the key's first item is the file, compared as its resolved path)."""
    log_once(log, logging.WARNING, (Path(key[0]).resolve(), *key[1:]), message, *args)


def cut(ref: ReferenceGenome, chrom: str, lo: int, hi: int, minus: bool) -> str:
    """The bases of ``chrom[lo:hi]`` (upper case; other letters as N), reverse-complemented when
    ``minus``."""
    codes = ref.fetch(chrom, lo, hi)
    return decode(reverse_complement_codes(codes) if minus else codes)


def read_interval_sources(
    spec: IntervalTaskSpec, root: Path | None = None, on_invalid: OnInvalid = "error"
) -> dict[str, LabeledSequences]:
    """The sequences of each split role of ``spec``, cut from its reference.

    Args:
        spec: the interval task.
        root: the folder relative paths of ``spec`` resolve against (None: as written).
        on_invalid: unused; the reference reads letters outside A, C, G, T as N.

    Returns:
        role -> the rows of that split, in file order: labels (classification, mapped by
        ``spec.classes``) or (N, T) float32 targets (regression); ids ``file:row:chrom:start-end``
        with ``:-`` on a minus strand.
    """
    resolve: Callable[[str], Path] = lambda p: Path(p) if root is None else root / p  # noqa: E731
    path = resolve(next(iter(spec.files.values())))
    values = spec.target_columns or spec.targets or (spec.label_column,)
    regression = spec.task_type == "regression"
    rows = read_interval_rows(path, spec.split_column or "split", values, "column")
    assert spec.genome is not None
    ref = open_reference(resolve(spec.genome))
    lo, hi = windows(rows, ref, spec.flank)
    check_overlaps(rows, lo, hi, spec.allow_overlap)
    out = {}
    for role in spec.files:
        keep = [i for i, r in enumerate(rows.roles) if r == role]
        seqs = [cut(ref, rows.chroms[i], int(lo[i]), int(hi[i]), bool(rows.minus[i])) for i in keep]
        part = rows.frame.iloc[keep]
        where = lambda k, keep=keep: rows.where(keep[k])  # noqa: E731
        if regression:
            labels = parse_targets(part, values, where)
        elif spec.classes is not None:
            labels = map_labels(part[spec.label_column].tolist(), spec.classes, where)
        else:
            labels = parse_labels(part[spec.label_column].tolist(), where, spec.num_classes)
        ids = [
            f"{path.name}:{i + 1}:{rows.interval(i)}" + (":-" if rows.minus[i] else "")
            for i in keep
        ]
        out[role] = LabeledSequences(seqs, labels, ids)
    return out
