"""Split protocols: how a task's files become train / validation / test.

Each protocol is explicit and named; ``findna data info`` prints its description. Validation never
comes from the test split. Seeded splits use scikit-learn's ``train_test_split`` (stratified by
label unless a protocol says otherwise), so a given ``seed`` always yields the same rows. A
regression task (float targets: there are no classes) and a multi-label task (0/1 labels) are
split at random, seeded, never stratified, by the same protocols.

===================  ====================  ====================================================
protocol             needs files           result
===================  ====================  ====================================================
``official``         train, dev, test      train = train, val = dev, test = test
``val_from_dev``     dev, test             train/val = stratified 90/10 of dev; test untouched
``val_from_train``   train, test           train/val = stratified 90/10 of train; test untouched
``resplit_70_10_20`` any (pooled)          stratified 70/10/20 of all rows
``grouped_70_10_20`` any (pooled)          70/10/20 of the near-duplicate groups of all rows
                                           (:mod:`.near_duplicates`), each group whole, seeded
``nested_60_20_20``  any (pooled)          MTcDNA reference: 80/20 train/test, then 75/25 of
                                           train into train/val, not stratified
===================  ====================  ====================================================
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from findna.data.labeled import LabeledSequences
from findna.data.near_duplicates import grouped_split
from findna.data.targets import check_varies

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")

SPLIT_VALUES: dict[str, tuple[str, ...]] = {
    "train": ("train",),
    "dev": ("val", "dev", "valid", "validation"),
    "test": ("test",),
}
"""File role -> the words that name it: in a split column (compared lower-case) and as file
stems of a task folder. The validation role is ``dev``, as in :data:`PROTOCOLS`."""


@dataclass(frozen=True)
class SplitProtocol:
    """A named way to build train/val/test.

    Attributes:
        name: registry key.
        needs: source file roles the protocol reads (``("*",)`` = any files, pooled).
        description: one line for ``findna data info``.
    """

    name: str
    needs: tuple[str, ...]
    description: str


PROTOCOLS: dict[str, SplitProtocol] = {
    p.name: p
    for p in (
        SplitProtocol(
            "official", ("train", "dev", "test"), "official train/dev/test; dev is the validation"
        ),
        SplitProtocol(
            "val_from_dev",
            ("dev", "test"),
            "no train file: train/val = seeded stratified 90/10 of dev; test untouched",
        ),
        SplitProtocol(
            "val_from_train",
            ("train", "test"),
            "official train/test: train/val = seeded stratified 90/10 of train; test untouched",
        ),
        SplitProtocol(
            "resplit_70_10_20",
            ("*",),
            "all rows pooled, then a seeded stratified 70/10/20 train/val/test re-split "
            "(regression and multi-label: seeded random, not stratified)",
        ),
        SplitProtocol(
            "grouped_70_10_20",
            ("*",),
            "all rows pooled, grouped by near-duplicates (rows sharing half their 12-mers), "
            "then a seeded 70/10/20 re-split of whole groups (not stratified)",
        ),
        SplitProtocol(
            "nested_60_20_20",
            ("*",),
            "MTcDNA reference: 80/20 train/test, then 75/25 of train into train/val "
            "(random_state=seed, not stratified) = 60/20/20",
        ),
    )
}


def _two_way(
    index: np.ndarray, labels: np.ndarray, test_size: float, seed: int, stratify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``index`` into (keep, held_out) with sklearn; fall back to unstratified if needed."""
    from sklearn.model_selection import train_test_split  # lazy: keeps `findna --help` fast

    if stratify:
        try:
            a, b = train_test_split(
                index, test_size=test_size, random_state=seed, stratify=labels[index]
            )
            return a, b
        except ValueError as err:
            log.warning("stratified split impossible (%s); splitting without stratification", err)
    a, b = train_test_split(index, test_size=test_size, random_state=seed)
    return a, b


