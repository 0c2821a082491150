"""The ``findna`` command line: argparse subcommands that build configs and call entry points.

No logic lives here. Each ``_add_*`` function registers one subcommand and the handler it runs;
handlers import their module lazily so that ``findna --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only; handlers import lazily
    from findna.eval.features import FeatureConfig
    from findna.model.config import ModelConfig


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


def _add_finetune(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune a pretrained (or scratch) model on one task, all weights",
        description="Fine-tune encoder + classification head per seed; the epoch is selected on "
        "validation, the test split is scored once. Settings: FinetuneConfig defaults (the "
        "paper's GUE EMP setting) <- --config YAML (configs/finetune/*.yaml) <- --set. Writes "
        "OUT/finetune.json, OUT/finetune.md and each seed's classifier OUT/seed<k>/ (for "
        "`findna predict`).",
    )
    p.add_argument("--task", required=True, help="a task name (see `findna data list`)")
    p.add_argument(
        "--model", required=True, help="HF model dir, pretraining run dir, .ckpt, or 'scratch'"
    )
    p.add_argument("--config", help="YAML preset, e.g. configs/finetune/paper.yaml")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one setting, e.g. --set lr=1e-3 --set which=student (repeatable)",
    )  # fmt: skip
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of random task splits")
    p.add_argument("--scratch-model", help="ModelConfig YAML for --model scratch (default paper)")
    p.add_argument("--name", help="model name in the report (default: the weights' id)")
    p.add_argument("--out", default="runs/finetune", help="output directory")
    p.add_argument("--no-save", action="store_true", help="do not save the fine-tuned models")
    p.set_defaults(handler=_finetune)


def _finetune(args: argparse.Namespace) -> None:
    from findna.config import load_config
    from findna.data.tasks import load_task
    from findna.eval.finetune import FinetuneConfig, finetune_task
    from findna.model.config import ModelConfig

    cfg = load_config(FinetuneConfig, args.config, args.overrides)
    scratch = load_config(ModelConfig, args.scratch_model) if args.scratch_model else None
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from None
    task = load_task(args.task, args.split_seed)
    report = finetune_task(
        task, args.model, cfg, seeds, args.out, scratch_config=scratch, model_name=args.name,
        save_models=not args.no_save,
    )  # fmt: skip
    print(report.to_markdown())
    print(f"wrote {args.out}/finetune.json and finetune.md")


def _add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="class probabilities of sequences with a fine-tuned model",
        description="Writes a CSV with columns id, prob_0..prob_{C-1}, predicted. INPUT is FASTA, "
        "CSV/TSV (column sequence or seq; id column if present) or one sequence per line.",
    )
    p.add_argument("input", help="FASTA, CSV/TSV or text file of sequences")
    p.add_argument("--model", required=True, help="a directory written by `findna finetune`")
    p.add_argument("--out", required=True, help="output CSV")
    p.add_argument("--batch-size", type=int, default=128, help="sequences per forward pass")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument(
        "--precision", default="auto", choices=("auto", "32-true", "bf16-mixed", "16-mixed")
    )
    p.add_argument("--chunk-size", type=int, default=65536, help="sequences read at a time")
    p.add_argument(
        "--on-invalid", choices=("error", "n"), default="error",
        help="characters outside the DNA alphabet: stop with an error (default) or read as N",
    )  # fmt: skip
    p.set_defaults(handler=_predict)


def _predict(args: argparse.Namespace) -> None:
    from findna.eval.predict import predict_file

    out = predict_file(
        args.model, args.input, args.out, batch_size=args.batch_size, device=args.device,
        precision=args.precision, chunk_size=args.chunk_size, on_invalid=args.on_invalid,
    )  # fmt: skip
    print(f"wrote {out}")


def _add_benchmark(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "benchmark",
        help="probe or fine-tune several models on a suite of tasks, several seeds, resumable",
        description="Runs every (task, model, seed), appending each result to OUT/results.jsonl "
        "(a restarted benchmark skips finished entries), then writes OUT/results.json, "
        "results.md (mean ± std table) and comparison.png. Settings: BenchmarkConfig defaults "
        "<- --config YAML (configs/benchmark/*.yaml) <- --set <- the flags below.",
    )
    p.add_argument("--suite", help="emp, gb, gue, all, toy, nt, dnabert, or task1,task2,...")
    p.add_argument(
        "--models",
        help="comma-separated [NAME=]SOURCE[:student], e.g. "
        "findna=runs/tiny,cm-mnm=runs/tiny_cm_mnm,scratch or teacher=RUN,student=RUN:student",
    )
    p.add_argument("--mode", choices=("probe", "finetune"))
    p.add_argument("--seeds", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--config", help="YAML preset, e.g. configs/benchmark/emp_probe.yaml")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one setting, e.g. --set finetune.epochs=5 --set probe.head=knn",
    )  # fmt: skip
    p.add_argument("--out", help="output directory (default runs/benchmark)")
    p.add_argument("--force", action="store_true", help="discard results already in --out")
    p.set_defaults(handler=_benchmark)


def _benchmark(args: argparse.Namespace) -> None:
    from findna.eval.benchmark import load_benchmark_config, run_benchmark

    cfg = load_benchmark_config(
        args.config, args.overrides, suite=args.suite, models=args.models, mode=args.mode,
        seeds=args.seeds, out_dir=args.out,
    )  # fmt: skip
    report = run_benchmark(cfg, force=args.force)
    print(report.to_markdown())
    print(f"wrote {cfg.out_dir}/results.json, results.md and comparison.png")


def _feature_args(p: argparse.ArgumentParser) -> None:
    """Flags shared by `findna embed` and `findna plot-embeddings` (FeatureConfig fields)."""
    p.add_argument(
        "--pooling", default="masked_mean", choices=("masked_mean", "mean", "cls", "mean+cls"),
        help="token pooling (default masked_mean: mean over real, non-CLS tokens)",
    )  # fmt: skip
    p.add_argument("--n-cls", type=int, default=10, help="CLS rows appended for cls pooling")
    p.add_argument("--rc-average", action="store_true", help="average with the reverse complement")
    p.add_argument("--batch-size", type=int, default=64, help="sequences per forward pass")
    p.add_argument("--precision", default="32", choices=("32", "bf16"))
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--which", default="teacher", choices=("teacher", "student"))
    p.add_argument("--scratch-model", help="ModelConfig YAML for --model scratch (default paper)")


def _feature_config(args: argparse.Namespace) -> FeatureConfig:
    from findna.eval.features import FeatureConfig

    return FeatureConfig(
        pooling=args.pooling, n_cls=args.n_cls, rc_average=args.rc_average,
        batch_size=args.batch_size, precision=args.precision, device=args.device,
    )  # fmt: skip


def _scratch_config(args: argparse.Namespace) -> ModelConfig | None:
    from findna.config import load_config
    from findna.model.config import ModelConfig

    return load_config(ModelConfig, args.scratch_model) if args.scratch_model else None


def _add_embed(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed",
        help="frozen pooled features of every sequence in a file (.npy or .parquet)",
        description="INPUT: FASTA (.fa/.fasta/.fna/.fas), CSV/TSV (column sequence or seq; id "
        "or name column if present) or text with one sequence per line (.txt/.seq); .gz "
        "allowed. OUT.npy gets an (N, D) float32 array plus OUT.ids.txt (one id per line); "
        "OUT.parquet gets columns id, f0..f{D-1}. Streams in chunks (bounded memory).",
    )
    p.add_argument("input", help="FASTA, CSV/TSV or text file of sequences")
    p.add_argument(
        "--model", required=True, help="HF model dir, pretraining run dir, .ckpt, or 'scratch'"
    )
    p.add_argument("--out", required=True, help="output .npy or .parquet")
    _feature_args(p)
    p.add_argument("--chunk-size", type=int, default=4096, help="sequences held in memory")
    p.add_argument("--max-len", type=int, help="rebuild the network for this many tokens")
    p.add_argument("--on-invalid", choices=("error", "n"), default="error")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.set_defaults(handler=_embed)


def _embed(args: argparse.Namespace) -> None:
    from findna.eval.embed import embed_file

    result = embed_file(
        args.input, args.model, args.out, _feature_config(args), which=args.which,
        max_len=args.max_len, chunk_size=args.chunk_size, on_invalid=args.on_invalid,
        scratch_config=_scratch_config(args), force=args.force,
    )  # fmt: skip
    extra = f" (ids in {result.ids})" if result.ids else ""
    print(f"wrote {result.out}: {result.rows} x {result.dim} features{extra}")


def _add_probe(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe",
        help="linear probe (or MLP/kNN) on frozen features of one task, several seeds",
        description="Extracts (and caches) frozen features of the train/val/test splits, trains "
        "one head per learning rate, selects the lr on validation and scores test once. "
        "Settings: ProbeConfig defaults (the paper's: bs 1024, wd 0.1, 50 epochs, 30%% warm-up) "
        "<- --config YAML <- --set. Writes OUT/probe.json, OUT/probe.md, OUT/config.yaml.",
    )
    p.add_argument("--task", required=True, help="a task name (see `findna data list`)")
    p.add_argument(
        "--model", required=True, help="HF model dir, pretraining run dir, .ckpt, or 'scratch'"
    )
    p.add_argument("--config", help="ProbeConfig YAML, e.g. configs/probe/paper.yaml")
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one setting, e.g. --set head=knn --set features.pooling=cls",
    )  # fmt: skip
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of random task splits")
    p.add_argument("--scratch-model", help="ModelConfig YAML for --model scratch (default paper)")
    p.add_argument("--name", help="model name in the report (default: source name)")
    p.add_argument("--out", default="runs/probe", help="output directory")
    p.add_argument("--cache-dir", help="feature cache (default OUT/features)")
    p.set_defaults(handler=_probe)


def _probe(args: argparse.Namespace) -> None:
    from pathlib import Path

    from findna.config import load_config
    from findna.data.tasks import load_task
    from findna.eval.probe import ProbeConfig, probe_task

    cfg = load_config(ProbeConfig, args.config, args.overrides)
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from None
    task = load_task(args.task, args.split_seed)
    report = probe_task(
        task, args.model, cfg, seeds, Path(args.out), scratch_config=_scratch_config(args),
        model_name=args.name, progress=True,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
    )  # fmt: skip
    print(report.to_markdown())
    print(f"wrote {args.out}/probe.json and probe.md")


def _add_plot_embeddings(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot-embeddings",
        help="t-SNE (or PCA) map of a task split's frozen features, coloured by label",
    )
    p.add_argument("--task", required=True, help="a task name (see `findna data list`)")
    p.add_argument(
        "--model", required=True, help="HF model dir, pretraining run dir, .ckpt, or 'scratch'"
    )
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--out", required=True, help="PNG path")
    _feature_args(p)
    p.add_argument("--method", default="tsne", choices=("tsne", "pca"))
    p.add_argument("--max-points", type=int, default=5000, help="stratified subsample above")
    p.add_argument("--split-seed", type=int, default=0, help="seed of random task splits")
    p.add_argument("--num-threads", type=int, help="threads of the projection (1 on busy hosts)")
    p.set_defaults(handler=_plot_embeddings)


def _plot_embeddings(args: argparse.Namespace) -> None:
    from findna.eval.embed import plot_task_embeddings

    out = plot_task_embeddings(
        args.task, args.model, args.out, split=args.split, cfg=_feature_config(args),
        which=args.which, split_seed=args.split_seed, method=args.method,
        max_points=args.max_points, num_threads=args.num_threads,
        scratch_config=_scratch_config(args),
    )  # fmt: skip
    print(f"wrote {out}")


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="speed of a full pretraining step (model) or of plain matmuls (matmul)",
        description="CPU speed benchmarks; see docs/performance.md for measured figures.",
    )
    bsub = p.add_subparsers(dest="bench_command", required=True, metavar="{model,matmul}")
    m = bsub.add_parser(
        "model",
        help="tokens/s, GFLOP/s vs the matmul peak, rotation and view shares of one step",
    )
    m.add_argument("--configs", default="tiny,paper", help="preset names or YAML paths")
    m.add_argument("--dtypes", default="fp32,bf16", help="fp32 (no autocast), bf16, fp16")
    m.add_argument(
        "--batch", type=int, help="windows per step (default: the config's, at most 250 GFLOP)"
    )
    m.add_argument("--steps", type=int, default=3, help="timed steps after --warmup (median)")
    m.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    m.add_argument("--threads", default="all", help="torch threads, e.g. 2 or 2,1 ('all')")
    m.add_argument("--rotation-repeats", type=int, default=3, help="0 skips the rotation share")
    m.add_argument(
        "--max-other-cpu",
        type=float,
        help="before each case wait (<= 3 min) until other processes use fewer cores than this",
    )
    m.add_argument("--json", help="also write every figure and the machine to this JSON file")
    m.set_defaults(handler=_bench_model)
    mm = bsub.add_parser("matmul", help="best-of-N GFLOP/s of large matmuls per dtype")
    mm.add_argument("--dtypes", default="fp32,bf16,fp16")
    mm.add_argument(
        "--shapes",
        default="2048x2048x2048,8080x308x512,8080x512x308,512x8080x308",
        help="MxKxN,... (default: a square GEMM and the paper block's GEMMs at 8x1010 tokens)",
    )
    mm.add_argument("--threads", default="all,1", help="torch threads, e.g. 2,1")
    mm.add_argument("--repeats", type=int, default=5, help="timed calls per case (best counts)")
    mm.add_argument("--min-time", type=float, default=0.5, help="more calls up to these seconds")
    mm.add_argument("--json", help="also write the figures and the machine to this JSON file")
    mm.set_defaults(handler=_bench_matmul)


def _bench_model(args: argparse.Namespace) -> None:
    from findna.eval.bench import bench_model
    from findna.eval.bench_report import render_report

    results, matmul = bench_model(
        configs=[c.strip() for c in args.configs.split(",")],
        dtypes=args.dtypes,
        threads=args.threads,
        batch=args.batch,
        steps=args.steps,
        warmup=args.warmup,
        rotation_repeats=args.rotation_repeats,
        max_other_cpu=args.max_other_cpu,
    )
    print(render_report(results, matmul, args.json))


def _bench_matmul(args: argparse.Namespace) -> None:
    from findna.eval.bench_machine import bench_matmul
    from findna.eval.bench_report import render_report

    matmul = bench_matmul(
        args.shapes, args.dtypes, args.threads, args.repeats, min_total_s=args.min_time
    )
    print(render_report([], matmul, args.json))


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the main job: pretrain tiny FinDNA and CM-MNM, probe them against scratch, report",
        description="End to end on the bundled chrX: pretrain (configs/pretrain/tiny.yaml), the "
        "MNM-only ablation, a linear-probe benchmark on GUE EMP tasks with several seeds, and "
        "OUT/report.md. Rerunning resumes or reuses what is done.",
    )
    p.add_argument("--out", default="runs/demo", help="demo directory (default runs/demo)")
    p.add_argument("--config", default="configs/pretrain/tiny.yaml", help="pretraining preset")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="pretraining override for both runs (repeatable)",
    )
    p.add_argument("--tasks", default="gue/EMP/H3,gue/EMP/H4", help="comma-separated task names")
    p.add_argument("--seeds", default="0,1,2", help="probe seeds (default 0,1,2)")
    p.add_argument(
        "--probe-set",
        dest="probe_overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="benchmark override, e.g. --probe-set probe.epochs=10 (repeatable)",
    )
    p.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> None:
    from findna.eval.demo import run_demo

    result = run_demo(
        args.out,
        pretrain_config=args.config,
        pretrain_overrides=args.overrides,
        tasks=[t.strip() for t in args.tasks.split(",") if t.strip()],
        seeds=[int(s) for s in args.seeds.split(",") if s.strip()],
        probe_overrides=args.probe_overrides,
    )
    print(f"report written to {result.report}")


# Subcommands are registered in this order in `findna --help`.
_COMMANDS = [
    _add_demo,
    _add_data,
    _add_prepare,
    _add_pretrain,
    _add_export,
    _add_plot_run,
    _add_finetune,
    _add_predict,
    _add_benchmark,
    _add_embed,
    _add_probe,
    _add_plot_embeddings,
    _add_bench,
]


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
