"""The bad-input suite (issue 12; the kinds are listed in docs/reliability.md).

Each case builds its files in ``tmp_path``, runs one ``findna`` command in-process and checks:
the exit code, that the message names the file, row or option and what to do, and that no file
in ``tmp_path`` changed and none appeared (sha256 of the whole tree before and after). Cases
findna accepts (a UTF-8 BOM, CR-only line ends) check the output instead.
"""

from __future__ import annotations

import builtins
import errno
import gzip
import hashlib
import io
import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import torch
from safetensors import SafetensorError

from findna.cli import main

LEGACY = Path(__file__).parent / "fixtures" / "legacy_0_1_0"
SCRATCH = ["--model", "scratch", "--scratch-model", "tiny"]
RNG = np.random.default_rng(0)


def _seq(n: int = 30) -> str:
    return "".join(RNG.choice(list("ACGT"), size=n))


def _table(rows: list[str], header: str = "sequence,label") -> str:
    return "\n".join([header, *rows]) + "\n"


def _fasta(names: list[str], eol: str = "\n") -> str:
    return "".join(f">{n}{eol}{_seq()}{eol}" for n in names)


def _tree(root: Path) -> dict[str, str]:
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


def _write(**files: str | bytes) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        for name, content in files.items():
            path = root / name.replace("__", "/")
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)

    return make


def _embed(src: str, out: str = "out.npy", *extra: str) -> Callable[[Path], list[str]]:
    return lambda root: ["embed", str(root / src), "--out", str(root / out), *SCRATCH, *extra]


def _task(
    rows: dict[str, list[tuple[str, object]]], replace: bool = False, extra: dict | None = None
) -> Callable[[Path], None]:
    """A user's task folder ``task/{train,val,test}.csv`` (two balanced classes, 40/12/12 rows),
    with ``rows`` appended to (or, with ``replace``, replacing) a split, and ``extra`` files."""

    def make(root: Path) -> None:
        for split, n in (("train", 40), ("val", 12), ("test", 12)):
            base = [(_seq(), i % 2) for i in range(n)]
            given = rows.get(split, [])
            body = given if replace and given else base + given
            _write(**{f"task__{split}.csv": _table([f"{q},{y}" for q, y in body])})(root)
        _write(**(extra or {}))(root)

    return make


def _model(drop: bool = False, add: bool = False) -> Callable[[Path], None]:
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
        _write(**{"a.fa": _fasta(["r"])})(root)

    return make


def _classifier_more_classes(root: Path) -> None:
    """The legacy classifier as ``clf/`` whose task.json claims one class more than its head."""
    import json

    shutil.copytree(LEGACY / "classifier", root / "clf")
    info = json.loads((root / "clf" / "task.json").read_text())
    info["num_classes"] += 1
    info["classes"].append("extra")
    (root / "clf" / "task.json").write_text(json.dumps(info))
    _write(**{"a.fa": _fasta(["r"])})(root)


def _classifier_and_long_input(report: bool = False) -> Callable[[Path], None]:
    """The legacy classifier (built for 32 tokens: 30 bp + 2 CLS rows) as ``clf/``, or as seed 0
    of a fine-tune report folder ``ft/``; a 300 bp FASTA ``long.fa``; a variant table
    ``v.tsv`` on it."""

    def make(root: Path) -> None:
        target = root / "ft" / "seed0" if report else root / "clf"
        shutil.copytree(LEGACY / "classifier", target)
        if report:
            (root / "ft" / "finetune.json").write_text("{}\n")
        _write(**{"long.fa": f">r\n{_seq(300)}\n", "v.tsv": "chrom\tpos\tref\talt\nr\t5\tA\tG\n"})(
            root
        )

    return make


def _embed_with(model: str) -> Callable[[Path], list[str]]:
    def argv(root: Path) -> list[str]:
        source = model if Path(model).is_absolute() else str(root / model)
        return ["embed", str(root / "a.fa"), "--model", source, "--out", str(root / "o.npy")]

    return argv


def _live_lock() -> str:
    """A lock file's text naming a live process other than this one (pytest's parent)."""
    import os
    import socket

    return f"{os.getppid()} {socket.gethostname()}\n"


def _probe() -> Callable[[Path], list[str]]:
    return lambda root: ["probe", "--task", str(root / "task"), *SCRATCH, "--out",
                         str(root / "out"), "--set", "epochs=2"]  # fmt: skip


