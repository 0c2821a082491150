"""Argument groups that several subcommands share."""

from __future__ import annotations

import argparse


def add_overrides(
    p: argparse.ArgumentParser, help: str, flag: str = "--set", dest: str = "overrides"
) -> None:
    """A repeatable ``--set KEY=VALUE`` (or ``flag``) collected into ``args.<dest>``."""
    p.add_argument(
        flag,
        dest=dest,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{help} (repeatable)",
    )


def add_task_run_args(p: argparse.ArgumentParser, name_help: str) -> None:
    """Seeds, task split seed, scratch architecture and report name (probe and finetune)."""
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of random task splits")
    p.add_argument("--scratch-model", help="ModelConfig YAML for --model scratch (default paper)")
    p.add_argument("--name", help=name_help)
