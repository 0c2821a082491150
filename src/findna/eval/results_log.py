"""A resumable result log: one JSON line per finished (task, model, seed), fsynced."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from findna.eval.report import SeedResult, none_to_nan
from findna.outputs import json_text, write_text_atomic

if TYPE_CHECKING:  # only a hint: the driver imports torch and the network
    from findna.eval.task_driver import CheckedTask

log = logging.getLogger(__name__)


class ResultLog:
    """Append-only JSONL of finished seeds: ``{"key", "settings", "model_id", "data_id",
    "result"}`` (``data_id``: the task's :meth:`~findna.data.tasks.TaskData.fingerprint`; a later
    line for the same key replaces an earlier one).

    A truncated last line (a killed process) is dropped and the file rewritten on open.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[tuple, dict[str, Any]] = {}
        if not path.is_file():
            return
        lines = path.read_text().splitlines()
        good = []
        for i, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
                self.entries[tuple(entry["key"])] = entry
                good.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                log.warning("%s line %d is incomplete or corrupt; that run is redone", path, i)
        if len(good) != len(lines) or not path.read_text().endswith("\n"):
            write_text_atomic(path, "".join(g + "\n" for g in good))  # a kill keeps the old

    def append(
        self, key: tuple, settings: str, model_id: str, result: SeedResult, data_id: str
    ) -> None:
        """Record one result durably (flushed and fsynced)."""
        entry = {
            "key": list(key),
            "settings": settings,
            "model_id": model_id,
            "data_id": data_id,
            "result": dataclasses.asdict(result),
        }
        with open(self.path, "a") as f:
            f.write(json_text(entry, indent=None))  # NaN metrics: null
            f.flush()
            os.fsync(f.fileno())
        self.entries[key] = entry

    def made_on_other_data(
        self,
        done: Sequence[tuple],
        split_seed: Callable[[int], int],
        load: Callable[[str, int], CheckedTask],
    ) -> set[tuple]:
        """The logged runs among ``done`` (keys ``(task, model, mode, seed)``) whose task now has
        other rows or splits than they were made on: a registered task's split protocol or
        files changed since, or a user's table was edited. Each is to be redone; a warning says
        so, and its old line stays in the log.

        A line's logged ``data_id`` is compared with the fingerprint of the task as ``load``
        gives it (split with ``split_seed(seed)``); a line written before data ids were logged
        is compared by its split sizes (rows and classes per split), the best it can tell (an
        edit that keeps them, a changed regression value, is not seen: an INFO line counts such
        lines), and one without split sizes either is redone.
        """
        by_task: dict[tuple[str, int], list[tuple]] = {}
        for key in done:
            by_task.setdefault((key[0], split_seed(key[3])), []).append(key)
        redo: set[tuple] = set()
        for (task_name, seed), keys in by_task.items():
            task = load(task_name, seed)
            data_id = task.data.fingerprint()
            sizes = json.loads(json.dumps(task.sizes))  # as the log spells them (string keys)
            other = [k for k in keys if self._data_of(k) not in (data_id, sizes)]
            by_sizes = sum("data_id" not in self.entries[k] for k in keys if k not in other)
            if by_sizes:
                log.info(
                    "%s: %d logged results of %s predate data fingerprints; kept because their "
                    "split sizes match the task's",
                    self.path,
                    by_sizes,
                    task_name,
                )
            if other:
                log.warning(
                    "%s: %d of the %d logged results of %s (split seed %d) were made on other "
                    "rows or splits than the task has now (its files or split protocol changed "
                    "since); they are redone, and their old lines stay in the log",
                    self.path,
                    len(other),
                    len(keys),
                    task_name,
                    seed,
                )
                redo.update(other)
        return redo

    def _data_of(self, key: tuple) -> str | dict[str, Any] | None:
        """What a logged result says of its data: its data id, else (older lines) its split
        sizes, else None."""
        entry = self.entries[key]
        return entry["data_id"] if "data_id" in entry else entry["result"].get("split_sizes")

    def result(self, key: tuple) -> SeedResult:
        data = dict(self.entries[key]["result"])
        for name in ("val_metrics", "test_metrics", "timings"):
            data[name] = none_to_nan(data[name])
        return SeedResult(**data)


__all__ = ["ResultLog"]