@contextmanager
def _disk_full(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
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


def _unreadable(name: str) -> Callable[[Path, pytest.MonkeyPatch], AbstractContextManager]:
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


def _prepared(root: Path) -> None:
    """A genome ``g/`` prepared from ``a.fa``, and ``b.fa`` to replace it with."""
    _write(**{"a.fa": _fasta(["r"]), "b.fa": _fasta(["s"])})(root)
    assert main(["prepare", "genome", str(root / "a.fa"), "--out", str(root / "g")]) == 0


_STUDY = "preset: tiny\nvariants:\n  findna: []\n  typo: [ssl.varaint=cm-mnm]\nbaseline: null\n"

_GZ = gzip.compress(_table([f"{_seq()},{i % 2}" for i in range(300)]).encode())

CASES = [
    # Inputs of every reader (FASTA, tables, text), through `findna embed`.
    Case("input does not exist", _write(), _embed("missing.fa"), r"missing\.fa does not exist"),
    Case(
        "folder given as input file",
        _write(**{"d.fa__x.fa": _fasta(["a"])}),
        _embed("d.fa"),
        r"d\.fa is a folder; give a file",
    ),  # fmt: skip
    Case(
        "unknown input suffix",
        _write(**{"reads.bam": "x"}),
        _embed("reads.bam"),
        r"unknown input type '\.bam'",
    ),  # fmt: skip
    Case("empty FASTA", _write(**{"e.fa": ""}), _embed("e.fa"), r"e\.fa: empty FASTA file"),
    Case(
        "FASTA record without sequence",
        _write(**{"a.fa": ">a\n>b\nACGT\n"}),
        _embed("a.fa"),
        r"a\.fa, line 1: record 'a' has no sequence",
    ),  # fmt: skip
    Case(
        "FASTA duplicate record name",
        _write(**{"a.fa": _fasta(["r", "r"])}),
        _embed("a.fa"),
        r"a\.fa, line 3: duplicate record name 'r'",
    ),  # fmt: skip
    Case(
        "FASTA sequence before header",
        _write(**{"a.fa": "ACGT\n>a\nACGT\n"}),
        _embed("a.fa"),
        r"a\.fa, line 1: sequence before the first header",
    ),  # fmt: skip
    Case(
        "FASTA invalid character",
        _write(**{"a.fa": ">a\nACGTJ\n"}),
        _embed("a.fa"),
        r"record 'a'.*invalid character 'J'.*--on-invalid n",
    ),  # fmt: skip
    Case(
        "binary file named .fa",
        _write(**{"a.fa": b"\x00\x01\x02>"}),
        _embed("a.fa"),
        r"a\.fa, line 1: byte 0x00 is not text",
    ),  # fmt: skip
    Case(
        "FASTA with a UTF-8 BOM (accepted)",
        _write(**{"a.fa": "\ufeff" + _fasta(["r0", "r1"])}),
        _embed("a.fa"),
        "",
        code=0,
    ),
    Case(
        "FASTA with CR-only line ends (accepted)",
        _write(**{"a.fa": _fasta(["r0", "r1"], "\r")}),
        _embed("a.fa"),
        "",
        code=0,
    ),
    Case(
        "table row with an extra field",
        _write(**{"t.csv": _table([f"{_seq()},0,x", f"{_seq()},1,y"])}),
        _embed("t.csv"),
        r"t\.csv: the data rows have more fields than the header",
    ),  # fmt: skip
    Case(
        "trailing delimiter on every data row",
        _write(**{"t.csv": _table([f"{_seq()},0,", f"{_seq()},1,"])}),
        _embed("t.csv"),
        r"t\.csv: .*more fields than the header.*trailing delimiters",
    ),  # fmt: skip
    Case(
        "mixed delimiters",
        _write(**{"t.csv": _table([f"{_seq()},0", f"{_seq()}\t1"])}),
        _embed("t.csv"),
        r"t\.csv, data row 2 .*holds a tab.*mix delimiters",
    ),  # fmt: skip
    Case(
        "a tab inside a comma-separated row",
        _write(**{"t.csv": _table([f"x1,{_seq()}", f"x2\t{_seq()}"], "id,sequence")}),
        _embed("t.csv"),
        r"t\.csv, data row 2 .*the row holds a tab but the file is comma-separated.*'id' field "
        r"holds a tab, and its 'sequence' field is empty",
    ),
    Case(
        "unreadable input (mode 000)",
        _write(**{"a.fa": _fasta(["r"])}),
        _embed("a.fa"),
        r"cannot read \S*a\.fa: permission denied\. Make it readable .*chmod a\+r",
        fault=_unreadable("a.fa"),
    ),
    Case(
        "table without sequence column",
        _write(**{"t.csv": _table(["ACGT,0"], "dna,label")}),
        _embed("t.csv"),
        r"t\.csv: no sequence column",
    ),  # fmt: skip
    Case(
        "empty sequence in a table",
        _write(**{"t.csv": _table([f"{_seq()},0", ",1"])}),
        _embed("t.csv"),
        r"t\.csv, data row 2 .*empty sequence",
    ),  # fmt: skip
    Case(
        "duplicate ids in a table",
        _write(**{"t.csv": _table([f"a,{_seq()}", f"b,{_seq()}", f"a,{_seq()}"], "id,sequence")}),
        _embed("t.csv"),
        r"t\.csv, data row 3 .*id 'a' repeats data row 1",
    ),  # fmt: skip
    Case(
        "truncated .csv.gz",
        _write(**{"t.csv.gz": _GZ[: len(_GZ) // 2]}),
        _embed("t.csv.gz"),
        r"t\.csv\.gz: the gzip stream ends early",
    ),  # fmt: skip
    Case(
        ".csv.gz that is not gzip",
        _write(**{"t.csv.gz": _table([f"{_seq()},0"])}),
        _embed("t.csv.gz"),
        r"t\.csv\.gz: named \.gz but not gzip-compressed",
    ),  # fmt: skip
    # Outputs: checked before any work, never replaced without --force, never onto an input.
    Case(
        "--out below a regular file",
        _write(**{"a.fa": _fasta(["r"]), "f": "mine"}),
        _embed("a.fa", "f/out.npy"),
        r"f is a file, not a folder",
    ),  # fmt: skip
    Case(
        "--out onto an existing folder",
        _write(**{"a.fa": _fasta(["r"]), "o.npy__k": "mine"}),
        _embed("a.fa", "o.npy"),
        r"o\.npy is a folder; give a file path",
    ),  # fmt: skip
    Case(
        "--out exists",
        _write(**{"a.fa": _fasta(["r"]), "out.npy": "mine"}),
        _embed("a.fa"),
        r"out\.npy exists; pass --force",
    ),  # fmt: skip
    Case(
        "--out's id sidecar exists",
        _write(**{"a.fa": _fasta(["r"]), "out.ids.txt": "mine"}),
        _embed("a.fa"),
        r"out\.ids\.txt exists; pass --force",
    ),  # fmt: skip
    Case(
        "--out in a folder that takes no files",
        _write(**{"a.fa": _fasta(["r"])}),
        lambda root: ["embed", str(root / "a.fa"), "--out", "/proc/out.npy", *SCRATCH],
        r"cannot write /proc/out\.npy: /proc does not accept new files",
    ),  # fmt: skip
    Case(
        "prepare --force onto a folder of other files",
        _write(**{"a.fa": _fasta(["r"]), "mine__notes.txt": "keep"}),
        lambda root: [
            "prepare",
            "genome",
            str(root / "a.fa"),
            "--out",
            str(root / "mine"),
            "--force",
        ],
        r"mine is not empty and does not hold a prepared genome.*even with --force",
    ),
    Case(
        "prepare --force onto a file",
        _write(**{"a.fa": _fasta(["r"]), "t.csv": "keep"}),
        lambda root: [
            "prepare",
            "genome",
            str(root / "a.fa"),
            "--out",
            str(root / "t.csv"),
            "--force",
        ],
        r"t\.csv is a file; give a folder path",
    ),
    Case(
        "export --force onto a fine-tuned classifier",
        lambda root: shutil.copytree(LEGACY / "classifier", root / "clf"),
        lambda root: [
            "export",
            str(LEGACY / "run" / "checkpoints" / "final.ckpt"),
            "--out",
            str(root / "clf"),
            "--force",
        ],
        r"clf is not empty and does not hold a findna export",
    ),
    Case(
        "export onto an export without --force",
        lambda root: shutil.copytree(LEGACY / "model", root / "m"),
        lambda root: [
            "export",
            str(LEGACY / "run" / "checkpoints" / "final.ckpt"),
            "--out",
            str(root / "m"),
        ],
        r"m holds a findna export .* already; pass --force",
    ),
    Case(
        "disk full during embed --force",
        _write(**{"a.fa": _fasta(["r"]), "out.npy": "old", "out.ids.txt": "r\n"}),
        _embed("a.fa", "out.npy", "--force"),
        r"cannot write \S*/out\.npy: the disk is full .*an output that existed is kept .*df -h",
        fault=_disk_full,
    ),
    Case(
        "disk full during prepare genome --force",
        _prepared,
        lambda root: ["prepare", "genome", str(root / "b.fa"), "--out", str(root / "g"), "--force"],
        r"cannot write \S*/g: the disk is full .*an output that existed is kept as it was",
        fault=_disk_full,
    ),
    Case(
        "disk full during export --force",
        lambda root: shutil.copytree(LEGACY / "model", root / "m"),
        lambda root: [*_export_argv(root), "--force"],
        r"cannot write \S*/m: the disk is full .*an output that existed is kept as it was",
        fault=_disk_full,
    ),
    Case(
        "figure --out that is not .png",
        _write(**{"m.csv": "step,train/loss\n0,1\n1,0.5\n", "data.csv": "keep"}),
        lambda root: ["plot-run", str(root / "m.csv"), "--out", str(root / "data.csv")],
        r"data\.csv: figures are written as PNG",
    ),
    Case(
        "figure --out onto a folder",
        _write(**{"m.csv": "step,train/loss\n0,1\n1,0.5\n", "c.png__k": "keep"}),
        lambda root: ["plot-run", str(root / "m.csv"), "--out", str(root / "c.png")],
        r"c\.png is a folder; give a file path",
    ),
    # Tasks (a user's folder, through `findna probe`): refused before anything is written.
    Case(
        "task sequence with an invalid character",
        _task({"train": [("ACGTJ", 0)]}),
        _probe(),
        r"train\.csv, data row 41 .*invalid character 'J'.*--on-invalid n",
    ),
    Case(
        "task split of one class",
        _task({"val": [(_seq(), 0)] * 4}, replace=True),
        _probe(),
        r"no meaningful score is possible: the val split has 4 example\(s\) of 1 class",
    ),
    Case(
        "task class unseen in training",
        _task({"test": [(_seq(), "x")]}),
        _probe(),
        r"test\.csv, data row 13 .*label 'x' of the test split does not occur in the training",
    ),
    Case(
        "probe --out onto a folder of other files",
        _task({}, extra={"out__notes.txt": "mine"}),
        _probe(),
        r"out is not empty and does not hold a probe report.*even with --force",
    ),
    Case(
        "probe --out onto a probe report without --force",
        _task({}, extra={"out__config.yaml": "x", "out__probe.json": "{}"}),
        _probe(),
        r"out holds a probe report already; pass --force",
    ),
    # Two runs to one output (issue 22): the second fails at once, naming the other's pid.
    Case(
        "probe --out while another run writes it",
        _task({}, extra={"out__config.yaml": "x", "out__.findna-lock": _live_lock()}),
        _probe(),
        r"another findna run \(pid \d+\) is writing \S*out; wait for it .*delete \S*\.findna-lock",
    ),
    Case(
        "embed --out while another run writes it",
        _write(**{"a.fa": _fasta(["r"]), "out.npy.findna-lock": _live_lock()}),
        _embed("a.fa"),
        r"another findna run \(pid \d+\) is writing \S*out\.npy",
    ),
    Case(
        "prepare --out while another run writes it",
        _write(**{"a.fa": _fasta(["r"]), "g.findna-lock": _live_lock()}),
        lambda root: ["prepare", "genome", str(root / "a.fa"), "--out", str(root / "g")],
        r"another findna run \(pid \d+\) is writing \S*g;",
    ),
    # Models load completely or not at all; classifiers are never mixed.
    Case(
        "model missing a tensor",
        _model(drop=True),
        _embed_with("m"),
        r"m/model\.safetensors: 1 tensor\(s\) the network needs are missing \(\S+\)",
    ),
    Case(
        "model with an unknown tensor",
        _model(add=True),
        _embed_with("m"),
        r"m/model\.safetensors: 1 tensor\(s\) are not part of it \(extra\.weight\)",
    ),
    Case(
        "classifier whose task.json disagrees with its head",
        _classifier_more_classes,
        lambda root: [
            "predict",
            str(root / "a.fa"),
            "--model",
            str(root / "clf"),
            "--out",
            str(root / "p.csv"),
        ],
        r"clf/head\.safetensors does not match \S*clf/task\.json .*fine-tune it again",
    ),
    Case(
        "--max-len shorter than the inputs",
        _write(**{"a.fa": _fasta(["r"])}),
        lambda root: [*_embed_with(str(LEGACY / "model"))(root), "--max-len", "5"],
        r"a sequence of 30 bp .* longer than the 5 tokens .*--max-len 30",
    ),
    Case(
        "predict --out onto its input",
        _write(**{"a.fa": _fasta(["r"])}),
        lambda root: [
            "predict",
            str(root / "a.fa"),
            "--model",
            str(LEGACY / "classifier"),
            "--out",
            str(root / "a.fa"),
            "--force",
        ],
        r"--out \S*a\.fa is an input of this command",
    ),
    Case(
        "pretrain --force with a bad config keeps the old run",
        lambda root: shutil.copytree(LEGACY / "run", root / "run"),
        lambda root: [
            "pretrain",
            "--config",
            "tiny",
            "--out",
            str(root / "run"),
            "--force",
            "--set",
            "data.genome=typo.fa",
        ],
        r"data\.genome: typo\.fa does not exist",
    ),
    # Settings: the message names the override, and nothing is written.
    Case(
        "--set unknown key",
        _write(),
        lambda root: [
            "pretrain",
            "--config",
            "tiny",
            "--set",
            "optim.lrr=0.1",
            "--out",
            str(root / "run"),
        ],
        r"--set optim\.lrr=0\.1 .*unknown key\(s\) lrr; valid keys: .*lr",
    ),
    Case(
        "--set value of the wrong type",
        _write(),
        lambda root: [
            "pretrain",
            "--config",
            "tiny",
            "--set",
            "optim.lr=abc",
            "--out",
            str(root / "run"),
        ],
        r"--set optim\.lr=abc .*optim\.lr: expected a number, got 'abc'",
    ),
    Case(
        "--set optim.lr=nan",
        _write(),
        lambda root: [
            "pretrain",
            "--config",
            "tiny",
            "--set",
            "optim.lr=nan",
            "--out",
            str(root / "run"),
        ],
        r"--set optim\.lr=nan .*expected a finite number",
    ),
    Case(
        "--set without =",
        _write(),
        lambda root: [
            "pretrain",
            "--config",
            "tiny",
            "--set",
            "optim.lr",
            "--out",
            str(root / "run"),
        ],
        r"override 'optim\.lr' must look like section\.key=value",
    ),
    Case(
        "a preset name as base: in a user YAML",
        _write(**{"cfg__my.yaml": "base: tiny.yaml\noptim:\n  lr: 0.001\n"}),
        lambda root: ["pretrain", "--config", str(root / "cfg/my.yaml"), "--out", str(root / "r")],
        r"my\.yaml: base: tiny\.yaml: \S*cfg/tiny\.yaml does not exist; base: takes a YAML path "
        r"relative to this file \(a shipped preset is given with --config NAME, not base:\)",
    ),
    Case(
        "a typo in a study's second variant",
        _write(**{"s.yaml": _STUDY}),
        lambda root: ["study", str(root / "s.yaml"), "--out", str(root / "study")],
        r"study variant 'typo' \(seed 0\): ssl\.varaint=cm-mnm .*unknown key\(s\) varaint.*"
        r"nothing was pretrained",
    ),
    Case(
        "predict on inputs longer than the classifier was fine-tuned for",
        _classifier_and_long_input(),
        lambda root: [
            "predict",
            str(root / "long.fa"),
            "--model",
            str(root / "clf"),
            "--out",
            str(root / "p.csv"),
        ],  # fmt: skip
        r"1 of 1 sequence\(s\) are longer than classifier .*clf was fine-tuned for; the longest, "
        r"'r', is 300 bp .*at most 32 tokens \(30 bp\).*Cut the inputs to 30 bp, or pass "
        r"--allow-longer",
    ),
    Case(
        "predict --model a fine-tune report folder",
        _classifier_and_long_input(report=True),
        lambda root: [
            "predict",
            str(root / "long.fa"),
            "--model",
            str(root / "ft"),
            "--out",
            str(root / "p.csv"),
        ],  # fmt: skip
        r"ft is a fine-tune report folder, not a classifier.*--model \S*ft/seed0 \(found: seed0\)",
    ),
    Case(
        "score-variants --model a fine-tuned classifier",
        _classifier_and_long_input(),
        lambda root: [
            "score-variants",
            str(root / "v.tsv"),
            "--genome",
            str(root / "long.fa"),
            "--model",
            str(root / "clf"),
            "--out",
            str(root / "s.tsv"),
        ],  # fmt: skip
        r"clf is a fine-tuned classifier \(task synthetic/two\), not a pretrained model: .*never "
        r"the MNM head .*Score with the pretrained run or export it was fine-tuned from",
    ),
    Case(
        "unknown preset",
        _write(),
        lambda root: ["pretrain", "--config", "tinyy", "--out", str(root / "run")],
        r"tinyy",
    ),
    Case(
        "pretrain --force onto a folder of other files",
        _write(**{"v__notes.txt": "mine"}),
        lambda root: ["pretrain", "--config", "tiny", "--out", str(root / "v"), "--force"],
        r"v is not empty and does not hold a findna pretraining run",
    ),
]
if not torch.cuda.is_available():
    CASES.append(Case("--device cuda without CUDA", _write(**{"a.fa": _fasta(["r"])}),
                      _embed("a.fa", "out.npy", "--device", "cuda"),
                      r"CUDA is not available"))  # fmt: skip


@contextmanager
def _no_fault() -> Iterator[None]:
    yield


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys, monkeypatch) -> None:
    root = tmp_path / "work"
    root.mkdir()
    case.files(root)
    before = _tree(root)
    with case.fault(root, monkeypatch) if case.fault else _no_fault():
        code = main(case.argv(root))
    err = capsys.readouterr().err
    assert code == case.code, err
    if case.code == 0:
        ids = (root / "out.ids.txt").read_text().split()
        assert ids == ["r0", "r1"] and np.load(root / "out.npy").shape[0] == 2
        return
    assert "findna: error:" in err.splitlines()[-1] and "Traceback" not in err, err
    assert re.search(case.message, err, flags=re.DOTALL), err
    assert _tree(root) == before  # nothing changed, nothing appeared


def test_the_suite_covers_every_listed_kind() -> None:
    """docs/reliability.md lists exactly the kinds that have a case here, and their count."""
    doc = (Path(__file__).parents[1] / "docs" / "reliability.md").read_text()
    listed = {line[2:].split(" -> ")[0].strip("`") for line in doc.splitlines()
              if line.startswith("- `") and " -> " in line}  # fmt: skip
    kinds = {c.kind for c in CASES} | {"--device cuda without CUDA"}  # run only without CUDA
    assert kinds == listed, sorted(kinds ^ listed)
    assert f"{len(kinds)} kinds, one parametrised case each" in doc


def test_probe_refuses_a_one_class_split_before_training(tmp_path: Path) -> None:
    from findna.data.tasks import TaskSpec, load_task
    from findna.eval.probe import ProbeConfig, run_probe

    files = {}
    for split, labels in (("train", [0, 1] * 10), ("dev", [0] * 4), ("test", [0, 1] * 3)):
        files[split] = str(tmp_path / f"{split}.csv")
        pd.DataFrame({"sequence": [_seq() for _ in labels], "label": labels}).to_csv(
            files[split], index=False
        )
    spec = TaskSpec("mine/one", "mine", files, "table", num_classes=2, metric="mcc",
                    protocol="official", max_len=30)  # fmt: skip
    task = load_task(spec, 0)
    with pytest.raises(ValueError, match=r"mine/one: no meaningful score.*the val split has 4 "
                       r"example\(s\) of 1 class.*val: 4 \(class 0: 4\)"):  # fmt: skip
        run_probe(task, "scratch", ProbeConfig(), 0, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_task_commands_accept_on_invalid_n(tmp_path: Path) -> None:
    """The hint of the invalid-character error works on the task commands: --on-invalid n."""
    _task({"train": [("ACGTJ", 0)]})(tmp_path)
    argv = _probe()(tmp_path)
    assert main([*argv, "--on-invalid", "n"]) == 0
    assert (tmp_path / "out" / "probe.json").is_file()


# An output folder's life (issue 22; findna/folders, docs/reliability.md): --force keeps the
# user's files, a killed or failed run is replaced without --force, two writers never mix.

NOTES = {"NOTES.txt": "my notes", "probe/probe.json": '{"mine": 1}'}
MANIFEST = ".findna-manifest.json"


def _add_notes(folder: Path) -> dict[str, str]:
    for name, text in NOTES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return {k: v for k, v in _tree(folder).items() if k in NOTES}


def _pretrain_config(root: Path) -> Path:
    import yaml

    rng = np.random.default_rng(0)
    seqs = {
        name: "".join(rng.choice(list("ACGT"), size=n)) for name, n in (("a", 3000), ("b", 900))
    }
    (root / "g.fa").write_text("".join(f">{k}\n{v}\n" for k, v in seqs.items()))
    cfg = {
        "data": {
            "genome": str(root / "g.fa"),
            "prepared_dir": str(root / "prepared"),
            "windows": {"window_length": 32, "num_windows": 64, "holdout_records": ["b"]},
            "val_windows": 8,
        },
        "model": {"track_size": 4, "hidden": 16, "n_layers": 1, "max_len": 34},
        "views": {"n_cls": 2},
        "ssl": {"n_cls": 2},
        "optim": {"batch_size": 8, "max_steps": 2, "lr": 1e-3},
        "run": {
            "out_dir": str(root / "run"),
            "precision": "32-true",
            "accelerator": "cpu",
            "ckpt_every_n_steps": 2,
            "val_every_n_steps": 2,
            "log_every_n_steps": 1,
            "progress_bar": False,
        },
    }
    (root / "micro.yaml").write_text(yaml.safe_dump(cfg))
    return root / "micro.yaml"


def _export_argv(root: Path) -> list[str]:
    return ["export", str(LEGACY / "run" / "checkpoints" / "final.ckpt"), "--out", str(root / "m")]


def _finetune(root: Path) -> list[str]:
    out = ["--out", str(root / "ft"), "--set", "epochs=1"]
    return ["finetune", "--task", str(root / "task"), *SCRATCH, *out]


FORCE_KEEPS = {
    # kind -> (make the existing output in root, argv that replaces it, its folder, a file of it)
    "prepared genome": (
        lambda root: (
            _write(**{"a.fa": _fasta(["r"]), "b.fa": _fasta(["s"])})(root),
            main(["prepare", "genome", str(root / "a.fa"), "--out", str(root / "g")]),
        ),
        lambda root: ["prepare", "genome", str(root / "b.fa"), "--out", str(root / "g")],
        "g",
        "index.json",
    ),
    "export (no manifest: a 0.1.0 export)": (
        lambda root: shutil.copytree(LEGACY / "model", root / "m"),
        _export_argv,
        "m",
        "model.safetensors",
    ),
    "export": (lambda root: main(_export_argv(root)), _export_argv, "m", "README.md"),
    "probe report": (
        lambda root: (_task({})(root), main(_probe()(root))),
        _probe(),
        "out",
        "probe.json",
    ),
    "probe report (no manifest: an earlier findna's)": (
        lambda root: (_task({})(root), main(_probe()(root)), (root / "out" / MANIFEST).unlink()),
        _probe(),
        "out",
        "probe.json",
    ),
    "finetune report": (
        lambda root: (_task({})(root), main(_finetune(root))),
        _finetune,
        "ft",
        "seed0/task.json",
    ),
    "pretraining run": (
        lambda root: main(["pretrain", "--config", str(_pretrain_config(root))]),
        lambda root: ["pretrain", "--config", str(root / "micro.yaml")],
        "run",
        "summary.json",
    ),
}


@pytest.mark.parametrize("kind", list(FORCE_KEEPS))
def test_force_keeps_the_users_files(kind: str, tmp_path: Path, capsys, caplog) -> None:
    """Issue 22 BAD 1: --force deleted a NOTES.txt and a probe/ report kept in the folder."""
    from findna.folders import read_manifest

    make, argv, name, own = FORCE_KEEPS[kind]
    make(tmp_path)
    folder = tmp_path / name
    assert (folder / own).is_file()
    mine = _add_notes(folder)
    before = _tree(tmp_path)
    assert main(argv(tmp_path)) == 2  # without --force: refused, nothing changed
    assert "--force" in capsys.readouterr().err and _tree(tmp_path) == before
    with caplog.at_level("INFO"):
        assert main([*argv(tmp_path), "--force"]) == 0, capsys.readouterr().err
    after = _tree(folder)
    assert {k: after[k] for k in mine} == mine  # the user's files, byte for byte
    assert (folder / own).is_file() and read_manifest(folder)["complete"] is True
    assert "kept NOTES.txt, probe (not written by findna " in caplog.text
    assert not list(tmp_path.rglob("*.findna-lock")) and not list(tmp_path.rglob("*.tmp-*"))


def _big_task(root: Path, n: int = 1500) -> None:
    rng = np.random.default_rng(1)
    for split, rows in (("train", n), ("val", n // 5), ("test", n // 5)):
        body = ["".join(rng.choice(list("ACGT"), size=60)) + f",{i % 2}" for i in range(rows)]
        _write(**{f"task__{split}.csv": _table(body)})(root)


def _manifest_of(folder: Path) -> dict:
    from findna.folders import read_manifest

    return read_manifest(folder) or {}


def test_a_killed_force_rerun_leaves_no_mix_and_is_replaced_without_force(
    tmp_path: Path, caplog
) -> None:
    """Issue 22 BAD 2: a SIGKILLed `probe --force` kept the old probe.json beside the new
    config.yaml. Now the old report goes first and the folder says it is unfinished."""
    import signal
    import subprocess
    import sys
    import time

    _big_task(tmp_path)
    out = tmp_path / "out"
    argv = ["probe", "--task", str(tmp_path / "task"), *SCRATCH, "--out", str(out), "--seeds"]
    assert main([*argv, "0", "--set", "epochs=2"]) == 0
    mine = _add_notes(out)
    old = {(p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    slow = [*argv, "0,1,2", "--set", "epochs=200", "--force"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "findna.cli", *slow],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if _manifest_of(out).get("pid") == proc.pid and (out / "config.yaml").is_file():
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    killed = _tree(out)
    assert _manifest_of(out)["complete"] is False  # never a complete-looking mix
    assert not any((out / f"probe{s}").exists() for s in (".json", ".md", "_seeds.json"))
    survivors = [
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and (p.stat().st_ino, p.stat().st_mtime_ns) in old
    ]
    assert sorted(survivors) == sorted(mine)  # of the old run, only the user's files remain
    assert {k: killed[k] for k in mine} == mine
    with caplog.at_level("WARNING"):
        assert main([*argv, "0", "--set", "epochs=2"]) == 0  # no --force: it was unfinished
    warned = (
        r"WARNING .*out held an unfinished probe report \(killed or failed, pid "
        rf"{proc.pid}\); replacing it: removed .*config\.yaml.*kept NOTES\.txt"
    )
    assert re.search(warned, caplog.text), caplog.text
    after = _tree(out)
    assert {k: after[k] for k in mine} == mine and _manifest_of(out)["complete"] is True
    assert (out / "probe.json").is_file() and not (out / ".findna-lock").exists()


def test_a_failed_probe_does_not_block_the_corrected_rerun(tmp_path: Path, capsys, caplog) -> None:
    """Issue 22 WEAK: a probe that failed on a mistyped model left config.yaml, and the corrected
    rerun was refused ("holds a probe report already")."""
    _task({})(tmp_path)
    _model(drop=True)(tmp_path)  # m/: a model that exists but fails to load
    argv = _probe()(tmp_path)
    typo = [a if a != "scratch" else str(tmp_path / "typo") for a in argv]
    before = _tree(tmp_path)
    assert main(typo) == 2  # a mistyped model is found before anything is written
    assert "typo' does not exist" in capsys.readouterr().err and _tree(tmp_path) == before
    broken = argv[: argv.index("--model")] + ["--model", str(tmp_path / "m")] + argv[-4:]
    assert main(broken) == 2  # fails while loading: the folder is left unfinished
    assert "missing" in capsys.readouterr().err
    assert _manifest_of(tmp_path / "out")["complete"] is False
    with caplog.at_level("WARNING"):
        assert main(argv) == 0  # the corrected rerun, without --force
    assert "out held an unfinished probe report" in caplog.text
    assert _manifest_of(tmp_path / "out")["complete"] is True


def test_an_embed_output_that_appears_meanwhile_is_kept(tmp_path: Path, capsys, monkeypatch):
    """Issue 22 WEAK: two `embed` runs to one --out both exited 0, one replacing the other. The
    check and the rename are now one step (and the output is locked while it is written)."""
    from findna.eval import embed_io

    _write(**{"a.fa": _fasta(["r0", "r1"])})(tmp_path)
    real_close = embed_io.NpyWriter.close

    def other_run_finishes_first(self):
        (tmp_path / "out.npy").write_bytes(b"the other run's output")
        assert self.out.with_name("out.npy.findna-lock").is_file()  # held while writing
        real_close(self)

    monkeypatch.setattr(embed_io.NpyWriter, "close", other_run_finishes_first)
    assert main(_embed("a.fa")(tmp_path)) == 2
    assert re.search(r"out\.npy appeared while this command ran .*kept", capsys.readouterr().err)
    assert (tmp_path / "out.npy").read_bytes() == b"the other run's output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fa", "out.npy"]


def test_benchmark_force_keeps_the_users_files(tmp_path: Path, capsys, caplog) -> None:
    """`benchmark` resumes without --force; --force removes only what a benchmark writes."""
    _task({})(tmp_path)
    argv = ["benchmark", "--suite", str(tmp_path / "task"), "--models", "scratch", "--seeds", "0"]
    argv += ["--out", str(tmp_path / "b"), "--set", "probe.epochs=2"]
    for setting in ("track_size=4", "hidden=16", "n_layers=1"):
        argv += ["--set", f"scratch_model.{setting}"]
    assert main(argv) == 0
    out = tmp_path / "b"
    mine = _add_notes(out)
    old_log = (out / "results.jsonl").read_bytes()
    with caplog.at_level("INFO"):
        assert main([*argv, "--force"]) == 0, capsys.readouterr().err
    after = _tree(out)
    assert {k: after[k] for k in mine} == mine
    assert "removed cache, comparison.pdf, comparison.png, config.yaml, predictions" in caplog.text
    assert "kept NOTES.txt, probe (not written by findna " in caplog.text
    assert (out / "results.jsonl").read_bytes() != old_log  # a new log, not the resumed one
    assert _manifest_of(out)["complete"] is True


def test_per_token_embed_logs_sequences_and_token_rows(tmp_path: Path, caplog) -> None:
    """Issue 22 WEAK: `embed --per-token` on one 300 kbp sequence logged "300000 sequences"."""
    _write(**{"a.fa": f">r\n{_seq(300)}\n"})(tmp_path)
    with caplog.at_level("INFO"):
        assert main(_embed("a.fa", "out.parquet", "--per-token")(tmp_path)) == 0
    assert re.search(r"a\.fa: 1 sequence\(s\), 300 token rows -> \S*out\.parquet", caplog.text)
    assert pd.read_parquet(tmp_path / "out.parquet").shape[0] == 300


def test_file_system_errors_name_the_file_and_what_happened(tmp_path: Path) -> None:
    """The rule behind the disk-full and unreadable cases (findna.cli.file_system_error)."""
    from argparse import Namespace

    from findna.cli import as_os_error, file_system_error

    args = Namespace(input=str(tmp_path / "a.fa"), out=str(tmp_path / "o.npy"))
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "o.npy.tmp-12.raw"))
    assert file_system_error(full, args).startswith(f"cannot write {tmp_path}/o.npy: the disk")
    read_only = file_system_error(OSError(errno.EROFS, "Read-only file system"), args)
    assert read_only.startswith(f"cannot write {tmp_path}/o.npy: the file system is read-only")
    assert "Choose an --out in a folder you may write to" in read_only
    denied = file_system_error(PermissionError(errno.EACCES, "Permission denied"), args)
    assert denied.startswith("permission denied on a file this command reads or writes")
    (tmp_path / "a.fa").write_text(">r\nACGT\n")  # an input: read, even when root may read it
    read = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "a.fa"))
    assert file_system_error(read, args).startswith(f"cannot read {tmp_path}/a.fa: permission")
    rust = SafetensorError("I/O error: Disk quota exceeded (os error 122)")
    assert "your disk quota is used up" in file_system_error(as_os_error(rust), args)
    assert file_system_error(as_os_error(OSError(errno.EIO, "I/O error")), args) is None
    assert as_os_error(ValueError("x")) is None
