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


def _add_prepare(sub: argparse._SubParsersAction) -> None:
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
    g.add_argument(
        "--on-invalid",
        choices=("error", "n"),
        default="error",
        help="characters other than ACGTN/IUPAC/U: stop with an error (default) or read as N",
    )
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


def _add_pretrain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain",
        help="self-distillation pretraining on a genome (CPU, one GPU or DDP)",
        description="Pretrain a FinDNA student/teacher pair. Settings: dataclass defaults (the "
        "paper) <- --config YAML (e.g. configs/pretrain/tiny.yaml) <- --set overrides. The "
        "resolved config is saved as OUT/config.yaml and inside every checkpoint.",
    )
    p.add_argument("--config", help="YAML preset, e.g. configs/pretrain/tiny.yaml")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one setting, e.g. --set optim.lr=1e-3 --set run.devices=2 (repeatable)",
    )
    p.add_argument("--out", help="run directory (same as --set run.out_dir=...)")
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR from checkpoints/last.ckpt with its saved config",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    p.set_defaults(handler=_pretrain)


def _pretrain(args: argparse.Namespace) -> None:
    from findna.config import load_config
    from findna.train.config import PretrainConfig
    from findna.train.pretrain import load_run_config, run_pretrain

    overrides = list(args.overrides) + ([f"run.out_dir={args.out}"] if args.out else [])
    if args.resume:
        if args.config:
            raise ValueError("--resume uses the run's saved config.yaml; drop --config")
        cfg = load_run_config(args.resume, overrides)
    else:
        cfg = load_config(PretrainConfig, args.config, overrides)
    result = run_pretrain(cfg, resume=bool(args.resume), force=args.force)
    print(f"pretraining done: teacher exported to {result.model_dir}")


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="checkpoint -> Hugging Face style directory (config.json + model.safetensors)",
    )
    p.add_argument("checkpoint", help="a .ckpt file, or a run directory (uses final/last)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--which", choices=("teacher", "student"), default="teacher")
    p.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> None:
    from pathlib import Path

    from findna.train.checkpoint import export_checkpoint

    path = Path(args.checkpoint)
    if path.is_dir():
        candidates = [path / "checkpoints" / n for n in ("final.ckpt", "last.ckpt")]
        path = next((c for c in candidates if c.is_file()), candidates[0])
    out = export_checkpoint(path, args.out, args.which)
    print(f"{args.which} exported to {out} (load with FinDNANetwork.from_pretrained)")


def _add_plot_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot-run", help="PNG of a run's training curves (logs/metrics.csv)")
    p.add_argument("run_dir", help="a pretraining run directory")
    p.add_argument("--out", help="PNG path (default RUN_DIR/curves.png)")
    p.set_defaults(handler=_plot_run)


def _plot_run(args: argparse.Namespace) -> None:
    from pathlib import Path

    from findna.eval.plots import plot_run

    out = Path(args.out) if args.out else Path(args.run_dir) / "curves.png"
    plot_run(args.run_dir, out)
    print(f"wrote {out}")


# Subcommands are registered in this order in `findna --help`.
_COMMANDS = [_add_data, _add_prepare, _add_pretrain, _add_export, _add_plot_run]


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


if __name__ == "__main__":
    sys.exit(main())
