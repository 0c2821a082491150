"""Bad-input cases: two runs to one output, and models that load completely or not at all
(classifiers never mixed)."""

from __future__ import annotations

import shutil

from bad_input_kit import (
    LEGACY,
    Case,
    classifier_more_classes,
    embed_argv,
    embed_with,
    fasta_text,
    legacy_model_copy,
    live_lock,
    probe_argv,
    task_folder,
    write_files,
)

MODEL_CASES = [
    # Two runs to one output (issue 22): the second fails at once, naming the other's pid.
    Case(
        "probe --out while another run writes it",
        task_folder({}, extra={"out__config.yaml": "x", "out__.findna-lock": live_lock()}),
        probe_argv(),
        r"another findna run \(pid \d+\) is writing \S*out; wait for it .*delete \S*\.findna-lock",
    ),
    Case(
        "embed --out while another run writes it",
        write_files(**{"a.fa": fasta_text(["r"]), "out.npy.findna-lock": live_lock()}),
        embed_argv("a.fa"),
        r"another findna run \(pid \d+\) is writing \S*out\.npy",
    ),
    Case(
        "prepare --out while another run writes it",
        write_files(**{"a.fa": fasta_text(["r"]), "g.findna-lock": live_lock()}),
        lambda root: ["prepare", "genome", str(root / "a.fa"), "--out", str(root / "g")],
        r"another findna run \(pid \d+\) is writing \S*g;",
    ),
    # Models load completely or not at all; classifiers are never mixed.
    Case(
        "model missing a tensor",
        legacy_model_copy(drop=True),
        embed_with("m"),
        r"m/model\.safetensors: 1 tensor\(s\) the network needs are missing \(\S+\)",
    ),
    Case(
        "model with an unknown tensor",
        legacy_model_copy(add=True),
        embed_with("m"),
        r"m/model\.safetensors: 1 tensor\(s\) are not part of it \(extra\.weight\)",
    ),
    Case(
        "classifier whose task.json disagrees with its head",
        classifier_more_classes,
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
        write_files(**{"a.fa": fasta_text(["r"])}),
        lambda root: [*embed_with(str(LEGACY / "model"))(root), "--max-len", "5"],
        r"a sequence of 30 bp .* longer than the 5 tokens .*--max-len 30",
    ),
    Case(
        "predict --out onto its input",
        write_files(**{"a.fa": fasta_text(["r"])}),
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
]
