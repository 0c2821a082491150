"""Provenance of benchmark results: config hash, checkpoint id, data checksums, version, commit.

Everything a reader needs to tell whether two result files are comparable: the sha256 of the
canonical JSON of the resolved config, the sha256 of the weights (or ``"scratch"``), the md5 of
every data file, the findna version and git commit, the date (UTC) and the machine.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from findna.config import config_to_dict
from findna.version import __version__


def _sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def config_hash(config: Any) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of a resolved config.

    Args:
        config: a config dataclass or a plain nested dict.
    """
    data = config_to_dict(config) if dataclasses.is_dataclass(config) else config
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ValueError(f"config is not JSON-serialisable, cannot hash it: {err}") from None
    return hashlib.sha256(text.encode()).hexdigest()


def checkpoint_id(path: str | Path | None) -> str:
    """sha256 of the weights file, or ``"scratch"`` for a randomly initialised model."""
    if path is None:
        return "scratch"
    if not Path(path).is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    return _sha256_file(path)


def _short(weights_id: str) -> str:
    """A weights id as reports print it: 12 hex characters (their suffixes kept), or as is."""
    if weights_id.startswith("scratch"):
        return weights_id
    head, _, suffix = weights_id.partition("-")
    return head[:12] + (f"-{suffix}" if suffix else "")


def file_md5(path: str | Path) -> str:
    """md5 hex digest of a file (the checksum data sets usually publish)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def data_checksums(
    files_by_task: Mapping[str, Iterable[str | Path]], root: str | Path | None = None
) -> dict[str, dict[str, str]]:
    """md5 of every data file of every task: ``{task: {file: md5}}``.

    Files are named relative to ``root`` when they lie under it (so reports do not depend on
    where the data is mounted), else by their full path.
    """
    out: dict[str, dict[str, str]] = {}
    for task, files in files_by_task.items():
        out[task] = {}
        for f in files:
            p = Path(f)
            if not p.is_file():
                raise FileNotFoundError(f"task {task}: data file {p} does not exist")
            name = str(p)
            if root is not None and p.resolve().is_relative_to(Path(root).resolve()):
                name = str(p.resolve().relative_to(Path(root).resolve()))
            out[task][name] = file_md5(p)
    return out


def git_commit() -> str | None:
    """HEAD of the git checkout findna runs from (``-dirty`` if tracked files changed).

    None when git is missing or findna is not imported from a git checkout that tracks it
    (a venv inside some other repository must not report that repository's commit).
    """
    package_init = Path(__file__).resolve().with_name("__init__.py")
    cwd = package_init.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()

    try:
        git("ls-files", "--error-unmatch", str(package_init))
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def machine_info() -> dict[str, str]:
    """Host name, OS, Python and torch versions, CPU count and accelerator name."""
    import torch

    accel = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_count": str(os.cpu_count()),
        "accelerator": accel,
    }


@dataclass
class Provenance:
    """Where a set of results came from. Build it with :meth:`collect`."""

    config_hash: str
    checkpoint_id: str
    data_checksums: dict[str, dict[str, str]]
    findna_version: str
    git_commit: str | None
    date: str
    machine: dict[str, str]
    config: dict[str, Any] | None = None
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Task -> what the results state about its data: source, how the splits were made, the
    label mapping (``findna.data.catalog.task_card``)."""
    checkpoints: dict[str, str] = field(default_factory=dict)
    """Model name -> weights id, when the results come from a benchmark of models;
    ``checkpoint_id`` is then ``"see checkpoints"`` (empty in probe and fine-tune reports)."""

    @classmethod
    def collect(
        cls,
        config: Any,
        checkpoint_path: str | Path | None = None,
        data_files: Mapping[str, Iterable[str | Path]] | None = None,
        data_root: str | Path | None = None,
        tasks: Mapping[str, Mapping[str, Any]] | None = None,
        checkpoints: Mapping[str, str] | None = None,
    ) -> Provenance:
        """Hash the config, checkpoint and data files and record version, commit, date, host
        (and the ``tasks`` cards given). ``checkpoints`` (model name -> weights id) replaces
        ``checkpoint_path`` for a benchmark's results."""
        plain = config_to_dict(config) if dataclasses.is_dataclass(config) else dict(config)
        return cls(
            config_hash=config_hash(plain),
            checkpoint_id="see checkpoints" if checkpoints else checkpoint_id(checkpoint_path),
            data_checksums=data_checksums(data_files or {}, data_root),
            findna_version=__version__,
            git_commit=git_commit(),
            date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            machine=machine_info(),
            config=plain,
            tasks={k: dict(v) for k, v in (tasks or {}).items()},
            checkpoints=dict(checkpoints or {}),
        )

    def checkpoint_text(self) -> str:
        """The weights the results come from, for a report's footer: one id (12 characters),
        ``scratch``, or each model's."""
        if self.checkpoints:
            ids = ", ".join(f"{name} {_short(i)}" for name, i in self.checkpoints.items())
            return f"checkpoints {ids}"
        return f"checkpoint {_short(self.checkpoint_id)}"

    def task_lines(self) -> list[str]:
        """One Markdown line per task card: its source, splits and label mapping."""
        lines = []
        for task, card in self.tasks.items():
            labels = card.get("labels")
            mapped = (
                "; labels " + ", ".join(f"{k} = {v}" for k, v in labels.items()) if labels else ""
            )
            lines.append(f"- task {task}: source {card['source']}; splits {card['splits']}{mapped}")
        return lines
