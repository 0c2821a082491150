"""The ``findna`` command line: argparse subcommands that build configs and call entry points.

No logic lives here. Each ``_add_*`` function registers one subcommand and the handler it runs;
handlers import their module lazily so that ``findna --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def _add_data(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list and describe the genomes and benchmark tasks")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="{list,info}")
    ls = dsub.add_parser("list", help="every genome and registered task under the data root")
    ls.set_defaults(handler=_data_list)
    info = dsub.add_parser("info", help="counts, lengths and class balance of one task or genome")
    info.add_argument("name", help="a task name (see `findna data list`) or a genome file name")
    info.set_defaults(handler=_data_info)


def _data_list(args: argparse.Namespace) -> None:
    from findna.data.catalog import format_listing

    print(format_listing())


def _data_info(args: argparse.Namespace) -> None:
    from findna.data.catalog import format_info

    print(format_info(args.name))


# Subcommands are registered in this order in `findna --help`.
_COMMANDS = [_add_data]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="findna",
        description="FinDNA: self-distillation pretraining of DNA sequence models.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
    try:
        args.handler(args)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        # User errors: one clear line, no traceback (use -v for the traceback).
        if args.verbose:
            raise
        print(f"findna: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
