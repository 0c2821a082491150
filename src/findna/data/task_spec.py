""":class:`TaskSpec`: what one downstream task is made of (files, layout, labels or regression
targets, metric, split protocol). The registry of shipped tasks is :mod:`findna.data.tasks`;
tasks built from a user's own files are :mod:`findna.data.user_tasks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from findna.data.splits import PROTOCOLS

Format = Literal["table", "class_folders", "coordinates", "fasta_classes", "soft_mask"]
TaskType = Literal["classification", "regression", "multilabel", "per_base"]
TASK_TYPES = ("classification", "regression", "multilabel", "per_base")
Metric = Literal[
    "mcc", "accuracy", "macro_f1", "pearson", "spearman", "r2", "macro_auroc", "macro_auprc"
]
CLASSIFICATION_METRICS = ("mcc", "accuracy", "macro_f1")
REGRESSION_METRICS = ("pearson", "spearman", "r2")
"""``pearson`` (the mean Pearson r over targets) is regression's primary metric."""
MULTILABEL_METRICS = ("macro_auroc", "macro_auprc")
"""``macro_auroc`` (the mean AUROC over labels with both classes) is multi-label's primary."""
METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS + MULTILABEL_METRICS
FORMATS = ("table", "class_folders", "coordinates", "fasta_classes", "soft_mask")


