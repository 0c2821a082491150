"""The life cycle of an output folder (docs/reliability.md, "An output folder's life").

Every command that writes a folder (``prepare genome``, ``export``, ``pretrain``, ``probe``,
``finetune``, ``benchmark``) follows one rule:

- **A manifest says what findna wrote.** ``OUT/.findna-manifest.json`` names the command and
  the files and folders it wrote, and whether the run is ``complete``. It is written first (as
  incomplete) and last (as complete), atomically each time.
- **``--force`` removes only what the manifest lists.** A file or folder findna did not write
  (the user's ``NOTES.txt``, a ``probe/`` report kept in a run folder) is kept, and the message
  says so. A folder written before manifests existed is recognised by its kind (``is_legacy``)
  and only the names that kind writes are removed.
- **Complete only when the manifest says so.** A killed or failed run leaves the manifest
  marked incomplete; the next run of the same command replaces it without ``--force`` and logs a
  warning naming what it removed (``pretrain`` and ``benchmark`` resume instead).
- **One writer at a time.** ``OUT/.findna-lock`` holds the writer's pid and host; a second run
  fails at once, naming the folder and the pid (:mod:`findna.folders.lock`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from findna.folders.lock import (
    FILE_LOCK_SUFFIX,
    LOCK,
    check_not_busy,
    file_lock_path,
    give_back,
    is_stale,
    take_lock,
)
from findna.outputs import (
    _check_parents,
    _check_writable,
    _pid_running,
    _same_path,
    remove_stale_temps,
    temp_path,
    write_text_atomic,
)

log = logging.getLogger(__name__)

MANIFEST = ".findna-manifest.json"
_BOOKKEEPING = {MANIFEST, LOCK}


@dataclass(frozen=True)
class FolderKind:
    """What one command writes into its output folder.

    Attributes:
        kind: the output's name in messages (``"probe report"``).
        command: the command, recorded in the manifest (``"probe"``).
        names: the names the command writes: plain names, ``*`` for any text, ``<k>`` for a
            number (``seed<k>``).
        is_legacy: whether a folder without a manifest holds this kind (written before
            manifests existed).
        exists_hint: what to do when a complete output of this kind exists.
    """

    kind: str
    command: str
    names: tuple[str, ...]
    is_legacy: Callable[[Path], bool]
    exists_hint: str = "pass --force to replace it"

    def writes(self, name: str) -> bool:
        """Whether ``name`` (an entry of the folder) is one this command writes."""
        return any(_pattern(p).fullmatch(name) for p in self.names)


def _pattern(name: str) -> re.Pattern[str]:
    parts = re.split(r"(\*|<k>)", name)
    return re.compile("".join({"*": ".*", "<k>": r"\d+"}.get(p, re.escape(p)) for p in parts))


def entries(path: Path) -> list[str]:
    """The names in folder ``path`` other than findna's manifest and lock (none if missing)."""
    if not path.is_dir():
        return []
    return sorted(p.name for p in path.iterdir() if p.name not in _BOOKKEEPING)


def read_manifest(path: str | Path) -> dict | None:
    """The manifest of folder ``path``, or None (no manifest, or one that cannot be read)."""
    try:
        data = json.loads((Path(path) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), list) else None


def folder_state(path: str | Path, kind: FolderKind) -> str:
    """``new`` (missing or empty), ``complete``, ``incomplete``, ``legacy`` (this kind, written
    before manifests) or ``other`` (anything else: refused, with or without ``--force``)."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest is not None:
        if manifest.get("command") != kind.command:
            return "other"
        return "complete" if manifest.get("complete") is True else "incomplete"
    if not entries(path):
        return "new"
    return "legacy" if kind.is_legacy(path) else "other"


def is_complete(path: str | Path) -> bool:
    """Whether a folder's manifest says its run finished (True for folders without one)."""
    manifest = read_manifest(path)
    return manifest is None or manifest.get("complete") is True


