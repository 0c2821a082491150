"""Regression tasks whose targets lie in several files, joined on the sequence, and the published
model's predictions a task's files may carry (:attr:`TaskSpec.peer_column`).

``vaishnav2022/native_both`` is the case in point: expression of the same promoters measured in
two media, one file per medium; its rows are the sequences present in both files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from findna.data.alphabet import OnInvalid
from findna.data.labeled import LabeledSequences
from findna.data.readers import data_row, read_frame, read_table, require_column
from findna.data.targets import parse_targets
from findna.data.task_spec import TaskSpec


def _path(root: Path | None, rel: str) -> Path:
    return Path(rel) if root is None else root / rel  # an absolute rel stays absolute


def _columns(spec: TaskSpec) -> tuple[str, ...]:
    return spec.target_columns or spec.targets


def read_joined(
    spec: TaskSpec, root: Path | None, on_invalid: OnInvalid = "error"
) -> LabeledSequences:
    """The rows of every file of ``spec`` joined on the sequence (``spec.join_column``).

    Target t is column ``target_columns[t]`` of ``files[targets[t]]``; a row is kept when its
    sequence is in every file, in the order of the first target's file (whose ids it keeps).

    Raises:
        ValueError: a sequence repeated within one file (naming both rows), no sequence common
            to all files, and every error of :func:`findna.data.readers.read_table`.
    """
    parts = []
    for target, column in zip(spec.targets, _columns(spec), strict=True):
        path = _path(root, spec.files[target])
        part = read_table(
            path,
            sequence_column=spec.join_column,
            target_columns=[column],
            id_column=spec.id_column,
            on_invalid=on_invalid,
        )
        first: dict[str, int] = {}
        for i, seq in enumerate(part.seqs):
            if seq in first:
                raise ValueError(
                    f"{data_row(path, i)}: sequence repeats {data_row(path, first[seq])}; a task "
                    f"joined on {spec.join_column!r} needs each sequence once per file. Remove "
                    "or merge the repeated rows."
                )
            first[seq] = i
        parts.append((part, first))
    base = parts[0][0]
    keep = [i for i, s in enumerate(base.seqs) if all(s in index for _, index in parts[1:])]
    if not keep:
        files = [spec.files[t] for t in spec.targets]
        raise ValueError(
            f"task {spec.name}: no sequence is in every file {files}; nothing to join on "
            f"{spec.join_column!r}"
        )
    seqs = [base.seqs[i] for i in keep]
    labels = np.column_stack(
        [part.labels[[index[s] for s in seqs], 0] for part, index in parts]
    ).astype(np.float32)
    return LabeledSequences(seqs, labels, [base.ids[i] for i in keep])


def peer_predictions(spec: TaskSpec, part: LabeledSequences, root: Path | None) -> np.ndarray:
    """The published model's predictions (``spec.peer_column``) for the rows of ``part``.

    Rows are matched by sequence in the file of each target (a joined task) or in the task's one
    file; compare them with ``part.labels`` on the same rows (e.g. the test split), never train
    on them.

    Args:
        spec: a regression task with a ``peer_column``.
        part: rows of the task (a split of ``load_task(spec)``).
        root: the data root the task was loaded with (``TaskData.root``).

    Returns:
        (N, T) float32 predictions, in the order of ``part`` and ``spec.targets``.
    """
    if spec.peer_column is None:
        raise ValueError(f"task {spec.name}: no peer_column; its files hold no peer predictions")
    if spec.join_column is not None:
        files = [spec.files[t] for t in spec.targets]
    elif len(spec.targets) == 1 and len(set(spec.files.values())) == 1:
        files = [next(iter(spec.files.values()))]
    else:
        raise ValueError(
            f"task {spec.name}: peer predictions are read for a one-file, one-target task or a "
            "joined task (one file per target)"
        )
    out = np.empty((len(part), len(files)), dtype=np.float32)
    for t, rel in enumerate(files):
        path = _path(root, rel)
        df = read_frame(path, None)
        require_column(path, df, spec.peer_column, "peer prediction")
        seq_col = spec.join_column or spec.sequence_column or "sequence"
        require_column(path, df, seq_col, "sequence")
        values = parse_targets(df, [spec.peer_column], lambda i, p=path: data_row(p, i))[:, 0]
        index = {s.strip(): i for i, s in enumerate(df[seq_col])}
        missing = [s for s in part.seqs if s not in index]
        if missing:
            raise ValueError(
                f"{path}: {len(missing)} sequence(s) of the rows asked for are not in the file "
                f"(first {missing[0][:30]}...); peer predictions match rows by sequence"
            )
        out[:, t] = values[[index[s] for s in part.seqs]]
    return out
