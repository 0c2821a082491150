"""``--task NAME|PATH``: a registered task by name, or a task built from a user's own files.

:func:`resolve_task` is the one place that turns what a user typed into a :class:`TaskSpec`;
``findna probe``, ``finetune``, ``benchmark``, ``plot-embeddings`` and ``data info`` all call it.
A path may be (docs/data.md, "Your own data"):

(a) a folder of split tables ``train.csv``, ``val.csv`` (or ``dev.csv``), ``test.csv``
    (``.tsv``/``.txt``, ``.gz`` too); a missing ``val`` is carved from train, seeded and
    stratified (protocol ``val_from_train``); train alone is re-split 70/10/20;
(b) one table with a split column (``split``: train / val or dev / test), or without one
    (all rows re-split 70/10/20);
(c) a folder of FASTA files, one per class (class = file name without suffix), re-split 70/10/20;
(d) a task YAML (``.yaml``/``.yml``): ``name``, ``path`` or ``files``, ``format``,
    ``sequence_column``, ``label_column``, ``split_column``, ``labels``, ``metric``,
    ``protocol``, ``max_len``, ``description``, and for regression ``type: regression`` with
    ``targets: [a, b]`` (or ``target_columns``), and for intervals ``reference``, ``flank``,
    ``allow_overlap``;
(e) genome intervals: a BED (``.bed``, ``.bed.gz``) or a table of ``chrom, start, end`` with a
    split column, cut from ``--reference`` (:mod:`findna.data.interval_tasks`);

and GenomicBenchmarks' own download (``train/<class>/*.txt``, ``test/...``). Text labels become
``0..C-1`` in sorted order; the mapping is the spec's ``classes``, shown by ``findna data info``
and written into every report. A table with target columns (``--target-columns a,b``, or a
task YAML's ``targets``) is a regression task instead (:mod:`findna.data.user_regression`);
``--task-type multilabel`` (``type: multilabel``) makes a multi-label task of 0/1 label columns
or of one column listing the labels (:mod:`findna.data.user_multilabel`); ``--task-type
per_base`` (``type: per_base``, with ``classes:``) makes a per-base task of a column of label
strings, one class character per base (:mod:`findna.data.user_per_base`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from findna.config import read_yaml
from findna.data.interval_tasks import interval_task, is_interval_task, refuse_interval_options
from findna.data.intervals import is_interval_file
from findna.data.readers import read_frame
from findna.data.splits import PROTOCOLS
from findna.data.task_spec import METRICS, TaskSpec
from findna.data.tasks import TASKS, get_task
from findna.data.user_layouts import (
    FASTA_SUFFIXES,
    TABLE_SUFFIXES,
    UserTaskOptions,
    class_folder_task,
    fasta_task,
    split_role,
    strip_suffixes,
)
from findna.data.user_layouts import table_task as class_table_task
from findna.data.user_multilabel import multilabel_table_task
from findna.data.user_per_base import per_base_table_task
from findna.data.user_regression import regression_table_task

YAML_SUFFIXES = (".yaml", ".yml")
LAYOUTS = (
    "(a) a folder with train/val/test tables (train.csv, val.csv or dev.csv, test.csv; .tsv, "
    ".txt and .gz too; val may be missing), (b) one CSV/TSV table, with a 'split' column "
    "(train/val/test) or without (re-split 70/10/20), (c) a folder with one FASTA file per "
    "class (class = file name), (d) a task YAML (.yaml), (e) genome intervals: a BED (or a "
    "table of chrom, start, end) with a split column, plus --reference, or GenomicBenchmarks' "
    "download (train/<class>/*.txt, test/<class>/*.txt). See docs/data.md, 'Your own data'."
)
YAML_KEYS = tuple(
    dict.fromkeys(
        (
            "name",
            "path",
            "files",
            "format",
            "type",
            "targets",
            "classes",
            *UserTaskOptions.__dataclass_fields__,
        )
    )
)
"""The keys a task YAML may hold, each once (``name`` is also an option; ``type``, ``targets``
and ``classes`` are ``task_type``, ``target_columns`` and ``labels``)."""


def table_task(name, files, options: UserTaskOptions, origin: str, split_column=None) -> TaskSpec:
    """A classification or, with target columns, a regression task of tables (a multi-label
    or per-base one with ``task_type`` multilabel or per_base)."""
    build = class_table_task
    if options.regression:
        build = regression_table_task
    elif options.task_type == "multilabel":
        build = multilabel_table_task
    elif options.task_type == "per_base":
        build = per_base_table_task
    return build(name, files, options, origin, split_column=split_column)


def _tables_only(options: UserTaskOptions, where: Path, layout: str) -> None:
    if options.task_type == "per_base":
        raise ValueError(
            f"{where}: {layout} hold one class per sequence, not a class per base; a per-base "
            "task is a table (or split tables) with a column of label strings. See docs/data.md, "
            "'Your own per-base table'."
        )
    if options.task_type == "multilabel":
        raise ValueError(
            f"{where}: {layout} hold one class per sequence, not multi-label labels; a "
            "multi-label task is a table (or split tables) with 0/1 label columns or a column "
            "listing the labels. See docs/data.md, 'Multi-label tasks'."
        )
    if options.regression:
        raise ValueError(
            f"{where}: {layout} hold classes, not regression targets; a regression task is a "
            "table (or split tables) with target columns. See docs/data.md, 'Your own data'."
        )


def resolve_task(name_or_path: str, options: UserTaskOptions | None = None) -> TaskSpec:
    """The task ``name_or_path`` names: a registered task, or one built from a user's files.

    Args:
        name_or_path: a registry name (``findna data list``) or the path of a user's task (see
            the module docstring for the layouts).
        options: ``--label-column`` and the like (for a task YAML they override its keys).

    Raises:
        ValueError: an unknown name that is no existing path (with close task names), options
            given for a registered task, or a path in no accepted layout (listing them).
    """
    options = options or UserTaskOptions()
    if name_or_path in TASKS:
        if options.given():
            raise ValueError(
                f"task {name_or_path!r} is a registered task; {sorted(options.given())} apply "
                "to your own data only. Drop them, or give the path of your data."
            )
        return TASKS[name_or_path]
    path = Path(name_or_path)
    if not path.exists():
        try:
            get_task(name_or_path)
        except ValueError as err:
            raise ValueError(
                f"{err} Or give the path of your own data (there is no file or folder "
                f"{str(path)!r}): a folder, a table or a task YAML; see docs/data.md, 'Your own "
                "data'."
            ) from None
    return path_task(path, options, name=options.name or str(path))


def is_task_path(path: Path) -> bool:
    """Whether ``path`` looks like a user's task: a folder, a table or a task YAML."""
    if path.is_dir():
        return True
    name = path.name.lower()
    if name.endswith(YAML_SUFFIXES) or is_interval_file(path):
        return True
    return strip_suffixes(path.name, TABLE_SUFFIXES) is not None


