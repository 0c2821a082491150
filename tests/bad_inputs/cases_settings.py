"""Bad-input cases: settings (the message names the override, and nothing is written)."""

from __future__ import annotations

import torch
from bad_input_kit import (
    STUDY_WITH_TYPO,
    Case,
    classifier_and_long_input,
    embed_argv,
    fasta_text,
    write_files,
)

SETTINGS_CASES = [
    # Settings: the message names the override, and nothing is written.
    Case(
        "--set unknown key",
        write_files(),
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
        write_files(),
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
        write_files(),
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
        write_files(),
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
        write_files(**{"cfg__my.yaml": "base: tiny.yaml\noptim:\n  lr: 0.001\n"}),
        lambda root: ["pretrain", "--config", str(root / "cfg/my.yaml"), "--out", str(root / "r")],
        r"my\.yaml: base: tiny\.yaml: \S*cfg/tiny\.yaml does not exist; base: takes a YAML path "
        r"relative to this file \(a shipped preset is given with --config NAME, not base:\)",
    ),
    Case(
        "a typo in a study's second variant",
        write_files(**{"s.yaml": STUDY_WITH_TYPO}),
        lambda root: ["study", str(root / "s.yaml"), "--out", str(root / "study")],
        r"study variant 'typo' \(seed 0\): ssl\.varaint=cm-mnm .*unknown key\(s\) varaint.*"
        r"nothing was pretrained",
    ),
    Case(
        "predict on inputs longer than the classifier was fine-tuned for",
        classifier_and_long_input(),
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
        classifier_and_long_input(report=True),
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
        classifier_and_long_input(),
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
        write_files(),
        lambda root: ["pretrain", "--config", "tinyy", "--out", str(root / "run")],
        r"tinyy",
    ),
    Case(
        "pretrain --force onto a folder of other files",
        write_files(**{"v__notes.txt": "mine"}),
        lambda root: ["pretrain", "--config", "tiny", "--out", str(root / "v"), "--force"],
        r"v is not empty and does not hold a findna pretraining run",
    ),
]
if not torch.cuda.is_available():
    SETTINGS_CASES.append(
        Case(
            "--device cuda without CUDA",
            write_files(**{"a.fa": fasta_text(["r"])}),
            embed_argv("a.fa", "out.npy", "--device", "cuda"),
            r"CUDA is not available",
        )
    )
