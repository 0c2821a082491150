"""TaskSpecs built from a user's own files: split tables, one table with a split column, FASTA per
class, class folders. :func:`findna.data.user_tasks.resolve_task` picks the builder from a path.

Every builder reads the labels once before the task is loaded, to infer the classes and check
them: text labels (``enhancer``/``other``) become ``0..C-1`` in sorted order
(:mod:`findna.data.labels`), the classes come from the training split, a label of another split
that training lacks is an error naming its file and row, and fewer than 2 classes is an error.
A validation split that is given is used as given; a missing one is filled by the protocol that
:func:`choose_protocol` names (``findna data info`` and every report state it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from findna.data.labels import class_names, label_order, shown
from findna.data.readers import data_row, find_sequence_column, read_frame
from findna.data.row_ids import table_id_column
from findna.data.splits import PROTOCOLS, SPLIT_VALUES
from findna.data.task_spec import TaskSpec
from findna.data.user_options import UserTaskOptions

USER_SUITE = "user"
TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")
__all__ = [  # UserTaskOptions lives in findna.data.user_options; it is imported from here too
    "FASTA_SUFFIXES",
    "TABLE_SUFFIXES",
    "USER_SUITE",
    "UserTaskOptions",
    "check_classes",
    "choose_protocol",
    "class_folder_task",
    "fasta_task",
    "read_table_labels",
    "split_role",
    "strip_suffixes",
    "table_task",
]


def split_role(stem: str) -> str | None:
    """The file role (``train``/``dev``/``test``) a file stem or split value names, or None."""
    word = stem.strip().lower()
    return next((role for role, words in SPLIT_VALUES.items() if word in words), None)


def strip_suffixes(name: str, known: tuple[str, ...]) -> str | None:
    """``name`` without a known suffix (and ``.gz``), or None when it has none of ``known``."""
    low = name.lower()
    base = low[:-3] if low.endswith(".gz") else low
    suffix = next((s for s in known if base.endswith(s)), None)
    return None if suffix is None else name[: len(base) - len(suffix)]


def choose_protocol(roles: set[str], where: str, protocol: str | None = None) -> str:
    """The split protocol of the splits a user gave.

    train, val, test -> ``official`` (all used as given); train, test -> ``val_from_train`` (val
    = seeded stratified 10% of train); train only, or one unsplit table -> ``resplit_70_10_20``.
    ``protocol`` (a task YAML's choice) wins when the files it needs are present.
    """
    if protocol is not None:
        needs = set(PROTOCOLS[protocol].needs) - {"*"}
        if not needs <= roles:
            given = sorted("val" if r == "dev" else r for r in roles)
            raise ValueError(
                f"{where}: protocol {protocol!r} needs the splits {sorted(needs)} (dev = val) but "
                f"only {given} are given. Add the missing file(s) or choose another protocol."
            )
        return protocol
    if roles >= {"train", "dev", "test"}:
        return "official"
    if roles >= {"train", "test"}:
        return "val_from_train"
    if roles in ({"train"}, {"all"}):
        return "resplit_70_10_20"
    given = sorted("val" if r == "dev" else r for r in roles)
    raise ValueError(
        f"{where}: the splits given are {given}, but a task needs a train split (and a test "
        "split, or the train rows are re-split 70/10/20). Add train (and test) data, or name "
        "them train/val/test."
    )


@dataclass(frozen=True)
class _Labels:
    """The label cells of one split: its file, the cells and their 0-based data rows."""

    path: Path
    values: pd.Series
    rows: list[int]


def _column_error(path: Path, what: str, column: str, header: list[str], flag: str) -> ValueError:
    return ValueError(
        f"{path}: no {what} column {column!r}; the header has {header}. Rename the column, or "
        f"pass --{flag} NAME (or {flag.replace('-', '_')}: NAME in a task YAML)."
    )


def read_table_labels(
    files: Mapping[str, Path], opts: UserTaskOptions, split_column: str | None
) -> dict[str, _Labels]:
    """Label cells per role; with ``split_column`` the one table's rows are grouped by split.

    Checks the sequence and label columns exist and every split value names a split.
    """
    out: dict[str, _Labels] = {}
    label = opts.label_column or "label"
    for role, path in files.items():
        if split_column is not None and out:
            break  # one table holds every split, read once
        df = read_frame(path, None)
        header = list(df.columns)
        if opts.sequence_column is None:
            find_sequence_column(
                path,
                header,
                "Rename the column, or pass --sequence-column "
                "NAME (or sequence_column: NAME in a task YAML).",
            )
        elif opts.sequence_column not in header:
            raise _column_error(path, "sequence", opts.sequence_column, header, "sequence-column")
        if label not in header:
            raise _column_error(path, "label", label, header, "label-column")
        if len(df) == 0:
            raise ValueError(
                f"{path}: no data rows (only a header). Fill in the file or remove it."
            )
        if split_column is None:
            out[role] = _Labels(path, df[label], list(range(len(df))))
            continue
        roles = df[split_column].map(split_role)
        bad = roles.isna().to_numpy()
        if bad.any():
            i = int(bad.nonzero()[0][0])
            raise ValueError(
                f"{data_row(path, i)}: split {df[split_column].iloc[i]!r} in column "
                f"{split_column!r} is not a split name. Use train, val (or dev) or test, or drop "
                "the row."
            )
        for r in ("train", "dev", "test"):
            keep = (roles == r).to_numpy()
            if keep.any():
                out[r] = _Labels(path, df[label][keep], [int(i) for i in keep.nonzero()[0]])
    return out


def check_classes(
    labels: Mapping[str, _Labels | tuple[Path, list[str]]],
    given: tuple[str, ...] | None,
    column: str = "label",
) -> tuple[tuple[str, ...] | None, int]:
    """Classes of a task from its training labels; every other split must use them.

    Args:
        labels: role -> label cells (tables) or (folder, class names) (class folders).
        given: class names in label order from a task YAML, or None for the sorted order.
        column: the label column, for messages.

    Returns:
        (class names in label order, or None when labels are integers 0..C-1 kept as written;
        the number of classes C).
    """
    fit = "train" if "train" in labels else next(iter(labels))
    train = labels[fit]
    cells = {role: _values(part) for role, part in labels.items()}  # stripped text, read once
    train_values = set(cells[fit])
    if given is None:
        if isinstance(train, _Labels):  # a table's label column (not class folder names)
            _refuse_decimal_labels(train, cells[fit], column)
        _refuse_one_number_two_ways(labels, cells)
    for role, part in labels.items():
        if "" in cells[role]:
            raise ValueError(
                f"{_where(part, cells[role].index(''))}: empty label. Fill it in or drop the row."
            )
        extra = [v for v in cells[role] if v not in train_values]
        if role != fit and extra:
            where = _where(part, cells[role].index(extra[0]))
            raise ValueError(
                f"{where}: label {extra[0]!r} of the {role} split does not occur in the training "
                f"split ({_where(train)}; classes there: {shown(label_order(train_values))}). "
                "Every class must have training rows: fix the label or add training rows."
            )
    if given is not None:
        missing = sorted(train_values - set(given))
        if missing:
            raise ValueError(
                f"{_where(train)}: labels {shown(missing)} are not in the task's labels "
                f"{shown(given)}. "
                "Add them to labels: in the task YAML, or fix the data."
            )
        classes: tuple[str, ...] | None = given
    else:
        classes = class_names(train_values)
    count = len(classes) if classes is not None else len(train_values)
    if count < 2:
        raise ValueError(
            f"{_where(train)}: the training labels ({column!r}) hold one class only "
            f"({shown(sorted(train_values))}); a classification task needs at least 2. Check that "
            "--label-column names the label column, or add rows of the other classes."
        )
    return classes, count


def _refuse_decimal_labels(
    part: _Labels | tuple[Path, list[str]], values: list[str], column: str
) -> None:
    """Refuse training labels (``values``, ``part``'s cells) that are all numbers, some with
    decimals: a regression target read as classes (every value a class)."""
    numbers = {}
    for value in dict.fromkeys(values):  # each distinct value once
        try:
            numbers[value] = float(value)
        except ValueError:
            return
    if not all(math.isfinite(x) for x in numbers.values()):
        return  # nan/inf are no regression targets either; not numbers to judge
    i = next((i for i, v in enumerate(values) if not numbers[v].is_integer()), None)
    if i is not None:
        raise ValueError(
            f"{_where(part, i)}: label {values[i]!r} of column {column!r} is a number with "
            "decimals: as class labels every value would be a class. For a regression task pass "
            f"--target-columns {column} (type: regression and targets: [{column}] in a task "
            "YAML); if the values are class names, declare them (labels: in a task YAML)."
        )


def _refuse_one_number_two_ways(
    labels: Mapping[str, _Labels | tuple[Path, list[str]]], cells: Mapping[str, list[str]]
) -> None:
    """Refuse labels such as ``1`` and ``1.0`` (or ``01``): one number written two ways would
    become two classes (``cells``: each role's label text)."""
    first: dict[float, tuple[str, _Labels | tuple[Path, list[str]], int]] = {}  # -> spelling, row
    for role, part in labels.items():
        distinct = {v: i for i, v in reversed(list(enumerate(cells[role])))}  # -> first row
        for value, i in sorted(distinct.items(), key=lambda x: x[1]):
            try:
                number = float(value)
            except ValueError:
                continue
            seen, where, j = first.setdefault(number, (value, part, i))
            if seen != value:
                there = _where(where, j).removeprefix(f"{_where(part)}, ")
                raise ValueError(
                    f"{_where(part, i)}: label {value!r} is label {seen!r} of {there} written "
                    "another way; they would become two classes. Write each class one way (e.g. "
                    "all integers)."
                )


def _values(part: _Labels | tuple[Path, list[str]]) -> list[str]:
    if isinstance(part, _Labels):
        return [str(v).strip() for v in part.values]
    return part[1]


def _where(part: _Labels | tuple[Path, list[str]], i: int | None = None) -> str:
    if not isinstance(part, _Labels):
        return f"{part[0]}" + ("" if i is None else f"/{part[1][i]}")
    return str(part.path) if i is None else data_row(part.path, part.rows[i])


def table_task(
    name: str,
    files: Mapping[str, Path],
    opts: UserTaskOptions,
    origin: str,
    split_column: str | None = None,
) -> TaskSpec:
    """A task of CSV/TSV tables: one per split (``train``/``dev``/``test``, or ``all``), or one
    table whose ``split_column`` names each row's split."""
    labels = read_table_labels(files, opts, split_column)
    classes, count = check_classes(labels, opts.labels, opts.label_column or "label")
    one = next(iter(files.values()))
    if split_column is not None:
        files = {role: one for role in labels}
    protocol = choose_protocol(set(files), origin, opts.protocol)
    layout = f"one table, split column {split_column!r}" if split_column else "split tables"
    return _spec(
        name,
        {r: str(p.resolve()) for r, p in files.items()},
        "table",
        count,
        protocol,
        opts,
        origin,
        layout,
        classes=classes,
        split_column=split_column,
        sequence_column=opts.sequence_column,
        label_column=opts.label_column or "label",
        id_column=table_id_column(files.values()),
    )


def fasta_task(
    name: str, class_files: Mapping[str, Path], opts: UserTaskOptions, origin: str
) -> TaskSpec:
    """One FASTA file per class: class name -> file (all records of a file share its class)."""
    if len(class_files) < 2:
        raise ValueError(
            f"{origin}: one FASTA file ({', '.join(map(str, class_files.values()))}) is one "
            "class; a classification task needs at least 2 (one FASTA file per class, class = "
            "file name)."
        )
    classes = opts.labels or label_order(class_files)
    missing = sorted(set(class_files) - set(classes))
    if missing:
        raise ValueError(f"{origin}: classes {shown(missing)} are not in labels {shown(classes)}")
    by_label = {
        i: (str(class_files[c].resolve()),) for i, c in enumerate(classes) if c in class_files
    }
    protocol = choose_protocol({"all"}, origin, opts.protocol)
    return _spec(
        name,
        {},
        "fasta_classes",
        len(classes),
        protocol,
        opts,
        origin,
        "one FASTA per class",
        classes=tuple(classes),
        class_files=by_label,
        min_length=0,
        max_len=opts.max_len,
    )


def class_folder_task(
    name: str, folders: Mapping[str, Path], opts: UserTaskOptions, origin: str
) -> TaskSpec:
    """GenomicBenchmarks' download: ``<split>/<class>/*.txt``, one sequence per file."""
    labels = {
        role: (f, sorted(d.name for d in f.iterdir() if d.is_dir())) for role, f in folders.items()
    }
    classes, count = check_classes(labels, opts.labels, "class folder")
    protocol = choose_protocol(set(folders), origin, opts.protocol)
    return _spec(
        name,
        {r: str(p.resolve()) for r, p in folders.items()},
        "class_folders",
        count,
        protocol,
        opts,
        origin,
        "class folders",
        classes=classes or tuple(label_order(labels["train"][1])),
    )


def _spec(
    name: str,
    files: Mapping[str, str],
    fmt: str,
    count: int,
    protocol: str,
    opts: UserTaskOptions,
    origin: str,
    layout: str,
    **kw,
) -> TaskSpec:
    kw.setdefault("max_len", opts.max_len)
    return TaskSpec(
        name=name,
        suite=USER_SUITE,
        files=dict(files),
        format=fmt,
        num_classes=count,  # type: ignore[arg-type]
        metric=opts.metric or "mcc",
        protocol=protocol,
        description=opts.description or f"your own data ({layout}): {origin}",
        origin=origin,
        **kw,
    )