@dataclass(frozen=True)
class TaskSpec:
    """One downstream task: classification (integer class labels), regression (T float
    targets per sequence) or multi-label (L 0/1 labels per sequence).

    Attributes:
        name: registry key, e.g. ``gue/EMP/H3``; for a user's task its path or YAML ``name``.
        suite: ``emp``, ``gue``, ``gb``, ``toy``, ``nt``, ``dnabert``, ``mtcdna``, or ``user``
            for a task built from a user's own files (:mod:`findna.data.user_tasks`).
        files: file role (``train``/``dev``/``test``, or any name for pooled protocols) -> path,
            relative to the data root or absolute. For ``class_folders``/``coordinates`` the path
            is a folder of classes; unused for ``fasta_classes``.
        format: ``table`` (CSV/TSV incl. DNABERT k-mers), ``class_folders``, ``coordinates``,
            ``fasta_classes``.
        num_classes: number of classes C; labels are ``0..C-1`` (after ``classes`` mapping).
            Unused for regression (pass 0).
        metric: primary metric: ``mcc`` (GUE, as DNABERT-2; NT), ``accuracy`` (GenomicBenchmarks,
            MTcDNA), ``macro_f1`` (multi-class virus-style tasks); for regression ``pearson``
            (mean Pearson r over targets), ``spearman`` or ``r2``.
        protocol: a key of :data:`findna.data.splits.PROTOCOLS`.
        max_len: the task's sequence length L for models (longest sequence, or the paper's value).
        description: one line for listings.
        sequence_column: table column with sequences; None = ``sequence`` or ``seq``.
        label_column: table column with labels.
        task_value: for a multi-task table, the ``task`` column value to keep.
        id_column: table column used as row ids (None: ``file:row``).
        classes: class names in label order: class folder/file names, or for a ``table`` the
            label values written in the file (class ``classes[i]`` gets label i). None: integer
            names (labels as written) or sorted names.
        genome: genome FASTA for ``coordinates``.
        class_files: label -> FASTA paths for ``fasta_classes``.
        min_length: ``fasta_classes`` keeps only records longer than this. With ``max_len``
            None, ``fasta_classes`` keeps records whole; else truncates/N-pads them to it.
        in_paper: whether the FinDNA paper reports this task.
        split_column: for a ``table`` whose one file holds every split: the column naming each
            row's split; every role of ``files`` then names that file and keeps the rows of that
            split (``dev`` rows are those marked ``val``/``dev``, see ``splits.SPLIT_VALUES``).
        origin: where a user's task came from (the folder, table or task YAML given); None for
            a registry task.
        task_type: ``classification`` (labels are (N,) int64 class indices), ``regression``
            (labels are (N, T) float32 targets) or ``multilabel`` (labels are (N, L) int64 0/1,
            one column per label; see :class:`findna.data.labeled.LabeledSequences`) or
            ``per_base`` (a class per base, :mod:`findna.data.per_base`: a ``table`` whose
            ``label_column`` holds label strings of the one-character ``classes``, or
            ``soft_mask``: windows of ``max_len`` bp of the FASTA ``genome`` labelled by case,
            :mod:`findna.data.soft_mask`; metric ``mcc`` etc. per base).
        targets: a regression task's T target names, or a multi-label task's L label names, in
            output order; empty for classification. For a ``table`` they are also the target
            columns unless ``target_columns`` is given (or ``label_separator`` is).
        target_columns: a regression or multi-label ``table``'s columns holding the targets (one
            0/1 column per label), in the order of ``targets``; empty: the columns named as
            ``targets``.
        label_separator: a multi-label ``table`` whose ``label_column`` lists each row's positive
            labels in one cell, separated by this (e.g. ``;``: ``H3K4me3;CTCF``; an empty cell is
            a row with no positive label); None: one 0/1 column per label.
        join_column: a regression task whose targets lie in several files (one measurement per
            file): the column the files are joined on (e.g. ``sequence``). ``files`` then maps
            each target name to its file, target t is column ``target_columns[t]`` of
            ``files[targets[t]]``, and only rows present in every file are kept, in the first
            file's order (:func:`findna.data.joined.read_joined`); the protocol must pool.
        peer_column: a column of the task's files holding a published model's prediction of
            the target(s): never read as a target or a feature; the task card names it, and
            :func:`findna.data.joined.peer_predictions` reads it for the rows of a split.
    """

    name: str
    suite: str
    files: Mapping[str, str]
    format: Format
    num_classes: int
    metric: Metric
    protocol: str
    max_len: int | None = None
    description: str = ""
    sequence_column: str | None = None
    label_column: str = "label"
    task_value: str | None = None
    id_column: str | None = None
    classes: tuple[str, ...] | None = None
    genome: str | None = None
    class_files: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    min_length: int = 5000
    in_paper: bool = False
    split_column: str | None = None
    origin: str | None = None
    task_type: TaskType = "classification"
    targets: tuple[str, ...] = ()
    target_columns: tuple[str, ...] = ()
    join_column: str | None = None
    peer_column: str | None = None
    label_separator: str | None = None

    @property
    def num_outputs(self) -> int:
        """The model's outputs: C classes for classification, T targets for regression, L labels
        for multi-label."""
        per_class = self.task_type in ("classification", "per_base")
        return self.num_classes if per_class else len(self.targets)

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "target_columns", tuple(self.target_columns))
        if self.format not in FORMATS:
            raise ValueError(f"task {self.name}: format {self.format!r} not in {FORMATS}")
        if self.metric not in METRICS:
            raise ValueError(f"task {self.name}: metric {self.metric!r} not in {METRICS}")
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task {self.name}: task_type {self.task_type!r} not in {TASK_TYPES}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(
                f"task {self.name}: protocol {self.protocol!r} not in {sorted(PROTOCOLS)}"
            )
        if self.task_type == "regression":
            self._check_regression()
        elif self.task_type == "multilabel":
            self._check_multilabel()
        elif self.task_type == "per_base":
            self._check_per_base()
        else:
            self._check_classification()
        if self.format == "fasta_classes":
            if not self.class_files:
                raise ValueError(f"task {self.name}: fasta_classes needs class_files")
        elif not self.files:
            raise ValueError(f"task {self.name}: no files")
        if self.format == "soft_mask" and self.task_type != "per_base":
            raise ValueError(f"task {self.name}: a soft_mask genome gives per_base tasks only")
        if self.format == "coordinates" and self.genome is None:
            raise ValueError(f"task {self.name}: coordinates need a genome FASTA")

    def _check_classification(self) -> None:
        if self.metric not in CLASSIFICATION_METRICS:
            raise ValueError(
                f"task {self.name}: metric {self.metric!r} is not a classification metric "
                f"{CLASSIFICATION_METRICS}; use one of them, or task_type='regression'"
            )
        if self.num_classes < 2:
            raise ValueError(f"task {self.name}: num_classes must be >= 2, got {self.num_classes}")
        if self.targets or self.target_columns or self.join_column:
            raise ValueError(
                f"task {self.name}: targets are for regression and multi-label tasks; set "
                "task_type='regression' (or 'multilabel') or drop the targets"
            )
        if self.label_separator is not None:
            raise ValueError(
                f"task {self.name}: label_separator is for multi-label tasks; set "
                "task_type='multilabel' or drop it"
            )

    def _check_per_base(self) -> None:
        self._check_classification()
        if self.format not in ("table", "soft_mask"):
            raise ValueError(
                f"task {self.name}: a per-base task is a table of label strings or a soft_mask "
                f"genome, not {self.format!r}"
            )
        if self.format == "soft_mask" and (self.genome is None or not self.max_len):
            raise ValueError(f"task {self.name}: soft_mask needs a genome FASTA and max_len")
        if self.format == "table" and (
            self.classes is None or any(len(c) != 1 for c in self.classes)
        ):
            raise ValueError(
                f"task {self.name}: a per-base table needs classes of one character each, the "
                f"characters of its label strings (classes: ['0', '1']), got {self.classes}"
            )

    def _check_multilabel(self) -> None:
        if self.metric not in MULTILABEL_METRICS:
            raise ValueError(
                f"task {self.name}: metric {self.metric!r} is not a multi-label metric "
                f"{MULTILABEL_METRICS}; use one of them (macro_auroc is the usual one)"
            )
        if not self.targets:
            raise ValueError(
                f"task {self.name}: a multi-label task needs at least one label name (targets: "
                "[label_a, label_b])"
            )
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"task {self.name}: label names repeat: {list(self.targets)}")
        if self.format != "table":
            raise ValueError(
                f"task {self.name}: a multi-label task must be a table (format 'table'), got "
                f"{self.format!r}"
            )
        if self.join_column is not None:
            raise ValueError(f"task {self.name}: a multi-label task cannot be joined from files")
        if self.label_separator is not None:
            if not self.label_separator or self.label_separator.isspace():
                raise ValueError(
                    f"task {self.name}: label_separator {self.label_separator!r} must be a "
                    "visible character or string such as ';' or ','"
                )
            if self.target_columns:
                raise ValueError(
                    f"task {self.name}: give either one 0/1 column per label (target_columns) "
                    "or one column listing the labels (label_separator), not both"
                )
        elif self.target_columns and len(self.target_columns) != len(self.targets):
            raise ValueError(
                f"task {self.name}: {len(self.target_columns)} label columns for "
                f"{len(self.targets)} labels; give one 0/1 column per label"
            )

    def _check_regression(self) -> None:
        if self.metric not in REGRESSION_METRICS:
            raise ValueError(
                f"task {self.name}: metric {self.metric!r} is not a regression metric "
                f"{REGRESSION_METRICS}; use one of them (pearson is the usual one)"
            )
        if not self.targets:
            raise ValueError(
                f"task {self.name}: a regression task needs at least one target; name the target "
                "column(s) (targets: [col_a, col_b])"
            )
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"task {self.name}: targets repeat a name: {list(self.targets)}")
        if self.target_columns and len(self.target_columns) != len(self.targets):
            raise ValueError(
                f"task {self.name}: {len(self.target_columns)} target columns for "
                f"{len(self.targets)} targets; give one column per target"
            )
        if self.label_separator is not None:
            raise ValueError(f"task {self.name}: label_separator is for multi-label tasks; drop it")
        if self.format not in ("table", "coordinates"):
            raise ValueError(
                f"task {self.name}: a regression task must be a table or genome intervals "
                f"(format 'table' or 'coordinates'), got {self.format!r}"
            )
        columns = set(self.target_columns or self.targets)
        if self.peer_column is not None and self.peer_column in columns:
            raise ValueError(
                f"task {self.name}: peer_column {self.peer_column!r} is also a target column; a "
                "published model's prediction is never a target"
            )
        if self.join_column is not None and PROTOCOLS[self.protocol].needs != ("*",):
            raise ValueError(
                f"task {self.name}: a task joined on {self.join_column!r} is one pool of rows; "
                "its protocol must pool (resplit_70_10_20, grouped_70_10_20 or "
                f"nested_60_20_20), not {self.protocol!r}"
            )
        if self.join_column is not None and set(self.files) != set(self.targets):
            raise ValueError(
                f"task {self.name}: a task joined on {self.join_column!r} names one file per "
                f"target: files {sorted(self.files)} must be the targets {list(self.targets)}"
            )
