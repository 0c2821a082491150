"""Building blocks of the bad-input suite (tests/bad_inputs): :class:`Case`, the files a case
makes, the commands it runs, the faults it injects (a full disk, an unreadable file) and the tree
hash that proves nothing changed."""

from __future__ import annotations

import builtins
import errno
import gzip
import hashlib
import io
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
from safetensors import SafetensorError

from findna.cli import main

LEGACY = Path(__file__).parents[1] / "fixtures" / "legacy_0_1_0"
SCRATCH = ["--model", "scratch", "--scratch-model", "tiny"]
RNG = np.random.default_rng(0)


def random_seq(n: int = 30) -> str:
    return "".join(RNG.choice(list("ACGT"), size=n))


def csv_text(rows: list[str], header: str = "sequence,label") -> str:
    return "\n".join([header, *rows]) + "\n"


def fasta_text(names: list[str], eol: str = "\n") -> str:
    return "".join(f">{n}{eol}{random_seq()}{eol}" for n in names)


def tree_hashes(root: Path) -> dict[str, str]:
    """Every file under ``root`` (symlinks not followed) -> sha256."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@dataclass
class Case:
    """One kind of bad input: files to make, the command, and what the user must be told."""

    kind: str
    files: Callable[[Path], None]
    argv: Callable[[Path], list[str]]
    message: str  # a regex the error must match ("" for accepted inputs)
    code: int = 2
    fault: Callable[[Path, pytest.MonkeyPatch], AbstractContextManager] | None = None  # while run


def write_files(**files: str | bytes) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        for name, content in files.items():
            path = root / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)

    return make


def embed_argv(src: str, out: str = "out.npy", *extra: str) -> Callable[[Path], list[str]]:
    return lambda root: ["embed", str(root / src), "--out", str(root / out), *SCRATCH, *extra]


def task_folder(
    rows: dict[str, list[tuple[str, object]]], replace: bool = False, extra: dict | None = None
) -> Callable[[Path], None]:
    """A user's task folder ``task/{train,val,test}.csv`` (two balanced classes, 40/12/12 rows),
    with ``rows`` appended to (or, with ``replace``, replacing) a split, and ``extra`` files."""

    def make(root: Path) -> None:
        for split, n in (("train", 40), ("val", 12), ("test", 12)):
            base = [(random_seq(), i % 2) for i in range(n)]
            given = rows.get(split, [])
            body = given if replace and given else base + given
            write_files(**{f"task__{split}.csv": csv_text([f"{q},{y}" for q, y in body])})(root)
        write_files(**(extra or {}))(root)

    return make


def legacy_model_copy(drop: bool = False, add: bool = False) -> Callable[[Path], None]:
    """A copy of the legacy export as ``m/``, one tensor dropped or an unknown one added, and a
    FASTA ``a.fa`` to embed with it."""

    def make(root: Path) -> None:
        from safetensors.torch import load_file, save_file

        shutil.copytree(LEGACY / "model", root / "m")
        weights = load_file(root / "m" / "model.safetensors")
        if drop:
            del weights[sorted(weights)[0]]
        if add:
            weights["extra.weight"] = torch.zeros(2)
        save_file(weights, root / "m" / "model.safetensors")
        write_files(**{"a.fa": fasta_text(["r"])})(root)

    return make


def classifier_more_classes(root: Path) -> None:
    """The legacy classifier as ``clf/`` whose task.json claims one class more than its head."""
    import json

    shutil.copytree(LEGACY / "classifier", root / "clf")
    info = json.loads((root / "clf" / "task.json").read_text())
    info["num_classes"] += 1
    info["classes"].append("extra")
    (root / "clf" / "task.json").write_text(json.dumps(info))
    write_files(**{"a.fa": fasta_text(["r"])})(root)


def classifier_and_long_input(report: bool = False) -> Callable[[Path], None]:
    """The legacy classifier (built for 32 tokens: 30 bp + 2 CLS rows) as ``clf/``, or as seed 0
    of a fine-tune report folder ``ft/``; a 300 bp FASTA ``long.fa``; a variant table
    ``v.tsv`` on it."""

    def make(root: Path) -> None:
        target = root / "ft" / "seed0" if report else root / "clf"
        shutil.copytree(LEGACY / "classifier", target)
        if report:
            (root / "ft" / "finetune.json").write_text("{}\n")
        write_files(
            **{"long.fa": f">r\n{random_seq(300)}\n", "v.tsv": "chrom\tpos\tref\talt\nr\t5\tA\tG\n"}
        )(root)

    return make


def export_argv(root: Path) -> list[str]:
    """``findna export`` of the legacy run's final checkpoint to ``root/m``."""
    return ["export", str(LEGACY / "run" / "checkpoints" / "final.ckpt"), "--out", str(root / "m")]


