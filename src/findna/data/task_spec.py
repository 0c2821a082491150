""":class:`TaskSpec`: what one downstream classification task is made of (files, layout, labels,
metric, split protocol). The registry of shipped tasks is :mod:`findna.data.tasks`; tasks built
from a user's own files are :mod:`findna.data.user_tasks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from findna.data.splits import PROTOCOLS

Format = Literal["table", "class_folders", "coordinates", "fasta_classes"]
Metric = Literal["mcc", "accuracy", "macro_f1"]
METRICS = ("mcc", "accuracy", "macro_f1")
FORMATS = ("table", "class_folders", "coordinates", "fasta_classes")


@dataclass(frozen=True)
class TaskSpec:
    """One downstream classification task.

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
        metric: primary metric: ``mcc`` (GUE, as DNABERT-2; NT), ``accuracy`` (GenomicBenchmarks,
            MTcDNA), ``macro_f1`` (multi-class virus-style tasks).
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

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"task {self.name}: format {self.format!r} not in {FORMATS}")
        if self.metric not in METRICS:
            raise ValueError(f"task {self.name}: metric {self.metric!r} not in {METRICS}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(
                f"task {self.name}: protocol {self.protocol!r} not in {sorted(PROTOCOLS)}"
            )
        if self.num_classes < 2:
            raise ValueError(f"task {self.name}: num_classes must be >= 2, got {self.num_classes}")
        if self.format == "fasta_classes":
            if not self.class_files:
                raise ValueError(f"task {self.name}: fasta_classes needs class_files")
        elif not self.files:
            raise ValueError(f"task {self.name}: no files")
        if self.format == "coordinates" and self.genome is None:
            raise ValueError(f"task {self.name}: coordinates need a genome FASTA")
