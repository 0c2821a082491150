"""The ``findna`` command line: argparse subcommands that build configs and call entry points.

No logic lives here. Each area of the package has a module of ``add_*`` functions that register
one subcommand each and the handler it runs; handlers import lazily so that ``findna --help``
stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from findna.cli import bench, config_show, data, downstream, study, train, variants
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
    downstream.add_benchmark,
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
    return 0
