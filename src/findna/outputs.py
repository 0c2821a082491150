"""One rule for every command that reads a file or writes an output (docs/reliability.md).

- Check inputs and the output path before any work, so that a mistake costs seconds, not a run.
- Never replace an existing output without ``force``; never let ``force`` delete something that
  is not an output of the same kind (a findna run, a prepared genome, an export, a classifier).
- Never write onto an input.
- Write atomically: into ``NAME.tmp-<pid>`` next to the target, renamed into place when complete;
  leftovers of killed processes (their pid no longer runs) are removed on the next write.

The commands' output folders follow :mod:`findna.folders` on top of this (a manifest of what
findna wrote, ``--force`` removing only that, one writer at a time); this module stays free of
findna imports because exports carry it for ``trust_remote_code``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


def require_file(path: str | Path, what: str = "input file") -> Path:
    """``path`` as a Path when it is an existing regular file.

    Raises:
        FileNotFoundError: it does not exist (names ``what``).
        ValueError: it is a folder or another kind of non-regular file.
    """
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; give a file inside it instead")
    if path.exists():
        raise ValueError(f"{what} {path} is not a regular file; give a regular file")
    raise FileNotFoundError(f"{what} {path} does not exist")


def _check_parents(path: Path) -> Path:
    """The deepest existing folder above ``path``; raise if a file stands where a folder must."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"cannot write {path}: {parent} is a file, not a folder. Choose another "
                    "output path."
                )
            return parent
    return Path(".")


