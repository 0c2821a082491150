"""A user's task given as genome intervals (``--task regions.bed --reference genome.fa``, or a
task YAML with ``path: regions.bed`` and ``reference: genome.fa``): the checks that run before
the task is loaded, and its :class:`~findna.data.intervals.IntervalTaskSpec`.

An interval file holds every split (its split column; ``dev``/``valid`` read as val). Every row is
checked against the reference once here (:mod:`findna.data.intervals`), the labels as a table's
are (text labels become ``0..C-1`` in sorted order, the classes come from train), or the targets
of a regression task as :mod:`findna.data.targets` reads them. A split column is required: drawn
at random, splits of genome intervals would overlap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from findna.data.interval_windows import check_overlaps, open_reference, windows
from findna.data.intervals import (
    LAYOUT,
    IntervalTaskSpec,
    interval_columns,
    is_interval_file,
    read_interval_rows,
)
from findna.data.readers import read_frame
from findna.data.targets import TARGET_FIX, check_varies, parse_targets
from findna.data.user_layouts import (
    USER_SUITE,
    UserTaskOptions,
    _Labels,
    check_classes,
    choose_protocol,
)

INTERVAL_KEYS = ("reference", "flank", "allow_overlap")
"""The options that only interval tasks read."""


def is_interval_task(path: Path, options: UserTaskOptions) -> bool:
    """Whether the file ``path`` is an interval task: a BED, a table whose header names
    ``chrom``, ``start`` and ``end`` and no sequence column, or a table given a reference that
    is not a table of sequences alone (that one's reference is refused by the caller)."""
    if is_interval_file(path):
        return True
    header = list(read_frame(path, None).columns)
    sequence = options.sequence_column or "sequence"
    sequences = sequence in header or "seq" in header
    if options.reference is not None:
        return not sequences or interval_columns(header) is not None
    return interval_columns(header) is not None and not sequences


def refuse_interval_options(options: UserTaskOptions, where: object, layout: str) -> None:
    """Refuse ``reference``, ``flank`` and ``allow_overlap`` for a task that is no interval file."""
    given = [k for k in INTERVAL_KEYS if getattr(options, k) is not None]
    if given:
        raise ValueError(
            f"{where}: {given} are for a task given as genome intervals (a BED, or a table of "
            f"chrom, start, end), but this is {layout}. Drop them, or give the interval file."
        )


def interval_task(name: str, path: Path, opts: UserTaskOptions, origin: str) -> IntervalTaskSpec:
    """The task of the interval file ``path`` on ``opts.reference``, every row checked.

    Raises:
        ValueError: no reference, no split column, a bad row (see
            :func:`findna.data.intervals.read_interval_rows` and
            :func:`~findna.data.intervals.windows`), overlapping windows across splits (unless
            ``allow_overlap``), or labels/targets that a table's checks refuse.
        FileNotFoundError: the reference does not exist.
    """
    if opts.reference is None:
        raise ValueError(
            f"{origin}: genome intervals need the reference genome they were made on: pass "
            "--reference genome.fa (a FASTA, plain or gzip, or a `findna prepare genome` folder), "
            "or reference: genome.fa in a task YAML."
        )
    if opts.task_type not in (None, "classification", "regression"):
        raise ValueError(
            f"{origin}: a {opts.task_type} task cannot be given as genome intervals yet; give a "
            "table of sequences instead."
        )
    flank = opts.flank or 0
    if isinstance(flank, bool) or not isinstance(flank, int) or flank < 0:
        raise ValueError(f"{origin}: flank {flank!r} must be a whole number of bases >= 0")
    regression = opts.regression
    if regression:
        values = tuple(opts.target_columns or ())
        if not values:
            raise ValueError(
                f"{origin}: a regression task needs its target column(s); {TARGET_FIX}."
            )
        if opts.label_column is not None or opts.labels is not None:
            raise ValueError(
                f"{origin}: --label-column and labels: are for classification; a regression task "
                "reads its targets from the target columns. Drop them."
            )
        flag = f"columns {list(values)} (--target-columns/targets:)"
    else:
        values = (opts.label_column or "label",)
        flag = f"column {values[0]!r} (--label-column/label_column:)"
    split = opts.split_column or "split"
    rows = read_interval_rows(path, split, values, flag)
    reference = Path(opts.reference).resolve()
    ref = open_reference(reference)
    lo, hi = windows(rows, ref, flank)
    check_overlaps(rows, lo, hi, bool(opts.allow_overlap))
    keep = {
        role: np.flatnonzero(np.array(rows.roles) == role)
        for role in ("train", "dev", "test")
        if role in rows.roles
    }
    if "train" not in keep:
        raise ValueError(
            f"{path}: no train rows (column {split!r} holds {sorted(set(rows.roles))}); a task "
            f"needs train rows, and test rows (val may be carved from train). {LAYOUT}."
        )
    protocol = choose_protocol(set(keep), origin, opts.protocol)
    if protocol not in ("official", "val_from_train"):
        raise ValueError(
            f"{origin}: protocol {protocol!r} would split the intervals at random, and random "
            "splits of genome intervals overlap; give each row's split (train, val, test) in "
            f"column {split!r}, with test rows."
        )
    kw: dict = {}
    if regression:
        for role, idx in keep.items():
            part = rows.frame.iloc[idx]
            got = parse_targets(part, values, lambda k, idx=idx: rows.where(int(idx[k])))
            if role == "train":
                check_varies(f"{path} (train rows)", got, values)
        kw.update(task_type="regression", targets=values, num_classes=0)
        metric = opts.metric or "pearson"
    else:
        labels = {
            role: _Labels(path, rows.frame[values[0]].iloc[idx], [int(i) for i in idx])
            for role, idx in keep.items()
        }
        classes, count = check_classes(labels, opts.labels, values[0])
        kw.update(classes=classes, num_classes=count, label_column=values[0])
        metric = opts.metric or "mcc"
    where = str(path.resolve())
    strand = "strands" if rows.minus.any() else "+ strand"
    return IntervalTaskSpec(
        name=name,
        suite=USER_SUITE,
        files={role: where for role in keep},
        format="coordinates",
        metric=metric,
        protocol=protocol,
        max_len=opts.max_len,
        description=opts.description
        or f"your own data (genome intervals, flank {flank}, {strand}, on {reference}): {origin}",
        split_column=split,
        origin=origin,
        genome=str(reference),
        flank=flank,
        allow_overlap=bool(opts.allow_overlap),
        **kw,
    )
