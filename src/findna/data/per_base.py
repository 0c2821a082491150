"""Per-base tasks (issue 23): a class label for every base of a sequence.

Labels of one sequence are a *label string* as long as the sequence, one character per base,
each one of the task's declared classes (``classes=("0", "1")``: ``0011100``). Read from a user's
table they are checked row by row (:func:`parse_label_strings`): a string whose length differs
from its sequence, or a character outside the classes, is a named error (file, row, both lengths
or the position and character). The registered repeat tasks read their labels from the case of
soft-masked genomes instead (:mod:`findna.data.soft_mask`).

Rows are kept as :class:`PerBaseSequences`: the sequences, an (N, L_max) int8 label matrix
right-padded with :data:`PAD_LABEL` (-1, never a class; metrics and losses skip it) and row
ids. Pooled protocols split per-base rows at random (seeded, never stratified: a row holds
several classes), :func:`findna.data.splits.apply_protocol`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from findna.data.alphabet import OnInvalid
from findna.data.labeled import LabeledSequences
from findna.data.readers import check_sequences, check_unique_ids, data_row

PAD_LABEL = -1
"""The label of a padding position of :attr:`PerBaseSequences.labels` (ignored everywhere)."""


@dataclass
class PerBaseSequences(LabeledSequences):
    """Sequences with a class label per base.

    Attributes:
        seqs: N DNA strings.
        labels: (N, L_max) int8: ``labels[i, :len(seqs[i])]`` are the class indices of sequence
            i's bases, the rest :data:`PAD_LABEL`.
        ids: N row identifiers.
    """

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int8)
        if self.labels.ndim != 2 or len(self.labels) != len(self.seqs):
            raise ValueError(
                f"per-base labels must be (N, L_max) for N sequences and ids, got labels "
                f"{self.labels.shape}, {len(self.seqs)} sequences, {len(self.ids)} ids"
            )
        if len(self.ids) != len(self.seqs):
            raise ValueError(f"{len(self.seqs)} sequences but {len(self.ids)} ids")
        lengths = self.lengths()
        on_base = np.arange(self.labels.shape[1])[None, :] < lengths[:, None]
        bad = (lengths > self.labels.shape[1]) | ((self.labels < 0) == on_base).any(axis=1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"row {self.ids[i]}: per-base labels must be >= 0 on its {lengths[i]} bases and "
                f"{PAD_LABEL} (padding) after them"
            )
        if (self.labels < PAD_LABEL).any():
            raise ValueError(f"per-base labels must be class indices >= 0 or {PAD_LABEL}")

    @property
    def is_regression(self) -> bool:
        return False

    def base_labels(self, i: int) -> np.ndarray:
        """(L_i,) int8 class indices of the bases of sequence ``i``."""
        return self.labels[i, : len(self.seqs[i])]

    def counts(self, num_classes: int) -> np.ndarray:
        """(C,) int64 number of bases of each class over all rows."""
        flat = self.labels[self.labels != PAD_LABEL].astype(np.int64)
        return np.bincount(flat, minlength=num_classes)

    def subset(self, index: np.ndarray | Sequence[int]) -> PerBaseSequences:
        """The rows at ``index`` (in that order), padded to their own longest row."""
        index = np.asarray(index, dtype=np.int64)
        seqs = [self.seqs[i] for i in index]
        width = max(map(len, seqs), default=0)
        return PerBaseSequences(seqs, self.labels[index, :width], [self.ids[i] for i in index])

    @staticmethod
    def concat(parts: Sequence[LabeledSequences]) -> PerBaseSequences:
        """All rows of ``parts`` in order, padded to the longest."""
        rows = [p.base_labels(i) for p in parts for i in range(len(p))]  # type: ignore[attr-defined]
        return PerBaseSequences(
            [s for p in parts for s in p.seqs], pad_labels(rows), [i for p in parts for i in p.ids]
        )


def pad_labels(rows: Sequence[np.ndarray]) -> np.ndarray:
    """(N, L_max) int8 of per-base label rows, right-padded with :data:`PAD_LABEL`."""
    width = max(map(len, rows), default=0)
    out = np.full((len(rows), width), PAD_LABEL, dtype=np.int8)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out


def parse_label_strings(
    labels: Sequence[str], seqs: Sequence[str], classes: Sequence[str], where
) -> np.ndarray:
    """The label strings of ``seqs`` as an (N, L_max) int8 matrix (padding :data:`PAD_LABEL`).

    Args:
        labels: N label strings, one character per base.
        seqs: the N sequences they label.
        classes: the one-character class names in label order (class ``classes[k]`` is k).
        where: row index -> location text (file and row) for messages.

    Raises:
        ValueError: a class name that is not one character, a label string whose length
            differs from its sequence (both lengths named), or a character that is no class
            (its 1-based position named).
    """
    bad = [c for c in classes if len(c) != 1]
    if bad or len(set(classes)) != len(classes) or len(classes) < 2:
        raise ValueError(
            f"per-base classes must be 2 or more distinct single characters (one per base of "
            f"a label string), got {list(classes)}"
        )
    lookup = np.full(256, -1, dtype=np.int16)
    for k, c in enumerate(classes):
        lookup[ord(c)] = k
    rows = []
    for i, (lab, seq) in enumerate(zip(labels, seqs, strict=True)):
        if len(lab) != len(seq):
            raise ValueError(
                f"{where(i)}: the label string has {len(lab)} characters but the sequence has "
                f"{len(seq)} bases; give one label per base"
            )
        if not lab.isascii():
            raise ValueError(f"{where(i)}: the label string holds a non-ASCII character")
        codes = lookup[np.frombuffer(lab.encode("ascii"), dtype=np.uint8)]
        if (codes < 0).any():
            pos = int(np.flatnonzero(codes < 0)[0])
            raise ValueError(
                f"{where(i)}: label character {lab[pos]!r} at base {pos + 1} is not one of the "
                f"classes {list(classes)}; fix the label or declare the class"
            )
        rows.append(codes.astype(np.int8))
    return pad_labels(rows)


def read_per_base_table(
    path: str | Path,
    *,
    classes: Sequence[str],
    sequence_column: str | None = None,
    label_column: str = "label",
    id_column: str | None = None,
    split_column: str | None = None,
    split_values: tuple[str, ...] | None = None,
    on_invalid: OnInvalid = "error",
) -> PerBaseSequences:
    """Read a CSV/TSV (tab for ``.tsv``/``.txt``) of sequences with a label string per row.

    Args:
        path: the table (header line first; ``.gz`` is decompressed).
        classes: the one-character class names in label order.
        sequence_column: None picks ``sequence`` or ``seq``.
        label_column: the column of label strings.
        id_column: a column of row ids; None uses ``<file name>:<data row>``.
        split_column, split_values: keep only rows whose split column, stripped and
            lower-cased, is one of ``split_values``.
        on_invalid: ``"error"`` or ``"n"`` for characters outside the DNA alphabet.

    Returns:
        The rows in file order, checked (:func:`parse_label_strings`).
    """
    import pandas as pd

    path = Path(path)
    name = path.name.removesuffix(".gz")
    sep = "\t" if name.endswith((".tsv", ".txt")) else ","
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    seq_col = sequence_column or next((c for c in ("sequence", "seq") if c in frame), None)
    for role, col in (("sequence", seq_col), ("label", label_column), ("id", id_column)):
        if role == "id" and col is None:
            continue
        if col is None or col not in frame:
            raise ValueError(
                f"{path}: no {role} column {col or '(sequence or seq)'}; the header has "
                f"{list(frame.columns)}"
            )
    rows = np.arange(len(frame))
    if split_column is not None:
        if split_column not in frame:
            raise ValueError(f"{path}: no split column {split_column!r} in {list(frame.columns)}")
        keep = frame[split_column].str.strip().str.lower().isin(split_values or ())
        rows = rows[keep.to_numpy()]
    seqs = [frame[seq_col].iat[i].strip() for i in rows]
    seqs = check_sequences(seqs, lambda k: data_row(path, int(rows[k])), on_invalid)
    labels = [frame[label_column].iat[i].strip() for i in rows]
    matrix = parse_label_strings(labels, seqs, classes, lambda k: data_row(path, int(rows[k])))
    if id_column:
        ids = [str(frame[id_column].iat[i]) for i in rows]
        check_unique_ids(path, ids, lambda k: data_row(path, int(rows[k])))
    else:
        ids = [f"{path.name}:{i + 1}" for i in rows]
    return PerBaseSequences(seqs, matrix, ids)


def per_base_sizes(
    splits: Mapping[str, LabeledSequences], num_classes: int
) -> dict[str, dict[str, int]]:
    """``{split: {"n": rows, "bases": bases, "<k>": bases of class k}}``.

    Raises:
        ValueError: a split with no rows, a train split missing a class, or a validation or test
            split with bases of one class only (per-base MCC is then undefined), each named.
    """
    sizes, problems = {}, []
    for name, part in splits.items():
        counts = part.counts(num_classes)  # type: ignore[attr-defined]
        sizes[name] = {"n": len(part), "bases": int(counts.sum())}
        sizes[name].update({str(k): int(c) for k, c in enumerate(counts)})
        absent = [k for k, c in enumerate(counts) if c == 0]
        if len(part) == 0:
            problems.append(f"the {name} split is empty")
        elif name == "train" and absent:
            problems.append(f"the train split has no base of class(es) {absent}")
        elif (counts > 0).sum() < 2:
            problems.append(f"the {name} split holds bases of one class only")
    if problems:
        raise ValueError("; ".join(problems))
    return sizes


__all__ = [
    "PAD_LABEL",
    "PerBaseSequences",
    "pad_labels",
    "parse_label_strings",
    "per_base_sizes",
    "read_per_base_table",
]
