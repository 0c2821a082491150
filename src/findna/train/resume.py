"""Which checkpoint ``findna pretrain --resume`` continues from: the newest valid one.

A run's ``checkpoints/`` holds ``last.ckpt`` (the newest periodic checkpoint), ``step-<N>.ckpt``
(the best by step, so the newest too) and, once training is done, ``final.ckpt``. A kill or a full
disk can leave ``last.ckpt`` truncated, or missing with only the temporary of its write
(``last.ckpt.tmp-<pid>``) beside a valid ``step-<N>.ckpt``. The resume point is therefore the
checkpoint with the highest step stored in it (not the newest file time) among the ``*.ckpt``
files that load as findna checkpoints; on a tie ``last.ckpt`` wins. Temporaries and files that do
not load are skipped with a warning that names them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from findna.model.loading import read_checkpoint

log = logging.getLogger(__name__)
CHECKPOINTS_DIR = "checkpoints"
LAST = "last.ckpt"


@dataclass(frozen=True)
class ResumePoint:
    """The checkpoint a resumed run continues from, and the optimiser step stored in it."""

    path: Path
    step: int


def _order(path: Path) -> tuple[int, str]:
    return (0 if path.name == LAST else 1, path.name)


def has_checkpoint(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a checkpoint file (valid or not) that a resume could use."""
    folder = Path(run_dir) / CHECKPOINTS_DIR
    return folder.is_dir() and any(p.is_file() for p in folder.glob("*.ckpt"))


def find_resume_point(run_dir: str | Path, *, report: bool = True) -> ResumePoint:
    """The newest valid checkpoint of the run in ``run_dir``.

    Args:
        run_dir: the run folder.
        report: log what is skipped and what is chosen (rank 0 of a DDP run; the other ranks
            choose the same file quietly).

    Raises:
        FileNotFoundError: no checkpoint of the run loads (the message names each file skipped
            and why).
    """
    folder = Path(run_dir) / CHECKPOINTS_DIR
    files = sorted(folder.iterdir(), key=_order) if folder.is_dir() else []
    skipped: list[str] = []  # one sentence per file, naming it
    best: ResumePoint | None = None
    for path in files:
        if ".tmp" in path.name and not path.name.endswith(".ckpt"):
            skipped.append(f"{path} is the temporary of an interrupted write")
            continue
        if path.suffix != ".ckpt" or not path.is_file():
            continue
        try:
            step = read_checkpoint(path).get("global_step")
        except ValueError as err:
            skipped.append(str(err).split("; ")[0])  # without read_checkpoint's advice
            continue
        if not isinstance(step, int):
            skipped.append(f"{path} holds no global_step: not written by a pretraining run")
            continue
        if best is None or step > best.step:
            best = ResumePoint(path, step)
    if report:
        for reason in skipped:
            log.warning("resume: skipping a checkpoint file: %s", reason)
    if best is None:
        why = f" ({'; '.join(skipped)})" if skipped else " (the run saved no checkpoint yet)"
        raise FileNotFoundError(
            f"nothing to resume in {run_dir}: no valid checkpoint in {folder}{why}; start the run "
            "again without --resume (add --force to overwrite it)"
        )
    if report:
        log.info("resuming %s from %s (step %d)", run_dir, best.path, best.step)
    return best
