"""``findna embed``, ``probe``, ``plot-embeddings``, ``finetune``, ``predict``, ``benchmark``.

Each ``add_*`` function registers one subcommand; handlers import lazily and hold no logic.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from findna.cli.args import add_overrides, add_task_run_args

if TYPE_CHECKING:  # annotations only; handlers import lazily
    from findna.eval.features import FeatureConfig
    from findna.model.config import ModelConfig


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


def add_embed(sub: argparse._SubParsersAction) -> None:
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


def add_probe(sub: argparse._SubParsersAction) -> None:
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
    add_overrides(p, "override one setting, e.g. --set head=knn --set features.pooling=cls")
    add_task_run_args(p, "model name in the report (default: source name)")
    p.add_argument("--out", default="runs/probe", help="output directory")
    p.add_argument("--cache-dir", help="feature cache (default OUT/features)")
    p.set_defaults(handler=_probe)


def _probe(args: argparse.Namespace) -> None:
    from pathlib import Path

    from findna.config import load_config, parse_seeds
    from findna.data.tasks import load_task
    from findna.eval.probe import ProbeConfig, probe_task

    cfg = load_config(ProbeConfig, args.config, args.overrides)
    seeds = parse_seeds(args.seeds)
    task = load_task(args.task, args.split_seed)
    report = probe_task(
        task, args.model, cfg, seeds, Path(args.out), scratch_config=_scratch_config(args),
        model_name=args.name, progress=True,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
    )  # fmt: skip
    print(report.to_markdown())
    print(f"wrote {args.out}/probe.json and probe.md")


def add_plot_embeddings(sub: argparse._SubParsersAction) -> None:
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


def add_finetune(sub: argparse._SubParsersAction) -> None:
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
    add_overrides(p, "override one setting, e.g. --set lr=1e-3 --set which=student")
    add_task_run_args(p, "model name in the report (default: the weights' id)")
    p.add_argument("--out", default="runs/finetune", help="output directory")
    p.add_argument("--no-save", action="store_true", help="do not save the fine-tuned models")
    p.set_defaults(handler=_finetune)


def _finetune(args: argparse.Namespace) -> None:
    from findna.config import load_config, parse_seeds
    from findna.data.tasks import load_task
    from findna.eval.finetune import FinetuneConfig, finetune_task

    cfg = load_config(FinetuneConfig, args.config, args.overrides)
    seeds = parse_seeds(args.seeds)
    task = load_task(args.task, args.split_seed)
    report = finetune_task(
        task, args.model, cfg, seeds, args.out, scratch_config=_scratch_config(args),
        model_name=args.name, save_models=not args.no_save,
    )  # fmt: skip
    print(report.to_markdown())
    print(f"wrote {args.out}/finetune.json and finetune.md")


def add_predict(sub: argparse._SubParsersAction) -> None:
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


def add_benchmark(sub: argparse._SubParsersAction) -> None:
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
    add_overrides(p, "override one setting, e.g. --set finetune.epochs=5 --set probe.head=knn")
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
