"""How a user's task is read: :class:`UserTaskOptions`, the ``--label-column``/``--task-type``
flags or a task YAML's keys, checked as a whole (:mod:`findna.data.user_tasks` turns them and a
path into a :class:`~findna.data.task_spec.TaskSpec`)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from findna.data.splits import PROTOCOLS
from findna.data.task_spec import METRICS, TASK_TYPES, Metric, TaskType


@dataclass(frozen=True)
class UserTaskOptions:
    """How to read a user's task: ``--label-column``/``--sequence-column`` or task YAML keys.

    None means "not given" (the default in brackets), so that flags can override a task YAML.

    Attributes:
        name: the task's name in reports (the path as given).
        sequence_column: table column of sequences (``sequence`` or ``seq``).
        label_column: table column of labels (``label``).
        split_column: column of a single table naming each row's split (``split``).
        labels: class names in label order, when the sorted order is not wanted (a per-base
            task's one-character classes: ``classes:`` in its task YAML).
        metric: primary metric (``mcc``).
        protocol: split protocol (chosen from the splits present, see :func:`choose_protocol`).
        max_len: model length L (the longest sequence); FASTA records are cut or N-padded to it
            (kept whole when not given).
        description: one line for listings.
        task_type: ``classification``, ``regression``, ``multilabel`` (0/1 labels) or
            ``per_base`` (a label string per row, :mod:`findna.data.user_per_base`; ``per-base``
            is read as ``per_base``); target columns alone imply regression
            (:mod:`findna.data.user_regression`).
        target_columns: a regression task's target columns, or a multi-label task's 0/1 label
            columns, in output order (``--target-columns a,b``; ``targets:`` in a task YAML).
        label_separator: a multi-label task whose ``label_column`` lists each row's positive
            labels: the separator between them (``--label-separator``; ``;`` when not given).
        reference, flank, allow_overlap: genome intervals (:mod:`findna.data.interval_tasks`).
    """

    name: str | None = None
    sequence_column: str | None = None
    label_column: str | None = None
    split_column: str | None = None
    labels: tuple[str, ...] | None = None
    metric: Metric | None = None
    protocol: str | None = None
    max_len: int | None = None
    description: str | None = None
    task_type: TaskType | None = None
    target_columns: tuple[str, ...] | None = None
    label_separator: str | None = None
    reference: str | None = None
    flank: int | None = None
    allow_overlap: bool | None = None

    @property
    def regression(self) -> bool:
        """Whether these options describe a regression task."""
        return self.task_type == "regression" or (
            self.task_type is None and self.target_columns is not None
        )

    def __post_init__(self) -> None:
        if self.task_type == "per-base":  # the spelling of the flag's words, one type
            object.__setattr__(self, "task_type", "per_base")
        if self.task_type is not None and self.task_type not in TASK_TYPES:
            raise ValueError(f"task type {self.task_type!r} is not one of {list(TASK_TYPES)}")
        if self.label_separator is not None and self.task_type != "multilabel":
            raise ValueError(
                "a label separator is for a multi-label task whose label column lists each "
                "row's labels; add --task-type multilabel (type: multilabel in a task YAML)"
            )
        if self.target_columns is not None:
            columns = self.target_columns
            if not columns or any(not c for c in columns) or len(set(columns)) != len(columns):
                raise ValueError(
                    f"target columns {list(columns)}: give one or more distinct column names "
                    "(--target-columns a,b)"
                )
            if self.task_type == "classification":
                raise ValueError(
                    "target columns are for a regression or multi-label task; drop them, or "
                    "make the task type regression or multilabel"
                )
        if self.metric is not None and self.metric not in METRICS:
            raise ValueError(f"metric {self.metric!r} is not one of {list(METRICS)}")
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol {self.protocol!r} is not one of {sorted(PROTOCOLS)}")
        if self.max_len is not None and self.max_len < 1:
            raise ValueError(f"max_len must be a positive integer, got {self.max_len}")
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels {list(self.labels)} name a class twice")

    def given(self) -> dict[str, object]:
        """The options that were given (not None)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


__all__ = ["UserTaskOptions"]
