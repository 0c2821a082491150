"""Near-duplicate groups, and splits that keep each group on one side (issue 23).

A library of mutational variants (the native Vaishnav promoters: 200 promoters, about 20 variants
each, 1-5 mismatches apart) split at random puts near-copies of every test sequence in training,
and the exact-duplicate check (:func:`findna.data.splits.shared_sequences`) does not see them
(docs/data.md). Here rows are linked when they share at least :data:`MIN_SHARED` of their
distinct k-mers (:data:`K`), after dropping the k-mers found in more than :data:`MAX_DF` of the
rows (a library's constant flanks and primers: they would link everything and mean nothing);
a group is a connected set of linked rows, and the ``grouped_70_10_20`` protocol
splits whole groups.

On the native_complex file the rule finds exactly the 200 groups that single linkage at up to
30 mismatches finds (no pair within 30 mismatches is left across groups), and so does
native_defined; the random_complex file's rows stay one group each. The groups are the same
with :data:`MAX_DF` anywhere from 0.05 to 1 (docs/data.md). :func:`near_duplicate_leaks`
counts, for ``findna data info``, the rows of each split with a near-duplicate in an earlier
one: every registered task's figures are in docs/data.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

log = logging.getLogger(__name__)

K = 12
"""k-mer length. A mismatch removes up to 12 k-mers, so two 100 bp rows stay linked up to about
4 spread mismatches (closer variants of a family link the rest); unrelated rows share almost
none (4^12 = 16.8 million 12-mers), and the k-mer matrix stays sparse for large tasks."""

MIN_SHARED = 0.5
"""Linked when the shared k-mers are at least this fraction of the smaller sequence's k-mers."""

MAX_DF = 0.5
"""k-mers in more than this fraction of the rows (and more than 2 rows) are ignored: a family of
variants is far smaller than half the rows, a constant flank is in all of them."""


FAMILY_SHARE = 0.2
"""A pool where more than this share of the rows lose at least half their k-mers to the
:data:`MAX_DF` filter is mostly one family of near-copies (no row does on the 5 registered
tasks measured, docs/data.md; among 200 variants of one promoter every row does): no grouped
split can keep it apart."""


def similarity_groups(
    seqs: Sequence[str], k: int = K, min_shared: float = MIN_SHARED, max_df: float = MAX_DF
) -> np.ndarray:
    """Group id (0..G-1) of every row: identical rows (case ignored), and rows sharing most of
    their k-mers, transitively. Logs a warning when the rows are mostly one family
    (:data:`FAMILY_SHARE`), whose members the groups cannot all join.

    Args:
        seqs: the sequences (case is ignored; a base other than A/C/G/T is in no k-mer).
        k: k-mer length, 1-20.
        min_shared: the fraction of the smaller row's distinct (kept) k-mers two rows must share.
        max_df: k-mers in more than ``max(2, ceil(max_df * N))`` rows are ignored.

    Returns:
        (N,) int64 group ids; a row shorter than ``k``, or whose k-mers were all ignored, is a
        group of its own unless it has an identical copy.
    """
    groups, family = _groups_and_family(seqs, k, min_shared, max_df)
    if family > FAMILY_SHARE:
        log.warning(_family_message(len(seqs), family, k))
    return groups


def _family_message(n: int, family: float, k: int) -> str:
    return (
        f"{family:.0%} of the {n} rows share most of their {k}-mers with more than half of all "
        "rows: they are mostly one family of near-copies (variants of one sequence), which "
        "near-duplicate groups cannot keep apart"
    )