def _other_message(path: Path, kind: FolderKind) -> str:
    manifest = read_manifest(path)
    what = (
        f"holds the output of `findna {manifest.get('command')}`"
        if manifest
        else ("is not empty and does not hold a " + kind.kind)
    )
    return (
        f"{path} {what}; findna will not write into it or delete it, even with --force. Choose "
        f"another (new or empty) folder for the {kind.kind}."
    )


def check_folder(
    path: str | Path,
    kind: FolderKind,
    *,
    force: bool = False,
    resume: bool = False,
    inputs: Sequence[str | Path] = (),
) -> Path:
    """Check, before any work, that ``path`` can receive a ``kind`` output; write nothing.

    A new or empty folder is fine, and so is an incomplete one of the same command (a killed or
    failed run, replaced when writing starts). A complete one (or one written before manifests)
    needs ``force`` (or ``resume``). A check with ``force`` lets this process's later
    :func:`start_folder` replace it (``findna probe`` checks first, then writes).

    Raises:
        ValueError: a file stands there or above it, the folder is not writable, it holds an
            input, or it holds something other than this kind.
        FileExistsError: a complete output of this kind exists and neither ``force`` nor
            ``resume`` is given.
        OutputBusyError: another findna process is writing there.
    """
    path = Path(path)
    for given in map(Path, inputs):
        if _same_path(path, given) or any(_same_path(path, p) for p in given.parents):
            raise ValueError(
                f"--out {path} holds an input of this command ({given}); writing there would "
                "destroy it. Choose another output folder."
            )
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path} is a file; give a folder path for the {kind.kind}")
    _check_writable(path if path.is_dir() else _check_parents(path), path)
    check_not_busy(path / LOCK, path)
    check_not_busy(file_lock_path(path), path)
    check_folder_locked(path, kind, force=force, resume=resume)
    return path


@dataclass
class OutputFolder:
    """A folder being written by this process: its kind, lock and manifest."""

    path: Path
    kind: FolderKind
    created: bool
    lock: Path | None = None  # default: PATH/.findna-lock

    def _manifest(self, complete: bool, files: list[str], where: Path | None = None) -> None:
        data = {
            "findna": "output folder",
            "command": self.kind.command,
            "complete": complete,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": files,
        }
        text = json.dumps(data, indent=1) + "\n"
        if where is not None:  # a private staging folder: no reader sees it half written
            (where / MANIFEST).write_text(text)
        else:
            write_text_atomic(self.path / MANIFEST, text)

    def finish(self) -> None:
        """Mark the output complete (the manifest lists what is there now) and unlock it."""
        self._manifest(True, [n for n in entries(self.path) if self.kind.writes(n)])
        self.release()

    def release(self) -> None:
        """Unlock without marking the output complete (it stays incomplete); a folder this run
        made and left empty is removed."""
        give_back(self.lock or self.path / LOCK)
        if self.created and self.path.is_dir() and not entries(self.path):
            (self.path / MANIFEST).unlink(missing_ok=True)
            with suppress(OSError):
                self.path.rmdir()


def start_folder(
    path: str | Path,
    kind: FolderKind,
    *,
    force: bool = False,
    resume: bool = False,
) -> OutputFolder:
    """Lock ``path`` and start writing a ``kind`` output there (call ``finish`` or ``release``).

    Checks the folder again under the lock; removes the old output's files (what its manifest
    lists, or the names ``kind`` writes in a folder without one), keeping everything else, unless
    ``resume``; writes the manifest as incomplete.

    Args:
        force: replace a complete output (``--force``; the command's check before any work,
            :func:`check_folder`, was given the same).
        resume: keep the old output's files (``pretrain --resume``, ``benchmark``).
    """
    path = Path(path)
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    take_lock(path / LOCK, path)
    folder = OutputFolder(path, kind, created)
    try:
        state = check_folder_locked(path, kind, force=force, resume=resume)
        if not resume:
            _clear(path, kind, state)
        folder._manifest(False, list(kind.names))
    except BaseException:
        folder.release()
        raise
    return folder


