"""Bad-input cases: outputs (checked before any work, never replaced without --force, never onto
an input) and a user's task folders (refused before anything is written)."""

from __future__ import annotations

import shutil

from bad_input_kit import (
    LEGACY,
    SCRATCH,
    Case,
    disk_full,
    embed_argv,
    export_argv,
    fasta_text,
    prepared_genome,
    probe_argv,
    random_seq,
    task_folder,
    write_files,
)

OUTPUT_CASES = [
    # Outputs: checked before any work, never replaced without --force, never onto an input.
    Case(
        "--out below a regular file",
        write_files(**{"a.fa": fasta_text(["r"]), "f": "mine"}),
        embed_argv("a.fa", "f/out.npy"),
        r"f is a file, not a folder",
    ),  # fmt: skip
    Case(
        "--out onto an existing folder",
        write_files(**{"a.fa": fasta_text(["r"]), "o.npy__k": "mine"}),
        embed_argv("a.fa", "o.npy"),
        r"o\.npy is a folder; give a file path",
    ),  # fmt: skip
    Case(
        "--out exists",
        write_files(**{"a.fa": fasta_text(["r"]), "out.npy": "mine"}),
        embed_argv("a.fa"),
        r"out\.npy exists; pass --force",
    ),  # fmt: skip
    Case(
        "--out's id sidecar exists",
        write_files(**{"a.fa": fasta_text(["r"]), "out.ids.txt": "mine"}),
        embed_argv("a.fa"),
        r"out\.ids\.txt exists; pass --force",
    ),  # fmt: skip
    Case(
        "--out in a folder that takes no files",
        write_files(**{"a.fa": fasta_text(["r"])}),
        lambda root: ["embed", str(root / "a.fa"), "--out", "/proc/out.npy", *SCRATCH],
        r"cannot write /proc/out\.npy: /proc does not accept new files",
    ),  # fmt: skip
    Case(
        "prepare --force onto a folder of other files",
        write_files(**{"a.fa": fasta_text(["r"]), "mine__notes.txt": "keep"}),
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
        write_files(**{"a.fa": fasta_text(["r"]), "t.csv": "keep"}),
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
        write_files(**{"a.fa": fasta_text(["r"]), "out.npy": "old", "out.ids.txt": "r\n"}),
        embed_argv("a.fa", "out.npy", "--force"),
        r"cannot write \S*/out\.npy: the disk is full .*an output that existed is kept .*df -h",
        fault=disk_full,
    ),
    Case(
        "disk full during prepare genome --force",
        prepared_genome,
        lambda root: ["prepare", "genome", str(root / "b.fa"), "--out", str(root / "g"), "--force"],
        r"cannot write \S*/g: the disk is full .*an output that existed is kept as it was",
        fault=disk_full,
    ),
    Case(
        "disk full during export --force",
        lambda root: shutil.copytree(LEGACY / "model", root / "m"),
        lambda root: [*export_argv(root), "--force"],
        r"cannot write \S*/m: the disk is full .*an output that existed is kept as it was",
        fault=disk_full,
    ),
    Case(
        "figure --out that is not .png",
        write_files(**{"m.csv": "step,train/loss\n0,1\n1,0.5\n", "data.csv": "keep"}),
        lambda root: ["plot-run", str(root / "m.csv"), "--out", str(root / "data.csv")],
        r"data\.csv: figures are written as PNG",
    ),
    Case(
        "figure --out onto a folder",
        write_files(**{"m.csv": "step,train/loss\n0,1\n1,0.5\n", "c.png__k": "keep"}),
        lambda root: ["plot-run", str(root / "m.csv"), "--out", str(root / "c.png")],
        r"c\.png is a folder; give a file path",
    ),
    # Tasks (a user's folder, through `findna probe`): refused before anything is written.
    Case(
        "task sequence with an invalid character",
        task_folder({"train": [("ACGTJ", 0)]}),
        probe_argv(),
        r"train\.csv, data row 41 .*invalid character 'J'.*--on-invalid n",
    ),
    Case(
        "task split of one class",
        task_folder({"val": [(random_seq(), 0)] * 4}, replace=True),
        probe_argv(),
        r"no meaningful score is possible: the val split has 4 example\(s\) of 1 class",
    ),
    Case(
        "task class unseen in training",
        task_folder({"test": [(random_seq(), "x")]}),
        probe_argv(),
        r"test\.csv, data row 13 .*label 'x' of the test split does not occur in the training",
    ),
    Case(
        "probe --out onto a folder of other files",
        task_folder({}, extra={"out__notes.txt": "mine"}),
        probe_argv(),
        r"out is not empty and does not hold a probe report.*even with --force",
    ),
    Case(
        "probe --out onto a probe report without --force",
        task_folder({}, extra={"out__config.yaml": "x", "out__probe.json": "{}"}),
        probe_argv(),
        r"out holds a probe report already; pass --force",
    ),
]
