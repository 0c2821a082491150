"""A resumable result log: one JSON line per finished (task, model, seed), fsynced."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from findna.eval.report import SeedResult
from findna.outputs import write_text_atomic

log = logging.getLogger(__name__)


class ResultLog:
    """Append-only JSONL of finished seeds: ``{"key", "settings", "model_id", "result"}``.

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

    def append(self, key: tuple, settings: str, model_id: str, result: SeedResult) -> None:
        """Record one result durably (flushed and fsynced)."""
        data = dataclasses.asdict(result)
        for name in ("val_metrics", "test_metrics", "timings"):
            data[name] = {k: (v if math.isfinite(v) else None) for k, v in data[name].items()}
        entry = {"key": list(key), "settings": settings, "model_id": model_id, "result": data}
        with open(self.path, "a") as f:
            f.write(json.dumps(entry, allow_nan=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.entries[key] = entry

    def result(self, key: tuple) -> SeedResult:
        data = dict(self.entries[key]["result"])
        for name in ("val_metrics", "test_metrics", "timings"):
            data[name] = {k: (math.nan if v is None else v) for k, v in data[name].items()}
        return SeedResult(**data)


__all__ = ["ResultLog"]
