"""Warnings about a loaded task's sequence lengths (``findna.data.tasks.load_task``): what the
networks built for the task will be sized by."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from findna.data.labeled import LabeledSequences

log = logging.getLogger(__name__)


def warn_about_lengths(
    name: str, splits: Mapping[str, LabeledSequences], max_len: int | None = None
) -> None:
    """Warn about a ``max_len`` under the longest sequence (give it only where sequences are
    not cut to it: tables), and about one sequence far longer than every other.

    Args:
        name: the task's name, for the messages.
        splits: its loaded splits.
        max_len: the task's ``max_len`` when its sequences are kept whole, else None.
    """
    longest = max(int(part.lengths().max()) for part in splits.values())
    if max_len and longest > max_len:
        log.warning(
            "task %s: max_len %d is shorter than its longest sequence (%d bp). Table sequences "
            "are not cut, so models are built for %d bp; raise max_len to at least %d, or drop "
            "it (the default is the longest sequence).",
            name,
            max_len,
            longest,
            longest,
            longest,
        )
    _warn_outlier_length(name, splits)


def _warn_outlier_length(name: str, splits: Mapping[str, LabeledSequences]) -> None:
    """Warn about one sequence over 4x longer than every other: networks are built for the
    longest, so a stray row (a whole locus among short windows) makes every model bigger."""
    lengths = np.concatenate([part.lengths() for part in splits.values()])
    if len(lengths) < 2:
        return
    second, first = np.sort(lengths)[-2:]
    if first <= 4 * second:
        return
    for role, part in splits.items():
        i = int(np.argmax(part.lengths()))
        if len(part.seqs[i]) == first:
            log.warning(
                "task %s: one sequence, %s (%s split, %d bp), is over 4x longer than every other "
                "(at most %d bp); networks are built for its length. If it is a mistake, cut or "
                "drop that row.",
                name,
                part.ids[i] if part.ids else f"row {i}",
                role,
                first,
                second,
            )
            return


__all__ = ["warn_about_lengths"]
