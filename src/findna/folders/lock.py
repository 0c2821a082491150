"""One writer per output: a lock file holding the writer's pid and host.

A folder's lock is ``OUT/.findna-lock``; a single file's is ``FILE.findna-lock`` beside it. The
lock is made with an exclusive create (``O_CREAT | O_EXCL``), so of two runs started together
exactly one gets it; the other fails at once with :class:`OutputBusyError`, naming the output
and the pid. A lock whose process no longer runs (a killed run) is stale and is taken over; a
lock of another host is never taken over (its process cannot be checked from here).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from findna.outputs import _pid_running

log = logging.getLogger(__name__)

LOCK = ".findna-lock"
FILE_LOCK_SUFFIX = ".findna-lock"


class OutputBusyError(FileExistsError):
    """Another findna process is writing the same output."""


def _holder(lock: Path) -> tuple[int, str] | None:
    """``(pid, host)`` written in ``lock``, or None (missing, empty or unreadable)."""
    try:
        pid, host = lock.read_text().split()
        return int(pid), host
    except (OSError, ValueError):
        return None


def _ours(holder: tuple[int, str] | None) -> bool:
    return holder == (os.getpid(), socket.gethostname())


def _busy(lock: Path, what: Path) -> OutputBusyError | None:
    """The error to raise when a live process other than this one holds ``lock``."""
    holder = _holder(lock)
    if holder is None or _ours(holder):
        return None
    pid, host = holder
    here = socket.gethostname()
    if host == here and not _pid_running(pid):
        return None
    where = "" if host == here else f" on {host}"
    return OutputBusyError(
        f"another findna run (pid {pid}{where}) is writing {what}; wait for it to finish or "
        f"choose another --out. If no findna run uses it, delete {lock}."
    )


def is_stale(lock: Path) -> bool:
    """Whether ``lock`` is held by no live process (its process is gone, or it is this one)."""
    return _busy(lock, lock) is None


def check_not_busy(lock: Path, what: Path) -> None:
    """Raise :class:`OutputBusyError` when a live process other than this one holds ``lock``."""
    err = _busy(lock, what) if lock.exists() else None
    if err is not None:
        raise err


def take_lock(lock: Path, what: Path) -> None:
    """Take ``lock`` for this process (taking over a stale one); raise when another holds it."""
    for _ in range(100):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder is None and _age(lock) < 2.0:
                time.sleep(0.05)  # its maker is writing the pid right now
                continue
            if _ours(holder):
                return
            err = _busy(lock, what)
            if err is not None:
                raise err from None
            log.info("taking over the stale lock %s (%s)", lock, holder or "empty")
            lock.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()} {socket.gethostname()}\n")
        return
    raise OutputBusyError(f"could not lock {what}: {lock} keeps changing; try again")


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def give_back(lock: Path) -> None:
    """Remove ``lock`` if this process holds it (or it is empty)."""
    holder = _holder(lock)
    if holder is None or _ours(holder):
        lock.unlink(missing_ok=True)


def file_lock_path(target: str | Path) -> Path:
    """``FILE.findna-lock``: the lock of a single-file output, beside it."""
    target = Path(target)
    return target.with_name(target.name + FILE_LOCK_SUFFIX)


def check_file_not_busy(target: str | Path) -> None:
    """Raise :class:`OutputBusyError` when another findna process is writing ``target``."""
    check_not_busy(file_lock_path(target), Path(target))


def lock_file(target: str | Path) -> Path:
    """Take the lock of single-file output ``target`` for this process; return the lock."""
    lock = file_lock_path(target)
    take_lock(lock, Path(target))
    return lock


def unlock_file(target: str | Path) -> None:
    """Give back the lock of ``target`` taken by :func:`lock_file`."""
    give_back(file_lock_path(target))


@contextmanager
def file_lock(target: str | Path) -> Iterator[Path]:
    """Hold the lock of single-file output ``target`` for the block."""
    lock = lock_file(target)
    try:
        yield lock
    finally:
        unlock_file(target)


def appeared(target: Path) -> FileExistsError:
    """The error for an output file that appeared while the command ran."""
    return FileExistsError(
        f"{target} appeared while this command ran (another program wrote it); it was kept and "
        "nothing was replaced. Pass --force to replace it, or choose another --out."
    )


def rename_no_clobber(tmp: str | Path, target: str | Path) -> None:
    """Rename ``tmp`` to ``target`` only if ``target`` does not exist, in one step.

    Raises:
        FileExistsError: ``target`` appeared while the command ran (``tmp`` is removed, the
            file there kept).
    """
    tmp, target = Path(tmp), Path(target)
    try:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system: an exclusive create is the check
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            os.replace(tmp, target)
            return
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        raise appeared(target) from None
    tmp.unlink()


__all__ = [
    "LOCK",
    "OutputBusyError",
    "appeared",
    "check_file_not_busy",
    "check_not_busy",
    "file_lock",
    "file_lock_path",
    "give_back",
    "is_stale",
    "lock_file",
    "rename_no_clobber",
    "take_lock",
    "unlock_file",
]
