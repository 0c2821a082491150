"""``findna data`` and ``findna prepare``: what data exists, and encoding genomes once.

Each ``add_*`` function registers one subcommand; handlers import lazily and hold no logic.
"""

from __future__ import annotations

import argparse

from findna.cli.args import add_on_invalid, add_split_seed, add_task_columns, task_options


def add_data(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="list and describe the genomes and benchmark tasks")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="{list,info}")
    ls = dsub.add_parser("list", help="every genome and registered task under the data root")
    ls.set_defaults(handler=_data_list)
    info = dsub.add_parser("info", help="counts, lengths and class balance of one task or genome")
    info.add_argument(
        "name",
        help="a task name (see `findna data list`), the path of your own task (a folder, a "
        "table, a BED with --reference, or a task YAML), or a genome file name",
    )
    add_task_columns(info)
    add_split_seed(info)
    info.set_defaults(handler=_data_info)


def _data_list(args: argparse.Namespace) -> None:
    from findna.data.catalog import format_listing

    print(format_listing())


def _data_info(args: argparse.Namespace) -> None:
    from findna.data.catalog import format_info

    print(format_info(args.name, seed=args.split_seed, options=task_options(args)))


def add_prepare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare", help="encode inputs once into fast memory-mapped files")
    psub = p.add_subparsers(dest="prepare_command", required=True, metavar="{genome}")
    g = psub.add_parser(
        "genome",
        help="FASTA files (plain/gzip/bgzip) -> codes.u8 + softmask.bits + index.json",
        description="Encode FASTA records into one memory-mapped uint8 code array with an "
        "index (N runs, soft-mask, GC, checksums). Rerunning with the same inputs does nothing.",
    )
    g.add_argument("fasta", nargs="+", help="FASTA file(s); records are concatenated in order")
    g.add_argument("--out", required=True, help="output directory (created atomically)")
    g.add_argument("--force", action="store_true", help="replace an existing different output")
    add_on_invalid(g, "error")
    g.set_defaults(handler=_prepare_genome)


def _prepare_genome(args: argparse.Namespace) -> None:
    from findna.data.genome import prepare_genome

    result = prepare_genome(args.fasta, args.out, force=args.force, on_invalid=args.on_invalid)
    t = result.genome.index["totals"]
    state = "up to date, nothing to do" if result.skipped else f"done in {result.seconds:.1f} s"
    print(
        f"{args.out}: {t['records']} record(s), {t['length']:,} bp, N {t['n_fraction']:.2%}, "
        f"soft-masked {t['softmask_fraction']:.2%}, GC {t['gc_fraction']:.1%} ({state})"
    )
