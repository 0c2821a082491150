"""Per-base tasks as :func:`findna.data.tasks.load_task` reads them, and the registered ones.

:func:`per_base_splits` turns a ``per_base`` :class:`TaskSpec` into train/val/test: a table of
label strings (:func:`findna.data.per_base.read_per_base_table`, split by its protocol, by row)
or a soft-masked genome (:func:`findna.data.soft_mask.repeat_splits`, split by region).
:func:`repeat_tasks` are the registered repeat-annotation tasks (docs/data.md).
"""

from __future__ import annotations

from pathlib import Path

from findna.data.alphabet import OnInvalid
from findna.data.per_base import PerBaseSequences, read_per_base_table
from findna.data.soft_mask import REPEAT_CLASSES, repeat_splits
from findna.data.splits import SPLIT_VALUES, apply_protocol
from findna.data.task_spec import TaskSpec

REPEAT_WINDOW = 500
"""Bases per window of the registered repeat tasks."""


def repeat_tasks() -> list[TaskSpec]:
    """The registered per-base repeat tasks: 500-bp windows of soft-masked genomes, labelled
    ``repeat`` (lower case) or ``other``, split by region (:mod:`findna.data.soft_mask`)."""
    genomes = {
        "repeats_hg19_chr22": ("genomes/hg19_chr22_blocks.fa.gz", "human chr22 blocks (hg19)"),
        "repeats_tair10_chr1": ("genomes/TAIR10_chr1.fna.gz", "Arabidopsis chr1 (TAIR10)"),
    }
    return [
        TaskSpec(
            name=name,
            suite="repeats",
            files={"all": path},
            format="soft_mask",
            num_classes=2,
            metric="mcc",
            protocol="resplit_70_10_20",
            max_len=REPEAT_WINDOW,
            description=f"per-base: is the base soft-masked (annotated repeat)? {what}, "
            f"{REPEAT_WINDOW}-bp windows split 70/10/20 by 100-kb region (or record)",
            classes=REPEAT_CLASSES,
            genome=path,
            task_type="per_base",
        )
        for name, (path, what) in genomes.items()
    ]


def per_base_splits(
    spec: TaskSpec, root: Path | None, seed: int, on_invalid: OnInvalid = "error"
) -> dict[str, PerBaseSequences]:
    """``{"train", "val", "test"}`` of a ``per_base`` task (paths relative to ``root``)."""

    def resolve(p: str) -> Path:
        return Path(p) if root is None else root / p

    if spec.format == "soft_mask":
        assert spec.genome is not None and spec.max_len  # TaskSpec checks it
        return repeat_splits(resolve(spec.genome), spec.max_len, seed)
    assert spec.classes is not None  # TaskSpec checks it
    sources = {
        role: read_per_base_table(
            resolve(rel),
            classes=spec.classes,
            sequence_column=spec.sequence_column,
            label_column=spec.label_column,
            id_column=spec.id_column,
            split_column=spec.split_column,
            split_values=SPLIT_VALUES[role] if spec.split_column else None,
            on_invalid=on_invalid,
        )
        for role, rel in spec.files.items()
    }
    return apply_protocol(spec.protocol, sources, seed)


__all__ = ["REPEAT_WINDOW", "per_base_splits", "repeat_tasks"]