def embed_with(model: str) -> Callable[[Path], list[str]]:
    def argv(root: Path) -> list[str]:
        source = model if Path(model).is_absolute() else str(root / model)
        return ["embed", str(root / "a.fa"), "--model", source, "--out", str(root / "o.npy")]

    return argv


def live_lock() -> str:
    """A lock file's text naming a live process other than this one (pytest's parent)."""
    import os
    import socket

    return f"{os.getppid()} {socket.gethostname()}\n"


def probe_argv() -> Callable[[Path], list[str]]:
    return lambda root: ["probe", "--task", str(root / "task"), *SCRATCH, "--out",
                         str(root / "out"), "--set", "epochs=2"]  # fmt: skip


@contextmanager
def disk_full(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every temporary findna writes (``NAME.tmp-<pid>...``) fails as on a full disk: write()
    raises ENOSPC naming no file, as a write to an open file does (opening still works)."""
    real_open = builtins.open

    class Full:
        def __init__(self, f) -> None:
            self._f = f

        def write(self, data) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def writelines(self, lines) -> None:
            self.write(b"")

        def __getattr__(self, name: str):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self._f.close()

    def full_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        temporary = isinstance(file, str | Path) and ".tmp-" in str(file)
        return Full(f) if temporary and set(mode) & set("wax+") else f

    full = os.strerror(errno.ENOSPC)

    def full_weights(original):  # safetensors (Rust) raises its own error, the errno in its text
        def save(tensors, filename, *args, **kwargs):
            if ".tmp-" in str(filename):
                raise SafetensorError(f"Error while serializing: I/O error: {full} (os error 28)")
            return original(tensors, filename, *args, **kwargs)

        return save

    with monkeypatch.context() as m:
        m.setattr(builtins, "open", full_open)
        m.setattr(io, "open", full_open)  # pathlib's Path.open
        for name in ("save_file", "save_model"):
            m.setattr(safetensors.torch, name, full_weights(getattr(safetensors.torch, name)))
        yield


def unreadable(name: str) -> Callable[[Path, pytest.MonkeyPatch], AbstractContextManager]:
    """``root/name`` mode 000 (another user's file) while the command runs. Root reads such a
    file, so as root an open of it raises PermissionError instead."""

    @contextmanager
    def fault(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        path = root / name
        if os.geteuid() != 0:
            path.chmod(0)
            try:
                yield
            finally:
                path.chmod(0o644)
            return
        real_open = builtins.open

        def denied(file, *args, **kwargs):
            if isinstance(file, str | Path) and Path(file).resolve() == path.resolve():
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
            return real_open(file, *args, **kwargs)

        with monkeypatch.context() as m:
            m.setattr(builtins, "open", denied)
            m.setattr(io, "open", denied)
            yield

    return fault


def prepared_genome(root: Path) -> None:
    """A genome ``g/`` prepared from ``a.fa``, and ``b.fa`` to replace it with."""
    write_files(**{"a.fa": fasta_text(["r"]), "b.fa": fasta_text(["s"])})(root)
    assert main(["prepare", "genome", str(root / "a.fa"), "--out", str(root / "g")]) == 0


STUDY_WITH_TYPO = (
    "preset: tiny\nvariants:\n  findna: []\n  typo: [ssl.varaint=cm-mnm]\nbaseline: null\n"
)

GZ_TABLE = gzip.compress(csv_text([f"{random_seq()},{i % 2}" for i in range(300)]).encode())