def path_task(
    path: Path, options: UserTaskOptions, name: str, origin: str | None = None
) -> TaskSpec:
    """A task from a folder, a table or a task YAML (see :data:`LAYOUTS`); ``origin`` is what
    reports name as its source (default ``path``)."""
    origin = origin or str(path)
    if path.is_file() and path.name.lower().endswith(YAML_SUFFIXES):
        return yaml_task(path, options)
    table = strip_suffixes(path.name, TABLE_SUFFIXES) is not None
    if path.is_file() and (table or is_interval_file(path)):
        if is_interval_task(path, options):
            return interval_task(name, path, options, origin)
        refuse_interval_options(options, path, "a table of sequences")
        column = options.split_column or "split"
        header = list(read_frame(path, None).columns)
        if column in header:
            return table_task(name, {"train": path}, options, origin, split_column=column)
        if options.split_column is not None:
            raise ValueError(
                f"{path}: no split column {column!r}; the header has {header}. Fix split_column: "
                "in the task YAML, or drop it to re-split all rows 70/10/20."
            )
        return table_task(name, {"all": path}, options, origin)
    if path.is_dir():
        refuse_interval_options(options, path, "a folder")
        tables = _role_files(path, TABLE_SUFFIXES)
        if tables:
            return table_task(name, tables, options, origin)
        folders = {split_role(d.name): d for d in path.iterdir() if d.is_dir()}
        folders.pop(None, None)
        if "train" in folders and any(d.is_dir() for d in folders["train"].iterdir()):
            _tables_only(options, path, "class folders")
            return class_folder_task(name, folders, options, origin)  # type: ignore[arg-type]
        fasta = _class_files(path)
        if fasta:
            _tables_only(options, path, "FASTA files per class")
            return fasta_task(name, fasta, options, origin)
        found = sorted(p.name for p in path.iterdir())[:10]
        raise ValueError(
            f"{path}: a folder in no accepted layout (it holds {found}). Accepted: {LAYOUTS}"
        )
    if path.is_file():
        accepted = (
            f"a table ({', '.join(TABLE_SUFFIXES)}, optionally .gz), a BED, a task YAML or a folder"
        )
        where = f"{path}: not a table, folder or task YAML"
        raise ValueError(_unknown_suffix(path, where, "findna", accepted) + f" Accepted: {LAYOUTS}")
    raise ValueError(f"{path}: not a table, folder or task YAML. Accepted: {LAYOUTS}")


