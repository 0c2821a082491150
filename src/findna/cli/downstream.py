"""``findna embed``, ``probe``, ``plot-embeddings``, ``finetune``, ``predict``.

Each ``add_*`` function registers one subcommand; handlers import lazily and hold no logic. A
command whose flags set keys of its settings dataclass adds them on first use (``fill_later``),
as that import loads torch.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from findna.cli import args as shared
from findna.cli.setting_flags import SettingFlags

if TYPE_CHECKING:  # annotations only; handlers import lazily
    from findna.cli.settings import EmbedConfig, PlotEmbeddingsConfig, PredictConfig


def _feature_flags(settings: SettingFlags) -> None:
    """Flags of `findna embed` and `findna plot-embeddings`: ``features.*`` and ``which``."""
    settings.add("--pooling", "features.pooling")
    settings.add(
        "--n-cls",
        "features.n_cls",
        type=shared.nonnegative_int,
        metavar="N",
        help="CLS rows appended for cls pooling (default: the run's ssl.n_cls, else 10)",
    )
    settings.add("--rc-average", "features.rc_average")
    settings.add(shared.BATCH_SIZE, "features.batch_size")
    settings.add(shared.PRECISION, "features.precision")
    settings.add(shared.DEVICE, "features.device")
    settings.add("--which", "which")


def add_embed(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed",
        help="frozen pooled features of every sequence in a file (.npy or .parquet)",
        description="INPUT: FASTA (.fa/.fasta/.fna/.fas), CSV/TSV (column sequence or seq; id "
        "or name column if present) or text with one sequence per line (.txt/.seq); .gz "
        "allowed. OUT.npy gets an (N, D) float32 array plus OUT.ids.txt (one id per line); "
        "OUT.parquet gets columns id, f0..f{D-1}. Streams in chunks (bounded memory). "
        "Settings: EmbedConfig defaults <- --config YAML <- --set <- the flags below.",
    )
    p.fill_later(_embed_args)


def _embed_args(p: argparse.ArgumentParser) -> None:
    from findna.cli.settings import EmbedConfig

    p.add_argument("input", help="FASTA, CSV/TSV or text file of sequences")
    shared.add_model_source(p)
    p.add_argument("--out", required=True, help="output .npy or .parquet")
    settings = shared.add_settings(
        p, "embed", None, "features.pooling=cls --set chunk_size=1024", EmbedConfig
    )
    _feature_flags(settings)
    shared.add_scratch_model(p)
    settings.add("--chunk-size", "chunk_size", type=shared.positive_int, metavar="N")
    settings.add(
        "--max-len",
        "max_len",
        type=shared.positive_int,
        metavar="N",
        help="build the network for this many tokens (default: for the inputs, the longest "
        "sequence plus the CLS rows, as probe does; blocks beyond pretraining start untrained, "
        "with a warning)",
    )
    settings.add(shared.ON_INVALID, "on_invalid")
    p.add_argument(
        "--per-token",
        action="store_true",
        help="each token's hidden state instead of pooled features: a .parquet row per token "
        "(id, position, f0..)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.set_defaults(handler=_embed)


def embed_settings(args: argparse.Namespace) -> EmbedConfig:
    """The resolved settings of `findna embed`."""
    from findna.cli.settings import EmbedConfig

    return shared.load_settings(EmbedConfig, "embed", args)


def _embed(args: argparse.Namespace) -> None:
    from findna.eval.embed import embed_file

    cfg = embed_settings(args)
    result = embed_file(
        args.input,
        args.model,
        args.out,
        cfg.features,
        which=cfg.which,
        max_len=cfg.max_len,
        length_mode=cfg.length_mode,
        chunk_size=cfg.chunk_size,
        on_invalid=cfg.on_invalid,
        scratch_config=shared.scratch_config(args),
        force=args.force,
        per_token=args.per_token,
    )
    extra = f" (ids in {result.ids})" if result.ids else ""
    rows = f"{result.rows} token rows" if args.per_token else str(result.rows)
    print(f"wrote {result.out}: {rows} x {result.dim} features{extra}")


def add_probe(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe",
        help="linear probe (or MLP/kNN) on frozen features of one task, several seeds",
        description="Extracts (and caches) frozen features of the train/val/test splits, trains "
        "one head per learning rate, selects the lr on validation and scores test once. "
        "Settings: ProbeConfig defaults (the paper's; findna config show probe lists them) "
        "<- --config YAML <- --set. Writes OUT/probe.json, OUT/probe.md, OUT/config.yaml.",
    )
    shared.add_task(p)
    shared.add_model_source(p)
    shared.add_settings(p, "probe", "paper or knn", "head=knn --set features.pooling=cls")
    shared.add_task_run_args(p, "model name in the report (default: source name)")
    shared.add_report_out(p, "runs/probe")
    p.add_argument("--cache-dir", help="feature cache (default OUT/features)")
    p.set_defaults(handler=_probe)


def _probe(args: argparse.Namespace) -> None:
    from pathlib import Path

    from findna.data.tasks import load_task
    from findna.eval.probe import ProbeConfig, probe_task

    cfg = shared.load_settings(ProbeConfig, "probe", args)
    seeds = shared.seeds(args)
    task = load_task(shared.task_spec(args), args.split_seed, on_invalid=args.on_invalid)
    shared.check_report_out(args, "probe")
    report = probe_task(
        task,
        args.model,
        cfg,
        seeds,
        Path(args.out),
        scratch_config=shared.scratch_config(args),
        model_name=args.name,
        progress=True,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        force=args.force,
    )
    print(report.to_markdown())
    print(f"wrote {args.out}/probe.json, probe.md, probe.csv and predictions/")


def add_plot_embeddings(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot-embeddings",
        help="t-SNE (or PCA) map of a task split's frozen features, coloured by label (or a "
        "regression target's value, a multi-label label's 0/1)",
        description="Settings: PlotEmbeddingsConfig defaults <- --config YAML <- --set <- the "
        "flags below.",
    )
    p.fill_later(_plot_embeddings_args)


def _plot_embeddings_args(p: argparse.ArgumentParser) -> None:
    from findna.cli.settings import PlotEmbeddingsConfig

    shared.add_task(p)
    shared.add_model_source(p)
    p.add_argument("--out", required=True, help="figure path: .png, .pdf or .svg")
    settings = shared.add_settings(
        p, "plot-embeddings", None, "method=pca --set features.pooling=cls", PlotEmbeddingsConfig
    )
    settings.add("--split", "split")
    _feature_flags(settings)
    shared.add_scratch_model(p)
    settings.add("--method", "method")
    settings.add("--max-points", "max_points", type=shared.positive_int, metavar="N")
    shared.add_split_seed(p)
    settings.add("--num-threads", "num_threads", type=shared.positive_int, metavar="N")
    settings.add("--target", "target", metavar="NAME")
    p.set_defaults(handler=_plot_embeddings)


def plot_embeddings_settings(args: argparse.Namespace) -> PlotEmbeddingsConfig:
    """The resolved settings of `findna plot-embeddings`."""
    from findna.cli.settings import PlotEmbeddingsConfig

    return shared.load_settings(PlotEmbeddingsConfig, "plot-embeddings", args)


def _plot_embeddings(args: argparse.Namespace) -> None:
    from findna.eval.embed import plot_task_embeddings

    cfg = plot_embeddings_settings(args)
    out = plot_task_embeddings(
        shared.task_spec(args),
        args.model,
        args.out,
        split=cfg.split,
        cfg=cfg.features,
        which=cfg.which,
        split_seed=args.split_seed,
        method=cfg.method,
        max_points=cfg.max_points,
        num_threads=cfg.num_threads,
        scratch_config=shared.scratch_config(args),
        on_invalid=args.on_invalid,
        target=cfg.target,
    )
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
    shared.add_task(p)
    shared.add_model_source(p)
    shared.add_settings(p, "finetune", "tiny or paper", "lr=1e-3 --set which=student")
    shared.add_task_run_args(p, "model name in the report (default: the weights' id)")
    shared.add_report_out(p, "runs/finetune")
    p.add_argument("--no-save", action="store_true", help="do not save the fine-tuned models")
    p.set_defaults(handler=_finetune)


def _finetune(args: argparse.Namespace) -> None:
    from findna.data.tasks import load_task
    from findna.eval.finetune import FinetuneConfig
    from findna.eval.finetune_methods import finetune_task_of_type

    cfg = shared.load_settings(FinetuneConfig, "finetune", args)
    seeds = shared.seeds(args)
    task = load_task(shared.task_spec(args), args.split_seed, on_invalid=args.on_invalid)
    shared.check_report_out(args, "finetune")
    report = finetune_task_of_type(  # a per-base task: eval/per_base_finetune.py
        task,
        args.model,
        cfg,
        seeds,
        args.out,
        scratch_config=shared.scratch_config(args),
        model_name=args.name,
        save_models=not args.no_save,
        progress=True,
        force=args.force,
    )
    print(report.to_markdown())
    print(f"wrote {args.out}/finetune.json, finetune.md, finetune.csv and predictions/")


def add_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="class probabilities, values or labels of sequences with a fine-tuned model",
        description="Writes a CSV with columns id, prob_<class> per class, predicted (class "
        "index), predicted_label (class name), and OUT.meta.json (what made it); a regression "
        "model writes pred_<target> per target (in the targets' units), a multi-label model "
        "prob_<label> per label and predicted_labels (;-separated, probability >= --threshold, "
        "0.5), a per-base model predicted_labels (a class character per base; per-base "
        "probabilities with --per-base-probs FILE.npy). INPUT is FASTA, "
        "CSV/TSV (column sequence or seq; id column if present) or one sequence per line. A "
        "table's label column is kept and scored (OUT.metrics.json; per split too when a split "
        "column holds train/val rows). MODEL is one seed's "
        "classifier (OUT/seed<k>/ of `findna finetune`); inputs longer than it was fine-tuned "
        "for are refused unless --allow-longer. "
        "Settings: PredictConfig defaults <- --config YAML <- --set <- the flags below.",
    )
    p.fill_later(_predict_args)


def _predict_args(p: argparse.ArgumentParser) -> None:
    from findna.cli.settings import PredictConfig

    p.add_argument("input", help="FASTA, CSV/TSV or text file of sequences")
    p.add_argument(
        "--model",
        required=True,
        help="a classifier written by `findna finetune`: one seed's folder, OUT/seed<k>",
    )
    p.add_argument("--out", required=True, help="output CSV")
    settings = shared.add_settings(p, "predict", None, "batch_size=256", PredictConfig)
    settings.add(shared.BATCH_SIZE, "batch_size")
    settings.add(shared.DEVICE, "device")
    settings.add(shared.PRECISION, "precision")
    settings.add("--chunk-size", "chunk_size", type=shared.positive_int, metavar="N")
    settings.add(shared.ON_INVALID, "on_invalid")
    settings.add(
        "--allow-longer",
        "allow_longer",
        help="score inputs longer than the classifier was fine-tuned for (refused without it): "
        "its head was selected on shorter inputs, and the encoder is rebuilt for them with "
        "untrained blocks where they need more",
    )
    settings.add("--label-column", "label_column", metavar="NAME")
    settings.add("--sequence-column", "sequence_column", metavar="NAME")
    settings.add("--split-column", "split_column", metavar="NAME")
    settings.add("--threshold", "threshold", type=float, metavar="P")
    p.add_argument(
        "--per-base-probs",
        metavar="FILE.npy",
        help="per-base models: every base's class probabilities, a (bases, classes) float32 "
        "array, sequences in input order (docs/api.md)",
    )
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(handler=_predict)


def predict_settings(args: argparse.Namespace) -> PredictConfig:
    """The resolved settings of `findna predict`."""
    from findna.cli.settings import PredictConfig

    return shared.load_settings(PredictConfig, "predict", args)


def _predict(args: argparse.Namespace) -> None:
    import dataclasses

    from findna.eval.predict import metrics_path, predict_file

    cfg = predict_settings(args)
    result = predict_file(
        args.model,
        args.input,
        args.out,
        **dataclasses.asdict(cfg),
        per_base_probs_path=args.per_base_probs,
        force=args.force,
    )
    print(f"wrote {result.out}: {result.rows} predictions")
    if result.metrics is not None:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
        print(f"against the input's labels: {shown} (in {metrics_path(result.out)})")
    for name, scored in (result.per_split or {}).items():
        shown = ", ".join(f"{k} {v:.4f}" for k, v in scored["metrics"].items())
        print(f"  split {name} ({scored['rows']} rows): {shown}")