def _groups_and_family(
    seqs: Sequence[str], k: int, min_shared: float, max_df: float
) -> tuple[np.ndarray, float]:
    """:func:`similarity_groups`' groups, and the share of rows that lost at least half their
    distinct k-mers to the ``max_df`` filter (0 for no rows)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components  # lazy: keeps `findna --help` fast

    n = len(seqs)
    if n == 0:
        return np.zeros(0, dtype=np.int64), 0.0
    pairs = _row_kmers(seqs, k)
    before = np.bincount(pairs // 4**k, minlength=n)  # distinct k-mers per row
    kmers = _kmer_columns(pairs, k, n, max(2, math.ceil(max_df * n)))
    sizes = np.zeros(n, dtype=np.int64) if kmers is None else np.asarray(kmers.sum(axis=1)).ravel()
    family = float(((before > 0) & (sizes * 2 <= before)).mean())
    # Edges: each row to the first identical copy, and the pairs sharing enough kept k-mers.
    row_of = _identical_rows(seqs)
    row = np.flatnonzero(row_of != np.arange(n))
    col = row_of[row]
    if kmers is not None:
        shared = (kmers @ kmers.T).tocoo()
        smaller = np.minimum(sizes[shared.row], sizes[shared.col])
        linked = (shared.row != shared.col) & (smaller > 0) & (shared.data >= min_shared * smaller)
        row = np.concatenate([row, shared.row[linked]])
        col = np.concatenate([col, shared.col[linked]])
    graph = csr_matrix((np.ones(len(row), dtype=np.int8), (row, col)), shape=(n, n))
    _, groups = connected_components(graph, directed=False)
    return groups.astype(np.int64), family


def _identical_rows(seqs: Sequence[str]) -> np.ndarray:
    """(N,) the index of the first row identical to each row (case ignored); itself if none."""
    first: dict[str, int] = {}
    return np.array([first.setdefault(s.upper(), i) for i, s in enumerate(seqs)], dtype=np.int64)


_CODES = np.full(256, 4, dtype=np.int64)
for _i, _base in enumerate(b"ACGT"):
    _CODES[_base] = _CODES[_base + 32] = _i  # upper and lower case; anything else breaks a k-mer


def kmer_matrix(seqs: Sequence[str], k: int, max_rows: int) -> csr_matrix | None:
    """The (N, V) 0/1 sparse matrix of which rows hold which distinct k-mer, leaving out k-mers
    with a base other than A/C/G/T and those in more than ``max_rows`` rows; None when no k-mer
    is left. Vectorised over all rows at once (a 2-bit code per base, one pass per k-mer
    position). scikit-learn's ``CountVectorizer(analyzer="char")`` builds the same matrix in a
    Python loop: on gue/EMP/H3 (2,994 rows of 500 bp) the groups took 10.3 s with it and 0.8 s
    with this, on gb/human_enhancers_cohn (6,948 rows) 27 s and 2.4 s, with identical groups
    (2-core AMD EPYC beside two 1-thread jobs)."""
    return _kmer_columns(_row_kmers(seqs, k), k, len(seqs), max_rows)


def _row_kmers(seqs: Sequence[str], k: int) -> np.ndarray:
    """Sorted distinct ``row * 4**k + code`` of every (row, k-mer of A/C/G/T only) pair."""
    if not 1 <= k <= 20:  # row * 4**k must fit in int64 for millions of rows
        raise ValueError(f"k-mer length k={k}: use 1-20")
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    positions = int(lengths.sum()) - k + 1
    if positions <= 0:
        return np.zeros(0, dtype=np.int64)
    codes = _CODES[np.frombuffer("".join(seqs).encode("ascii", "replace"), dtype=np.uint8)]
    row = np.repeat(np.arange(len(seqs)), lengths)[:positions]
    ends = np.cumsum(lengths)[row]  # one past the last base of each position's row
    unknown = np.concatenate(([0], np.cumsum(codes == 4)))
    valid = (np.arange(positions) + k <= ends) & (unknown[k:] == unknown[:-k])
    ids = np.zeros(positions, dtype=np.int64)
    for j in range(k):
        ids = ids * 4 + (codes[j : j + positions] & 3)
    pairs = np.sort(row[valid] * 4**k + ids[valid])
    return pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] if len(pairs) else pairs


def _kmer_columns(pairs: np.ndarray, k: int, n: int, max_rows: int) -> csr_matrix | None:
    """The (n, V) 0/1 matrix of :func:`_row_kmers`' pairs, k-mers in over ``max_rows`` rows
    left out; None when none is left."""
    from scipy.sparse import csr_matrix

    if not len(pairs):
        return None
    columns, inverse, counts = np.unique(pairs % 4**k, return_inverse=True, return_counts=True)
    kept = counts[inverse] <= max_rows
    if not kept.any():
        return None
    return csr_matrix(
        (np.ones(int(kept.sum()), dtype=np.int32), (pairs[kept] // 4**k, inverse[kept])),
        shape=(n, len(columns)),
    )


def grouped_split_indices(
    groups: np.ndarray, fractions: tuple[float, ...], seed: int
) -> list[np.ndarray]:
    """Seeded split of ``range(len(groups))`` into parts of about the given fractions of the
    groups, every group whole in one part.

    Parts are peeled off from the end, as :func:`findna.data.splits.split_indices` does, with
    scikit-learn's ``GroupShuffleSplit`` (``random_state=seed``); the fractions count groups,
    so the parts' row counts follow only as closely as the group sizes allow.

    Raises:
        ValueError: fewer groups than parts, naming the group count and the largest group.
    """
    from sklearn.model_selection import GroupShuffleSplit

    groups = np.asarray(groups)
    distinct = np.unique(groups)
    if len(distinct) < len(fractions):
        largest = int(np.bincount(np.unique(groups, return_inverse=True)[1]).max())
        raise ValueError(
            f"cannot split {len(groups)} rows in {len(distinct)} near-duplicate group(s) (the "
            f"largest holds {largest} rows) into {len(fractions)} parts; the rows are too alike "
            f"for a grouped split. {_INSTEAD}"
        )
    rest = np.arange(len(groups))
    parts: list[np.ndarray] = []
    remaining = 1.0
    for frac in fractions[:0:-1]:
        splitter = GroupShuffleSplit(
            n_splits=1, test_size=round(frac / remaining, 12), random_state=seed
        )
        keep, held = next(splitter.split(rest, groups=groups[rest]))
        parts.append(rest[held])
        rest = rest[keep]
        remaining -= frac
    parts.append(rest)
    return [np.sort(p).astype(np.int64) for p in parts[::-1]]


_INSTEAD = (
    "Set `protocol: resplit_70_10_20` in the task's YAML (a random split: read its scores as an "
    "upper bound), or give the splits yourself (a split column or train/val/test files)"
)


def grouped_split(
    seqs: Sequence[str], fractions: tuple[float, ...], seed: int, name: str = "rows"
) -> list[np.ndarray]:
    """:func:`similarity_groups` then :func:`grouped_split_indices`, logging the groups found.

    Raises:
        ValueError: no rows; rows mostly of one family (:data:`FAMILY_SHARE`); fewer groups
            than parts.
    """
    if not len(seqs):
        raise ValueError("no rows to split")
    groups, family = _groups_and_family(seqs, K, MIN_SHARED, MAX_DF)
    if family > FAMILY_SHARE:
        raise ValueError(
            f"{_family_message(len(seqs), family, K)}, so a grouped split would put near-copies "
            f"on both sides. {_INSTEAD}"
        )
    sizes = np.bincount(groups)
    log.info(
        "%s: %d rows in %d near-duplicate groups (largest %d rows), split whole",
        name,
        len(groups),
        len(sizes),
        int(sizes.max(initial=0)),
    )
    return grouped_split_indices(groups, fractions, seed)


NEAR_RULE = "sharing half their 12-mers; grouped_70_10_20 keeps them apart"
"""The rule in words, for task summaries."""

MAX_CHECKED_BASES = 10_000_000
""":func:`near_duplicate_leaks` checks tasks up to this many bases (20,000 rows of 500 bp; well
under 1 GB of k-mer arrays); bigger tasks are reported as not checked."""


def near_duplicate_leaks(splits: Mapping[str, Sequence[str]]) -> dict[str, tuple[int, int]] | None:
    """Rows of each later split with a near-duplicate (same :func:`similarity_groups` group) in
    an earlier one: ``{"val in train": (rows, of), "test in train": ..., "test in val": ...}``
    for splits given in train, val, test order; None for a task over :data:`MAX_CHECKED_BASES`.
    """
    names = list(splits)
    seqs = [s for name in names for s in splits[name]]
    if sum(len(s) for s in seqs) > MAX_CHECKED_BASES:
        return None
    groups = similarity_groups(seqs)
    bounds = np.cumsum([0] + [len(splits[name]) for name in names])
    parts = {name: groups[bounds[i] : bounds[i + 1]] for i, name in enumerate(names)}
    leaks = {}
    for i, earlier in enumerate(names):
        for later in names[i + 1 :]:
            hit = np.isin(parts[later], parts[earlier])
            leaks[f"{later} in {earlier}"] = (int(hit.sum()), len(hit))
    return leaks
