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
with :data:`MAX_DF` anywhere from 0.05 to 1 (docs/data.md).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

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


def similarity_groups(
    seqs: Sequence[str], k: int = K, min_shared: float = MIN_SHARED, max_df: float = MAX_DF
) -> np.ndarray:
    """Group id (0..G-1) of every row: rows sharing most of their k-mers, transitively.

    Args:
        seqs: the sequences (upper case; case is ignored).
        k: k-mer length.
        min_shared: the fraction of the smaller row's distinct (kept) k-mers two rows must share.
        max_df: k-mers in more than ``max(2, ceil(max_df * N))`` rows are ignored.

    Returns:
        (N,) int64 group ids; a row shorter than ``k``, or whose k-mers were all ignored, is a
        group of its own.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import CountVectorizer  # lazy: `findna --help` fast

    n = len(seqs)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    vectorizer = CountVectorizer(
        analyzer="char",
        ngram_range=(k, k),
        lowercase=True,
        binary=True,
        max_df=max(2, math.ceil(max_df * n)),
        dtype=np.int32,
    )
    try:
        kmers = vectorizer.fit_transform(seqs).tocsr()
    except ValueError:  # no k-mer left (every row shorter than k, or every k-mer too common)
        return np.arange(n, dtype=np.int64)
    sizes = np.asarray(kmers.sum(axis=1)).ravel()
    shared = (kmers @ kmers.T).tocoo()
    smaller = np.minimum(sizes[shared.row], sizes[shared.col])
    linked = (shared.row != shared.col) & (smaller > 0) & (shared.data >= min_shared * smaller)
    graph = csr_matrix(
        (np.ones(int(linked.sum()), dtype=np.int8), (shared.row[linked], shared.col[linked])),
        shape=(n, n),
    )
    _, groups = connected_components(graph, directed=False)
    return groups.astype(np.int64)


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
            "for a grouped split: use the resplit_70_10_20 protocol and read the scores as an "
            "upper bound"
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


def grouped_split(
    seqs: Sequence[str], fractions: tuple[float, ...], seed: int, name: str = "rows"
) -> list[np.ndarray]:
    """:func:`similarity_groups` then :func:`grouped_split_indices`, logging the groups found."""
    groups = similarity_groups(seqs)
    sizes = np.bincount(groups)
    log.info(
        "%s: %d rows in %d near-duplicate groups (largest %d rows), split whole",
        name,
        len(groups),
        len(sizes),
        int(sizes.max(initial=0)),
    )
    return grouped_split_indices(groups, fractions, seed)