def split_indices(
    labels: np.ndarray, fractions: tuple[float, ...], seed: int, *, stratify: bool = True
) -> list[np.ndarray]:
    """Seeded split of ``range(len(labels))`` into parts of the given fractions.

    Parts are peeled off from the end: for ``(0.7, 0.1, 0.2)`` the last 20% is split off first,
    then 0.1/0.8 of the rest. ``(0.6, 0.2, 0.2)`` therefore reproduces the MTcDNA reference
    (``test_size=0.2`` then ``test_size=0.25``, same ``random_state``).

    Args:
        labels: (N,) class labels, used for stratification.
        fractions: positive fractions summing to 1.
        seed: ``random_state`` of every ``train_test_split`` call.
        stratify: keep class proportions (falls back to unstratified with a warning when a class
            is too small).

    Returns:
        One sorted int64 index array per fraction; together they partition ``range(N)``.
    """
    if len(fractions) < 2 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be >= 2 positive numbers summing to 1, got {fractions}")
    labels = np.asarray(labels)
    rest = np.arange(len(labels))
    if len(rest) < len(fractions):
        raise ValueError(f"cannot split {len(rest)} rows into {len(fractions)} parts")
    parts: list[np.ndarray] = []
    remaining = 1.0
    for frac in fractions[:0:-1]:
        rest, part = _two_way(rest, labels, round(frac / remaining, 12), seed, stratify)
        parts.append(part)
        remaining -= frac
    parts.append(rest)
    return [np.sort(p).astype(np.int64) for p in parts[::-1]]