def _role_files(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """Split role -> file of ``folder`` whose stem names a split (``train.csv``, ``val.tsv``)."""
    out: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        stem = strip_suffixes(f.name, suffixes) if f.is_file() else None
        role = split_role(stem) if stem is not None else None
        if role is None:
            continue
        if role in out:
            raise ValueError(
                f"{folder}: both {out[role].name} and {f.name} are the {role} split "
                "(dev = val). Keep one of them."
            )
        out[role] = f
    return {role: out[role] for role in ("train", "dev", "test") if role in out}


def _class_files(folder: Path) -> dict[str, Path]:
    """Class name (file name without suffixes) -> FASTA file of ``folder``."""
    out: dict[str, Path] = {}
    for f in sorted(folder.iterdir()):
        stem = strip_suffixes(f.name, FASTA_SUFFIXES) if f.is_file() else None
        if stem is None:
            continue
        if stem in out:
            raise ValueError(f"{folder}: {out[stem].name} and {f.name} are both class {stem!r}")
        out[stem] = f
    return out


def yaml_task(path: Path, overrides: UserTaskOptions | None = None) -> TaskSpec:
    """A task described by a YAML file; relative paths in it are relative to the YAML's folder.

    ``path`` is a folder or table (any layout of :data:`LAYOUTS`); ``files`` maps split roles
    (``train``, ``val``/``dev``, ``test``, or ``all``) to tables, or with ``format:
    fasta_classes`` class names to FASTA files.
    """
    data = read_yaml(path)
    unknown = sorted(set(data) - set(YAML_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; allowed: {list(YAML_KEYS)}")
    if ("path" in data) == ("files" in data):
        raise ValueError(f"{path}: give exactly one of path: (a folder or table) or files:")
    fmt = data.get("format", "table")
    if fmt not in ("table", "fasta_classes"):
        raise ValueError(f"{path}: format {fmt!r} must be table or fasta_classes")
    opts = UserTaskOptions(**_options(path, data)).given()
    opts = UserTaskOptions(**{**opts, **(overrides or UserTaskOptions()).given()})
    name = opts.name or str(path)
    if name in TASKS:
        raise ValueError(f"{path}: name {name!r} is a registered task's; choose another name")
    base = path.parent
    if "path" in data:
        target = base / str(data["path"])
        return path_task(target, opts, name=name, origin=f"{path} (data {target})")
    files = data["files"]
    if not isinstance(files, dict) or not files:
        raise ValueError(f"{path}: files: must map split (or class) names to paths")
    refuse_interval_options(opts, f"{path}: files:", "a task of several files (use path:)")
    resolved = {str(k): base / str(v) for k, v in files.items()}
    suffixes = FASTA_SUFFIXES if fmt == "fasta_classes" else TABLE_SUFFIXES
    for key, f in resolved.items():
        if not f.exists():
            raise FileNotFoundError(f"{path}: files: {key}: {f} does not exist")
        if f.is_file() and strip_suffixes(f.name, suffixes) is None:
            accepted = f"{', '.join(suffixes)} (optionally .gz)"
            raise ValueError(_unknown_suffix(f, f"{path}: files: {key}", f"a {fmt} task", accepted))
    if fmt == "fasta_classes":
        _tables_only(opts, path, "FASTA files per class")
        return fasta_task(name, resolved, opts, str(path))
    roles = {k: split_role(k) or ("all" if k == "all" else None) for k in resolved}
    bad = [k for k, r in roles.items() if r is None]
    if bad:
        raise ValueError(
            f"{path}: files: {bad} are not splits; use train, val (or dev), test or all"
        )
    return table_task(name, {roles[k]: f for k, f in resolved.items()}, opts, str(path))


def _unknown_suffix(file: Path, where: str, what: str, accepted: str) -> str:
    """The message for a task file whose suffix its format does not read (never guessed)."""
    suffix = "".join(file.suffixes[-2:]) if file.name.endswith(".gz") else file.suffix
    bed = (
        " Genome intervals are one BED with a split column: give it as path: (with reference:)."
        if is_interval_file(file) and what != "findna"
        else ""
    )
    return (
        f"{where}: {file.name} has the suffix {suffix or '(none)'!r}, which {what} does not read; "
        f"give {accepted}.{bed}"
    )


def _options(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The UserTaskOptions keys of a task YAML, type-checked with messages naming the file."""
    out = {k: data[k] for k in UserTaskOptions.__dataclass_fields__ if k in data}
    if "reference" in out:  # relative to the YAML's folder, as every path in it
        out["reference"] = str(path.parent / str(out["reference"]))
    if "flank" in out and (isinstance(out["flank"], bool) or not isinstance(out["flank"], int)):
        raise ValueError(f"{path}: flank {out['flank']!r} must be a whole number of bases >= 0")
    if not isinstance(out.get("allow_overlap", False), bool):
        raise ValueError(f"{path}: allow_overlap {out['allow_overlap']!r} must be true or false")
    for alias, key in (("type", "task_type"), ("targets", "target_columns"), ("classes", "labels")):
        if alias in data and key in data:
            raise ValueError(f"{path}: give {alias}: or {key}:, not both (they are one key)")
        if alias in data:
            out[key] = data[alias]
    if out.get("task_type") == "per-base":
        out["task_type"] = "per_base"
    if out.get("task_type") not in (None, "classification", "regression", "multilabel", "per_base"):
        raise ValueError(
            f"{path}: type {out['task_type']!r} is not one of classification, regression, "
            "multilabel, per_base"
        )
    targets = out.get("target_columns")
    if isinstance(targets, str):
        targets = [targets]
    if targets is not None:
        if not isinstance(targets, list) or not all(isinstance(t, str) and t for t in targets):
            raise ValueError(f"{path}: targets: a list of target column names, e.g. [col_a, col_b]")
        out["target_columns"] = tuple(targets)
    if out.get("task_type") == "regression" and targets is None:
        raise ValueError(
            f"{path}: type: regression needs its target columns: targets: [col_a, col_b]"
        )
    if not isinstance(out.get("label_separator", ""), str):
        raise ValueError(
            f"{path}: label_separator {out['label_separator']!r} must be a string, e.g. ';' "
            "(quote it in YAML)"
        )
    labels = out.get("labels")
    said = "classes" if "classes" in data else "labels"  # the key as the YAML writes it
    if isinstance(labels, dict):  # name -> label: must be 0..C-1
        if sorted(labels.values()) != list(range(len(labels))):
            raise ValueError(f"{path}: {said}: values must be 0..{len(labels) - 1} once each")
        labels = sorted(labels, key=labels.get)
    if labels is not None:
        if not isinstance(labels, list):
            per_base = "; per-base classes: one character each, e.g. ['0', '1']"
            raise ValueError(
                f"{path}: {said}: a list of class names in label order, or a mapping name: "
                f"label (got {labels!r}{per_base if out.get('task_type') == 'per_base' else ''})"
            )
        out["labels"] = tuple(str(x) for x in labels)
    if out.get("metric") not in (None, *METRICS):
        raise ValueError(f"{path}: metric {out['metric']!r} is not one of {list(METRICS)}")
    if out.get("protocol") not in (None, *PROTOCOLS):
        raise ValueError(f"{path}: protocol {out['protocol']!r} is not one of {sorted(PROTOCOLS)}")
    if "max_len" in out and not (isinstance(out["max_len"], int) and out["max_len"] > 0):
        raise ValueError(f"{path}: max_len {out['max_len']!r} must be a positive integer")
    return out
