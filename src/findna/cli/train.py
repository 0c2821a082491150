"""``findna pretrain``, ``export``, ``plot-run`` and ``demo``: pretraining runs and the main job.

Each ``add_*`` function registers one subcommand; handlers import lazily and hold no logic.
"""

from __future__ import annotations

import argparse

from findna.cli import args as shared


def add_pretrain(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pretrain",
        help="self-distillation pretraining on a genome (CPU, one GPU or DDP)",
        description="Pretrain a FinDNA student/teacher pair. Settings: dataclass defaults (the "
        "paper) <- --config (a shipped preset such as tiny, or a YAML file) <- --set overrides. "
        "The resolved config is saved as OUT/config.yaml and inside every checkpoint.",
    )
    p.fill_later(_pretrain_args)


def _pretrain_args(p: argparse.ArgumentParser) -> None:
    from findna.train.config import PretrainConfig

    settings = shared.add_settings(
        p, "pretrain", "tiny, small or paper", "optim.lr=1e-3 --set run.devices=2", PretrainConfig
    )
    settings.add("--out", "run.out_dir", help="run directory")
    p.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR with its saved config, from its newest valid "
        "checkpoint (last.ckpt, else the newest step-N.ckpt); the logs so far are kept",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    p.set_defaults(handler=_pretrain)


def _pretrain(args: argparse.Namespace) -> None:
    from findna.train.config import PretrainConfig
    from findna.train.pretrain import load_run_config, run_pretrain

    if args.resume:
        if args.config:
            raise ValueError("--resume uses the run's saved config.yaml; drop --config")
        out_set = [o for o in args.overrides if o.replace(" ", "").startswith("run.out_dir=")]
        if args.out or out_set:
            flag = f"--out {args.out}" if args.out else f"--set {out_set[0]}"
            raise ValueError(
                f"--resume continues the run in {args.resume} itself; drop {flag} "
                "(to start a new run elsewhere, use --out without --resume)"
            )
        cfg = load_run_config(args.resume, args.overrides)
    else:
        cfg = shared.load_settings(PretrainConfig, "pretrain", args)
    result = run_pretrain(cfg, resume=bool(args.resume), force=args.force)
    point = result.resumed_from
    resumed = f" (resumed from {point.path} at step {point.step})" if point else ""
    print(f"pretraining done{resumed}: teacher exported to {result.model_dir}")


def add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="checkpoint -> Hugging Face style directory (config.json + model.safetensors)",
    )
    p.add_argument("checkpoint", help="a .ckpt file, or a run directory (uses final/last)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--which", choices=("teacher", "student"), default="teacher")
    p.add_argument("--force", action="store_true", help="replace an existing export in --out")
    p.set_defaults(handler=_export)


def _export(args: argparse.Namespace) -> None:
    from pathlib import Path

    from findna.model.loading import run_checkpoint
    from findna.train.checkpoint import export_checkpoint

    path = Path(args.checkpoint)
    if path.is_dir():
        path = run_checkpoint(path) or path / "checkpoints" / "final.ckpt"
    out = export_checkpoint(path, args.out, args.which, force=args.force)
    print(f"{args.which} exported to {out} (load with FinDNANetwork.from_pretrained)")


def add_plot_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot-run", help="figure of a run's training curves (logs/metrics.csv)")
    p.add_argument("run_dir", help="a pretraining run directory")
    p.add_argument("--out", help="figure path, .png, .pdf or .svg (default RUN_DIR/curves.png)")
    p.set_defaults(handler=_plot_run)


def _plot_run(args: argparse.Namespace) -> None:
    from pathlib import Path

    from findna.train.curves import plot_run

    out = Path(args.out) if args.out else Path(args.run_dir) / "curves.png"
    plot_run(args.run_dir, out)
    print(f"wrote {out}")


def add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: pretrain three tiny objectives, probe them against scratch, report",
        description="End to end on the bundled chrX: pretrain (the tiny preset) the paper's "
        "objective, the best self-distillation variant of the studies and the MNM-only "
        "ablation, a linear-probe benchmark on GUE EMP tasks with several seeds, and "
        "OUT/report.md. Rerunning resumes or reuses what is done.",
    )
    p.add_argument("--out", default="runs/demo", help="demo directory (default runs/demo)")
    shared.add_config(p, "pretrain", "tiny or small", default="tiny")
    shared.add_overrides(p, "pretraining override for every run")
    p.add_argument("--tasks", default="gue/EMP/H3,gue/EMP/H4", help="comma-separated task names")
    shared.add_seeds(p, "0,1,2", "probe seeds, comma-separated (default 0,1,2)")
    shared.add_overrides(
        p,
        "benchmark override, e.g. --probe-set probe.epochs=10",
        "--probe-set",
        "probe_overrides",
    )
    p.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> None:
    from findna.workflows.demo import run_demo

    seeds = shared.seeds(args)
    result = run_demo(
        args.out,
        pretrain_config=args.config,
        pretrain_overrides=args.overrides,
        tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
        seeds=seeds,
        probe_overrides=args.probe_overrides,
    )
    print(f"report written to {result.report}")