def _check_writable(folder: Path, target: Path) -> None:
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".findna-write-check-")
    except OSError as err:
        raise ValueError(
            f"cannot write {target}: {folder} does not accept new files ({err.strerror}). Choose "
            "an output path in a writable folder."
        ) from None
    os.close(fd)
    os.unlink(probe)


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output_file(
    path: str | Path, *, force: bool = False, inputs: Sequence[str | Path] = ()
) -> Path:
    """Check, before any work, that ``path`` can become a new output file.

    Args:
        path: the output file.
        force: whether an existing file may be replaced.
        inputs: files the command reads; the output may not be one of them.

    Raises:
        ValueError: a file stands where a folder must, the path is a folder, the folder is not
            writable, or the path is one of ``inputs``.
        FileExistsError: the file exists and ``force`` is False.
    """
    path = Path(path)
    for given in inputs:
        if _same_path(path, Path(given)):
            raise ValueError(
                f"--out {path} is an input of this command; writing it would destroy the input. "
                "Choose another output path."
            )
    if path.is_dir():
        raise ValueError(
            f"--out {path} is a folder; give a file path (a name inside it, for example)"
        )
    _check_writable(_check_parents(path), path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to replace it")
    return path


def check_output_dir(
    path: str | Path,
    *,
    kind: str,
    is_kind: Callable[[Path], bool],
    force: bool = False,
    inputs: Sequence[str | Path] = (),
    exists_hint: str = "pass --force to replace it",
) -> Path:
    """Check, before any work, that ``path`` can receive an output folder of ``kind``.

    An empty or missing folder is fine. An existing one is replaced only with ``force`` and only
    when ``is_kind(path)`` says it is an output of the same kind.

    Args:
        path: the output folder.
        kind: what the command writes, for messages (e.g. ``"findna export"``).
        is_kind: whether an existing folder holds an output of that kind.
        force: whether an existing output of that kind may be replaced.
        inputs: files or folders the command reads; the output may not be or contain them.
        exists_hint: what to do when an output of that kind exists (ends the message).

    Raises:
        ValueError: a file stands there or above it, the folder is not writable, it holds an
            input, or ``force`` would replace something that is not a ``kind``.
        FileExistsError: an output of that kind exists and ``force`` is False.
    """
    path = Path(path)
    for given in inputs:
        given = Path(given)
        if _same_path(path, given) or any(_same_path(path, p) for p in given.parents):
            raise ValueError(
                f"--out {path} holds an input of this command ({given}); writing there would "
                "destroy it. Choose another output folder."
            )
    if path.exists() and not path.is_dir():
        raise ValueError(f"--out {path} is a file; give a folder path for the {kind}")
    _check_writable(path if path.is_dir() else _check_parents(path), path)
    if path.is_dir() and any(path.iterdir()):
        if not is_kind(path):
            raise ValueError(
                f"{path} is not empty and does not hold a {kind}; findna will not write into it "
                "or delete it, even with --force. Choose another (new or empty) folder."
            )
        if not force:
            raise FileExistsError(f"{path} holds a {kind} already; {exists_hint}")
    return path


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def temp_path(target: str | Path, tag: str = "") -> Path:
    """``TARGET.tmp-<pid><tag>``: where this process writes ``target`` before renaming it."""
    target = Path(target)
    return target.with_name(f"{target.name}.tmp-{os.getpid()}{tag}")


def remove_stale_temps(target: str | Path) -> list[Path]:
    """Delete ``TARGET.tmp-<pid>[tag]`` leftovers whose process no longer runs; return them."""
    target = Path(target)
    removed = []
    folder = target.parent if target.parent.is_dir() else None
    for tmp in folder.glob(f"{target.name}.tmp-*") if folder else ():
        pid = tmp.name.rsplit(".tmp-", 1)[1].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _pid_running(int(pid)):
            continue
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)
        removed.append(tmp)
    if removed:
        log.info("removed %d leftover(s) of killed runs: %s", len(removed), removed)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def atomic_output(target: str | Path) -> Iterator[Path]:
    """Yield ``TARGET.tmp-<pid>`` to write (a file or a folder); rename it to ``target`` when the
    block ends without error, replacing what was there; remove it when the block fails.

    An ``OSError`` that names no file (a write to an open file on a full disk) is given
    ``target`` as its ``filename``, so that the error says which output could not be written.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target)
    tmp = temp_path(target)
    _remove(tmp)
    try:
        yield tmp
        if target.is_dir() and tmp.is_dir():
            old = target.with_name(f"{target.name}.old-{os.getpid()}")
            target.rename(old)
            tmp.rename(target)
            _remove(old)
        else:
            os.replace(tmp, target)
    except BaseException as err:
        _remove(tmp)
        if isinstance(err, OSError) and err.filename is None and err.errno is not None:
            err.filename = str(target)  # (an OSError without errno keeps its own message)
        raise


def process_umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux:
    ``/proc/self/status``); elsewhere set and restored at once."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def share_as_umask(*paths: str | Path) -> None:
    """Give files the permissions a new file gets (``0o666`` less the umask): libraries that
    write weights (safetensors) create them readable by their owner only, so another user of a
    shared machine could not load an export."""
    mode = 0o666 & ~process_umask()
    for path in paths:
        os.chmod(path, mode)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return ``path``.

    The bytes go to ``PATH.tmp-<pid>`` first and are renamed into place only when complete, so a
    reader sees the old file or the new one, never a half-written one. A failure (a full disk, a
    kill) leaves the old file intact and removes the temporary; missing folders are made.
    """
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def json_ready(data: object) -> object:
    """``data`` with every float NaN or infinity (an undefined metric: an AUROC of one class, the
    spread of one seed) as None, JSON's null, and NumPy scalars as Python numbers, through nested
    dicts, lists and tuples (tuples become lists). Other values are returned as they are."""
    import math

    if hasattr(data, "item") and getattr(data, "shape", None) == ():  # a NumPy scalar
        data = data.item()  # type: ignore[attr-defined]
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: json_ready(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_ready(v) for v in data]
    return data


def json_text(data: object, *, indent: int | None = 1) -> str:
    """``data`` as strict JSON text ending in a newline, through :func:`json_ready`: undefined
    values become null, which every JSON parser reads (Python's ``json`` writes ``NaN``, which is
    not JSON). ``indent=None`` writes one line.

    Raises:
        TypeError: a value JSON cannot hold (other than a NumPy scalar).
    """
    import json

    return json.dumps(json_ready(data), indent=indent, allow_nan=False) + "\n"


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8 by default) and return ``path``.

    The same guarantees as :func:`write_bytes_atomic`: old file or new file, never half of one.
    """
    return write_bytes_atomic(path, text.encode(encoding))


__all__ = [
    "atomic_output",
    "json_ready",
    "json_text",
    "process_umask",
    "share_as_umask",
    "check_output_dir",
    "check_output_file",
    "remove_stale_temps",
    "require_file",
    "temp_path",
    "write_bytes_atomic",
    "write_text_atomic",
]
