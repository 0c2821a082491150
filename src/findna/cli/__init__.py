"""The ``findna`` command line: argparse subcommands that build configs and call entry points.

No logic lives here. Each area of the package has a module of ``add_*`` functions that register
one subcommand each and the handler it runs; handlers import lazily so that ``findna --help``
stays fast.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from findna.cli import bench, benchmark, config_show, data, downstream, study, train, variants
from findna.cli.setting_flags import CommandParser

# Subcommands are registered in this order in `findna --help`.
_COMMANDS = [
    train.add_demo,
    data.add_data,
    data.add_prepare,
    train.add_pretrain,
    train.add_export,
    train.add_plot_run,
    study.add_study,
    downstream.add_finetune,
    downstream.add_predict,
    benchmark.add_benchmark,
    downstream.add_embed,
    downstream.add_probe,
    downstream.add_plot_embeddings,
    variants.add_score_variants,
    bench.add_bench,
    config_show.add_config_command,
]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="findna",
        description="FinDNA: self-distillation pretraining of DNA sequence models.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=CommandParser
    )
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``findna`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Lightning prints through its own handlers; propagating would print every line twice.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).propagate = False
    try:
        args.handler(args)
    except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError) as err:
        # User errors: one clear line, no traceback (use -v for the traceback).
        if args.verbose:
            raise
        print(f"findna: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        # A full disk, a file the user may not read or write: the same, naming the file.
        message = file_system_error(as_os_error(err), args)
        if message is None or args.verbose:
            raise
        print(f"findna: error: {message}", file=sys.stderr)
        return 2
    return 0


_FULL = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "your disk quota is used up",
    errno.EROFS: "the file system is read-only",
}
_DENIED = {errno.EACCES: "permission denied", errno.EPERM: "operation not permitted"}


def _given_paths(args: argparse.Namespace) -> list[Path]:
    """The paths among the command's arguments other than ``--out``: its inputs."""
    values: list[object] = []
    for key, value in vars(args).items():
        if key not in ("out", "handler"):
            values += value if isinstance(value, list | tuple) else [value]
    return [Path(os.path.abspath(v)) for v in values if isinstance(v, str | Path) and str(v)]


def _is_read(path: Path, args: argparse.Namespace) -> bool:
    """Whether a denied ``path`` was read: it exists and is unreadable, or it is (or lies in) an
    input the command was given."""
    if not path.exists():
        return False
    if not os.access(path, os.R_OK):
        return True
    path = Path(os.path.abspath(path))
    return any(path == given or given in path.parents for given in _given_paths(args))


def as_os_error(err: BaseException) -> OSError | None:
    """``err`` as an ``OSError``: itself, or one made from the errno that libraries written in
    Rust put in their own errors' text (safetensors: "... No space left on device (os error
    28)"); None when it is neither."""
    if isinstance(err, OSError):
        return err
    found = re.search(r"\(os error (\d+)\)", str(err))
    return OSError(int(found[1]), os.strerror(int(found[1]))) if found else None


def file_system_error(err: OSError | None, args: argparse.Namespace) -> str | None:
    """The message for an ``OSError`` of the file system (a full disk, a denied read or write),
    naming the file; None for any other error (a bug, shown with its traceback).

    The file is the error's own (writers name their output: ``findna.outputs.atomic_output``),
    else, for a full disk, the command's ``--out``. A temporary ``NAME.tmp-<pid>`` is named as
    ``NAME``.
    """
    if err is None or (err.errno not in _FULL and err.errno not in _DENIED):
        return None
    name = err.filename
    if name is None and err.errno in _FULL:  # only writes fill a disk: the output's
        name = getattr(args, "out", None)
    path = Path(re.sub(r"\.tmp-\d+\S*$", "", os.fsdecode(name))) if name else None
    why = f"{_FULL[err.errno]} ({err.strerror})" if err.errno in _FULL else _DENIED[err.errno]
    if err.errno in _DENIED and path is not None and _is_read(path, args):
        mode = "a+rx" if path.is_dir() else "a+r"
        return (
            f"cannot read {path}: {why}. Make it readable to you (its owner can run "
            f"`chmod {mode} {path}`) or copy it to a folder of yours, and run the command again."
        )
    if path is None and err.errno in _DENIED:  # read or written: the library did not say
        return (
            f"{why} on a file this command reads or writes. Check that you may read its inputs "
            "and write in --out's folder, and run the command again."
        )
    what = f"cannot write {path}" if path is not None else "cannot write this command's output"
    fix = (
        "Free space on that disk (`df -h` shows it) or give an --out on another disk"
        if err.errno in (errno.ENOSPC, errno.EDQUOT)
        else "Choose an --out in a folder you may write to"
    )
    return (
        f"{what}: {why}. findna stopped without completing it: an output that existed is kept "
        "as it was, and no half-written file takes its place. "
        f"{fix}, and run the command again."
    )