def check_folder_locked(path: Path, kind: FolderKind, *, force: bool, resume: bool) -> str:
    """The folder's state (as :func:`check_folder` allows it; checked again under the lock)."""
    state = folder_state(path, kind)
    if state == "other":
        raise ValueError(_other_message(path, kind))
    if state in ("complete", "legacy") and not (force or resume):
        raise FileExistsError(f"{path} holds a {kind.kind} already; {kind.exists_hint}")
    return state


def _clear(path: Path, kind: FolderKind, state: str) -> None:
    """Remove the old output's files from ``path``; keep (and name) everything else."""
    if state == "new":
        return
    manifest = read_manifest(path) or {}
    listed = [str(n) for n in manifest.get("files", [])]
    if state != "complete":  # an unfinished run lists the names it may write
        listed += kind.names
    ours = FolderKind(kind.kind, kind.command, tuple(listed), kind.is_legacy)

    def leftover(name: str) -> bool:  # a temporary or lock of ours whose process is gone
        base, tmp, pid = name.partition(".tmp-")
        if tmp and (ours.writes(base) or kind.writes(base)):
            pid = pid.split(".", 1)[0]
            return pid.isdigit() and not _pid_running(int(pid))
        base = name.removesuffix(FILE_LOCK_SUFFIX)
        mine = ours.writes(base) or kind.writes(base)
        return base != name and mine and is_stale(path / name)

    names = entries(path)
    removed = [n for n in names if ours.writes(n) or leftover(n)]
    kept = [n for n in names if n not in removed]
    for name in removed:
        target = path / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    kept_note = f"; kept {', '.join(kept)} (not written by findna {kind.command})" if kept else ""
    if state == "incomplete":
        log.warning(
            "%s held an unfinished %s (killed or failed, pid %s); replacing it: removed %s%s",
            path,
            kind.kind,
            manifest.get("pid", "?"),
            ", ".join(removed) or "nothing",
            kept_note,
        )
    else:
        done = ", ".join(removed) or "nothing"
        log.info("replacing the %s in %s: removed %s%s", kind.kind, path, done, kept_note)


@contextmanager
def output_folder(
    path: str | Path, kind: FolderKind, *, force: bool | None = None, resume: bool = False
) -> Iterator[Path]:
    """Write a ``kind`` output in place: :func:`start_folder`, yield ``path``, ``finish`` when
    the block ends without error, ``release`` (left incomplete) when it fails."""
    folder = start_folder(path, kind, force=force, resume=resume)
    try:
        yield folder.path
    except BaseException:
        folder.release()
        raise
    folder.finish()


@contextmanager
def staged_folder(path: str | Path, kind: FolderKind, *, force: bool = False) -> Iterator[Path]:
    """Write a ``kind`` output into ``PATH.tmp-<pid>`` first, then move it in.

    The lock is ``PATH.findna-lock`` beside the folder (the folder itself is only touched at the
    end). A failure while writing leaves the old output untouched (the staging folder is
    removed). A new folder is the staging folder renamed, manifest included, in one step; into
    an existing one the old output's files are removed, the new ones moved in and the manifest
    marked complete last: a kill in between leaves an incomplete output.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    lock = file_lock_path(path)
    take_lock(lock, path)
    folder = OutputFolder(path, kind, not path.exists(), lock)
    staging = temp_path(path)
    try:
        state = check_folder_locked(path, kind, force=force, resume=False)
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        yield staging
        if state == "new":
            folder._manifest(True, [p.name for p in staging.iterdir()], where=staging)
            if path.is_dir():  # an empty folder (rename replaces it only when empty)
                (path / MANIFEST).unlink(missing_ok=True)
            os.replace(staging, path)
            give_back(lock)
            return
        folder._manifest(False, list(kind.names))
        _clear(path, kind, state)
        for item in sorted(staging.iterdir()):
            os.replace(item, path / item.name)
        staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        folder.release()
        raise
    folder.finish()


__all__ = [
    "MANIFEST",
    "FolderKind",
    "OutputFolder",
    "check_folder",
    "entries",
    "folder_state",
    "is_complete",
    "output_folder",
    "read_manifest",
    "staged_folder",
    "start_folder",
]