def apply_protocol(
    protocol: str, sources: Mapping[str, LabeledSequences], seed: int
) -> dict[str, LabeledSequences]:
    """Build ``{"train", "val", "test"}`` from the source files of a task.

    Args:
        protocol: a key of :data:`PROTOCOLS`.
        sources: file role (``train``, ``dev``, ``test`` or any name for pooled protocols) ->
            rows read from it.
        seed: split seed.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown split protocol {protocol!r}; choose from {sorted(PROTOCOLS)}")
    needs = PROTOCOLS[protocol].needs
    if needs != ("*",):
        missing = [n for n in needs if n not in sources]
        if missing:
            raise ValueError(
                f"protocol {protocol!r} needs files {list(needs)} but {missing} are missing "
                f"(have {sorted(sources)}); pick the protocol that matches the files present"
            )
    if protocol == "official":
        return {"train": sources["train"], "val": sources["dev"], "test": sources["test"]}
    if protocol in ("val_from_dev", "val_from_train"):
        fit = sources["dev" if protocol == "val_from_dev" else "train"]
        tr, va = split_indices(fit.labels, (0.9, 0.1), seed, stratify=_has_classes(fit))
        return {"train": fit.subset(tr), "val": fit.subset(va), "test": sources["test"]}
    parts = list(sources.values())
    pool = type(parts[0]).concat(parts)  # per-base rows concatenate as their own kind
    if protocol == "grouped_70_10_20":
        tr, va, te = grouped_split(pool.seqs, (0.7, 0.1, 0.2), seed, "pooled rows")
        return {"train": pool.subset(tr), "val": pool.subset(va), "test": pool.subset(te)}
    fractions = (0.7, 0.1, 0.2) if protocol == "resplit_70_10_20" else (0.6, 0.2, 0.2)
    stratify = protocol == "resplit_70_10_20" and _has_classes(pool)
    tr, va, te = split_indices(pool.labels, fractions, seed, stratify=stratify)
    return {"train": pool.subset(tr), "val": pool.subset(va), "test": pool.subset(te)}


def _has_classes(part: LabeledSequences) -> bool:
    """Whether ``part`` holds one class label per row (stratified); regression targets,
    multi-label rows and per-base label rows (all 2-D) are split at random, seeded."""
    return part.labels.ndim == 1


def shared_sequences(splits: Mapping[str, LabeledSequences]) -> dict[str, int]:
    """Distinct exact-duplicate sequences shared by each pair of splits.

    Returns:
        ``{"train&val": n, "train&test": n, "val&test": n}`` (pairs in ``splits`` order).
    """
    sets = {k: set(v.seqs) for k, v in splits.items()}
    return {f"{a}&{b}": len(sets[a] & sets[b]) for a, b in combinations(splits, 2)}


MIN_TRAIN_PER_CLASS = 2
"""Fewer training examples of a class than this cannot train a head that tells it apart."""


MIN_REGRESSION_ROWS = 2
"""Fewer rows than this in a regression split give no correlation (train, val or test)."""


def split_sizes(
    splits: Mapping[str, LabeledSequences], targets: Sequence[str] | None = None
) -> dict[str, dict[str, int]]:
    """Examples per split and class: ``{"train": {"n": 90, "0": 45, "1": 45}, ...}``; for a
    regression task (float targets) examples per split only: ``{"train": {"n": 90}, ...}``; for
    a multi-label task (0/1 labels) the positive rows per label, ``pos_<label>`` (``targets``
    names the labels; default ``1``, ``2``, ...): ``{"train": {"n": 90, "pos_CTCF": 12}, ...}``."""
    sizes = {}
    for name, part in splits.items():
        if part.is_regression:
            sizes[name] = {"n": len(part)}
            continue
        if part.is_multilabel:
            names = _label_names(part, targets)
            positives = part.labels.sum(axis=0)
            sizes[name] = {"n": len(part)}
            sizes[name].update({f"pos_{n}": int(k) for n, k in zip(names, positives, strict=True)})
            continue
        classes, counts = np.unique(part.labels, return_counts=True)
        per_class = {str(c): int(k) for c, k in zip(classes, counts, strict=True)}
        sizes[name] = {"n": len(part), **per_class}
    return sizes


def _label_names(part: LabeledSequences, targets: Sequence[str] | None) -> list[str]:
    width = part.labels.shape[1]
    return list(targets) if targets else [str(t + 1) for t in range(width)]


def check_splits(
    task: str, splits: Mapping[str, LabeledSequences], targets: Sequence[str] | None = None
) -> None:
    """Refuse splits that cannot give a meaningful score, before any training.

    Every split needs two classes or more (a one-class split scores any model perfectly or
    meaninglessly), the training split :data:`MIN_TRAIN_PER_CLASS` examples of each class, and
    no class may appear in validation or test that training never shows.

    Raises:
        ValueError: naming the task, every problem found and the examples per split and class.

    A regression task (float targets) is checked by :func:`check_regression_splits` instead, a
    multi-label task (0/1 labels) by :func:`check_multilabel_splits`; ``targets`` names their
    targets or labels in messages.
    """
    if any(part.is_regression for part in splits.values()):
        check_regression_splits(task, splits, tuple(targets) if targets else None)
        return
    if any(part.is_multilabel for part in splits.values()):
        check_multilabel_splits(task, splits, targets)
        return
    sizes = split_sizes(splits)
    problems = []
    for name, counts in sizes.items():
        classes = [c for c in counts if c != "n"]
        if len(classes) < 2:
            problems.append(
                f"the {name} split has {counts['n']} example(s) of {len(classes)} class(es)"
            )
    train = {c: k for c, k in sizes.get("train", {}).items() if c != "n"}
    few = [c for c, k in train.items() if k < MIN_TRAIN_PER_CLASS]
    if few:
        problems.append(
            f"train has fewer than {MIN_TRAIN_PER_CLASS} examples of class(es) {', '.join(few)}"
        )
    unseen = sorted(
        {c for n, cs in sizes.items() if n != "train" for c in cs if c != "n"} - set(train) - {"n"}
    )
    if unseen:
        problems.append(f"class(es) {', '.join(unseen)} appear in val/test but never in train")
    if problems:
        listed = "; ".join(
            f"{n}: {c['n']} ({', '.join(f'class {k}: {v}' for k, v in c.items() if k != 'n')})"
            for n, c in sizes.items()
        )
        raise ValueError(
            f"task {task}: no meaningful score is possible: {'; '.join(problems)}. Examples per "
            f"split: {listed}. Add examples of the missing classes, or use another split "
            "protocol or split seed."
        )


def check_regression_splits(
    task: str, splits: Mapping[str, LabeledSequences], targets: tuple[str, ...] | None = None
) -> None:
    """Refuse regression splits that cannot give a meaningful score, before any training.

    Every split needs :data:`MIN_REGRESSION_ROWS` rows or more, every target must be finite, all
    splits the same number of targets, and no training target may be constant (nothing to learn).

    Args:
        task: the task's name, for messages.
        splits: ``{"train", "val", "test"}`` with (N, T) float targets.
        targets: the T target names (default ``target 1``, ...).

    Raises:
        ValueError: naming the task, every problem found and the rows per split.
    """
    problems = []
    widths = {part.labels.shape[1] if part.labels.ndim == 2 else 0 for part in splits.values()}
    if not all(part.is_regression for part in splits.values()) or len(widths) != 1:
        shapes = {n: f"{p.labels.shape} {p.labels.dtype}" for n, p in splits.items()}
        raise ValueError(
            f"task {task}: the splits mix class labels and regression targets, or differ in the "
            f"number of targets ({shapes}); every split needs the same (N, T) float targets"
        )
    for name, part in splits.items():
        if len(part) < MIN_REGRESSION_ROWS:
            problems.append(f"the {name} split has {len(part)} row(s)")
        bad = ~np.isfinite(part.labels)
        if bad.any():
            i, t = (int(x) for x in np.argwhere(bad)[0])
            problems.append(f"the {name} split's row {part.ids[i]} has a non-finite target {t + 1}")
    if problems:
        listed = ", ".join(f"{n} {len(p)}" for n, p in splits.items())
        raise ValueError(
            f"task {task}: no meaningful score is possible: {'; '.join(problems)}. Rows per "
            f"split: {listed}; regression needs {MIN_REGRESSION_ROWS} or more finite rows in "
            "each. Add rows, or use another split protocol or split seed."
        )
    if "train" in splits:
        width = splits["train"].labels.shape[1]
        names = targets or tuple(f"target {t + 1}" for t in range(width))
        check_varies(f"task {task}: train", splits["train"].labels, names)


def check_multilabel_splits(
    task: str, splits: Mapping[str, LabeledSequences], targets: Sequence[str] | None = None
) -> None:
    """Refuse multi-label splits that cannot give a meaningful score, before any training.

    Every split needs :data:`MIN_REGRESSION_ROWS` rows or more and the same L labels; training
    needs at least one label with both positive and negative rows (nothing to learn otherwise),
    and validation and test at least one such label each (nothing to score otherwise). A label
    without both classes in one split is allowed: the metrics leave it out of the macro means and
    name it (:mod:`findna.eval.multilabel`).

    Raises:
        ValueError: naming the task, every problem found and the rows per split.
    """
    widths = {part.labels.shape[1] if part.labels.ndim == 2 else 0 for part in splits.values()}
    if not all(part.is_multilabel for part in splits.values()) or len(widths) != 1:
        shapes = {n: f"{p.labels.shape} {p.labels.dtype}" for n, p in splits.items()}
        raise ValueError(
            f"task {task}: the splits mix multi-label 0/1 labels with other labels, or differ in "
            f"the number of labels ({shapes}); every split needs the same (N, L) 0/1 labels"
        )
    problems = []
    for name, part in splits.items():
        if len(part) < MIN_REGRESSION_ROWS:
            problems.append(f"the {name} split has {len(part)} row(s)")
            continue
        positives = part.labels.sum(axis=0)
        if not ((positives > 0) & (positives < len(part))).any():
            problems.append(f"no label of the {name} split has both positive and negative rows")
    if problems:
        names = _label_names(next(iter(splits.values())), targets)
        listed = "; ".join(
            f"{n}: {len(p)} rows, positives "
            + ", ".join(f"{k} {int(v)}" for k, v in zip(names, p.labels.sum(axis=0), strict=True))
            for n, p in splits.items()
        )
        raise ValueError(
            f"task {task}: no meaningful score is possible: {'; '.join(problems)}. Per split: "
            f"{listed}. Add rows with and without each label, or use another split seed."
        )
