"""Fine-tuning (paper Tables 2 and 3): the whole encoder plus a classification head, per task.

``run_finetune(task, source, cfg, seed)`` builds the encoder from a model source (HF directory,
pretraining run, ``.ckpt`` or ``"scratch"``; ``findna.model.loading``), adds a pooling and a
``ClassificationHead`` (:class:`findna.eval.predict.SequenceClassifier`) and trains every weight
with AdamW, a per-batch cosine schedule with linear warm-up and gradient clipping (docs/method.md
§5.1).

- **Inputs longer than pretraining**: the encoder is rebuilt for the task's ``max_len`` (longest
  sequence + CLS rows), ``ceil(log2 max_len)`` blocks per layer; pretrained blocks load by name,
  the extra blocks of a longer task (4776 bp: 13 per layer versus 10) start fresh and seeded, as
  in the reference. The reference's per-task ``track_size``/``n_layers``/dropouts (docs/method.md
  §5.6) are applied by rebuilding and copying the weights by name (the rotation has no parameters).
- **Variable lengths** use the length-aware rotation and masked-mean pooling (docs/method.md §7 row
  18), so padding never enters a representation; ``fixed``/``mean`` reproduce the reference.
- **Selection on validation only**: the validation split is scored after every epoch with the
  task's primary metric, the best epoch's weights are kept in memory, and the test split is
  evaluated ONCE with them.
- **A plain loop, not Lightning's Trainer**: a benchmark runs hundreds of short fits; the loop
  keeps the best weights in memory, writes no checkpoints, seeds dropout and shuffling without
  consuming the caller's RNG, and has no per-fit Trainer start-up. Device and precision are
  chosen by name.

Defaults: the paper's GUE EMP setting (batch 32, lr 5e-4, 20 epochs, 30% warm-up, dropout 0.1,
wd 0.1). Named presets: ``configs/finetune/*.yaml`` (:func:`finetune_preset`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import LambdaLR
from tqdm.auto import tqdm

from findna.config import config_to_dict, dump_config
from findna.data.splits import check_splits, split_sizes
from findna.data.tasks import TaskData, task_max_len
from findna.devices import resolve_device
from findna.eval.finetune_config import FinetuneConfig, finetune_preset, preset_settings
from findna.eval.metrics import compute_metrics
from findna.eval.predict import autocast, predict_proba
from findna.eval.report import (
    BenchmarkReport,
    SeedResult,
    write_seed_results,
    write_task_report,
)
from findna.model.classifier import (
    ClassifierInfo,
    SequenceClassifier,
    batch_tensors,
    save_classifier,
)
from findna.model.config import ModelConfig
from findna.model.inputs import encode_sequences
from findna.model.loading import default_model_name, load_encoder
from findna.model.network import FinDNANetwork, load_pretrained_backbone_
from findna.ssl.schedules import cosine_with_warmup

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    """The selected epoch (1-based), its validation metrics and weights (CPU copies), and one
    ``{epoch, train_loss, val_<metric>}`` dict per epoch."""

    best_epoch: int
    val_metrics: dict[str, float]
    state: dict[str, torch.Tensor]
    history: list[dict[str, float]] = field(default_factory=list)


def fit_classifier(
    model: SequenceClassifier,
    train: tuple[Sequence[np.ndarray], np.ndarray],
    val: tuple[Sequence[np.ndarray], np.ndarray],
    cfg: FinetuneConfig,
    *,
    metric: str,
    seed: int,
    device: torch.device,
    progress: bool = False,
    log_dir: Path | None = None,
) -> FitResult:
    """Train every weight of ``model`` on ``train``; select the epoch on ``val``.

    The caller seeds weight initialisation and dropout; ``seed`` drives the shuffling.
    ``progress`` shows a bar over all steps (with ETA, loss and the last validation score);
    ``log_dir`` receives each epoch's metrics as ``metrics.csv`` and TensorBoard events
    (``tensorboard/``), through Lightning's loggers, as pretraining writes them.

    Args:
        model: the classifier, already on ``device``.
        train, val: (codes, labels): N arrays of (L_i,) uint8 codes and (N,) int64 labels.
        cfg: optimisation settings.
        metric: the primary metric that selects the epoch (higher is better).
        seed: seed of the shuffling generator.
        device: where ``model`` lives.

    Raises:
        FloatingPointError: the training loss became non-finite.
    """
    codes, labels = train
    n = len(codes)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = LambdaLR(opt, lambda s: cosine_with_warmup(s, total, cfg.warmup_frac, cfg.num_cycles))
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.precision == "16-mixed")
    gen = torch.Generator().manual_seed(seed)
    y_all = torch.as_tensor(labels, dtype=torch.long)
    best: FitResult | None = None
    history: list[dict[str, float]] = []
    loggers = _epoch_loggers(log_dir)
    bar = tqdm(total=total, desc=f"fine-tune seed {seed}", unit="step", disable=not progress)
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=gen).numpy()
        loss_sum = 0.0
        for start in range(0, n, cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            x, lengths = batch_tensors(model, [codes[i] for i in idx])
            with autocast(device, cfg.precision):
                logits = model(x.to(device), lengths.to(device))
            loss = F.cross_entropy(logits.float(), y_all[idx].to(device))
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"fine-tuning loss is {loss.item()} at epoch {epoch}; lower finetune.lr "
                    "or use precision 32-true"
                )
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip > 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            loss_sum += loss.item() * len(idx)
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}", refresh=False)
        probs = predict_proba(
            model, val[0], batch_size=cfg.eval_batch_size, device=device, precision=cfg.precision
        )
        val_metrics = compute_metrics(val[1], probs)
        score = val_metrics[metric]
        history.append({"epoch": epoch, "train_loss": loss_sum / n, f"val_{metric}": score})
        log.info("epoch %d: train loss %.4f, val %s %.4f", epoch, loss_sum / n, metric, score)
        bar.set_postfix(
            epoch=epoch, loss=f"{loss_sum / n:.3f}", **{f"val_{metric}": f"{score:.3f}"}
        )
        for logger in loggers:
            scores = {f"val/{k}": v for k, v in val_metrics.items()}
            logger.log_metrics({"train/loss": loss_sum / n, "epoch": epoch, **scores}, step=epoch)
        improved = best is None or (not math.isnan(score) and score > best.val_metrics[metric])
        if cfg.selection == "last" or improved:
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best = FitResult(epoch, val_metrics, state)
    bar.close()
    for logger in loggers:
        logger.finalize("success")
    assert best is not None
    best.history = history
    return best


def _epoch_loggers(log_dir: Path | None) -> list[Any]:
    if log_dir is None:
        return []
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    log_dir = Path(log_dir)
    return [
        CSVLogger(log_dir.parent, name=log_dir.name, version=""),
        TensorBoardLogger(log_dir, name="tensorboard", version=""),
    ]


def adapt_encoder(encoder: FinDNANetwork, cfg: FinetuneConfig) -> FinDNANetwork:
    """The encoder rebuilt with the fine-tuning dropout, track size and layer count.

    Weights are copied by name (``load_pretrained_backbone_``); the width is kept. Call it under
    a seeded RNG: layers beyond the pretrained count start fresh.
    """
    old = encoder.config
    new = replace(
        old,
        d_model=old.width,
        mlp_dropout=cfg.mlp_dropout,
        layer_dropout=cfg.layer_dropout,
        track_size=cfg.track_size or old.track_size,
        n_layers=cfg.n_layers or old.n_layers,
    )
    if new == replace(old, d_model=old.width):
        return encoder
    rebuilt = FinDNANetwork(new)
    load_pretrained_backbone_(rebuilt, encoder.state_dict(), include_head=True)
    return rebuilt


_REPORTED = (
    "which", "pooling", "lr", "batch_size", "epochs", "weight_decay", "warmup_frac",
    "mlp_dropout", "layer_dropout", "track_size", "n_layers", "length_mode", "selection",
)  # fmt: skip
"""Settings copied into ``SeedResult.hyperparameters`` (the rest is in the saved config)."""


def run_finetune(
    task: TaskData,
    source: str | Path,
    cfg: FinetuneConfig,
    seed: int,
    *,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    save_dir: str | Path | None = None,
    progress: bool = False,
    log_dir: str | Path | None = None,
) -> SeedResult:
    """Fine-tune ``source`` on ``task`` with one seed; evaluate the selected model on test once.

    Args:
        task: the task's train/val/test splits (``findna.data.tasks.load_task``).
        source: an HF model dir, a pretraining run dir, a ``.ckpt`` file or ``"scratch"``.
        cfg: the fine-tuning settings.
        seed: seeds the head, fresh blocks (all of them for scratch), dropout and shuffling;
            the global RNG state is restored afterwards.
        scratch_config: the architecture of ``"scratch"`` (default: the paper's network).
        model_name: the name in reports (default: the run directory's name, or ``scratch``).
        save_dir: if given, the selected classifier is saved there (see ``findna predict``).
        progress, log_dir: a progress bar, and per-epoch metrics files (see fit_classifier).

    Returns:
        A ``SeedResult`` (mode ``finetune``) with the selected epoch's validation metrics, the
        test metrics, the settings and the best epoch, and timings.
    """
    t0 = time.perf_counter()
    check_splits(task.spec.name, task.splits())
    spec = task.spec
    cfg = cfg.for_source(source, cfg.which)
    device = resolve_device(cfg.device)
    max_len = task_max_len(task, cfg.cls_tokens, cfg.max_len)
    data = {
        name: (encode_sequences(part.seqs, f"task {spec.name} {name}"), part.labels)
        for name, part in task.splits().items()
    }
    cuda = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        encoder, model_id = load_encoder(
            source, which=cfg.which, max_len=max_len, length_mode=cfg.length_mode, seed=seed,
            scratch_config=scratch_config,
        )  # fmt: skip
        encoder = adapt_encoder(encoder, cfg)
        model = SequenceClassifier(
            encoder, spec.num_classes, cfg.pooling, cfg.cls_tokens, cfg.head, cfg.head_hidden
        ).to(device)
        fit = fit_classifier(
            model, data["train"], data["val"], cfg, metric=spec.metric, seed=seed, device=device,
            progress=progress, log_dir=Path(log_dir) if log_dir is not None else None,
        )  # fmt: skip
    t_train = time.perf_counter()
    model.load_state_dict(fit.state)
    test_probs = predict_proba(
        model, data["test"][0], batch_size=cfg.eval_batch_size, device=device,
        precision=cfg.precision,
    )  # fmt: skip
    test_metrics = compute_metrics(data["test"][1], test_probs)
    t_test = time.perf_counter()
    if save_dir is not None:
        classes = list(spec.classes) if spec.classes else [str(c) for c in range(spec.num_classes)]
        info = ClassifierInfo(
            task=spec.name, num_classes=spec.num_classes, classes=classes, pooling=cfg.pooling,
            n_cls=cfg.cls_tokens, max_len=max_len, metric=spec.metric, head_kind=cfg.head,
            head_hidden=cfg.head_hidden, source_model=model_id, seed=seed,
        )  # fmt: skip
        save_classifier(model.to("cpu"), info, save_dir)
    settings = {k: getattr(cfg, k) for k in _REPORTED}
    return SeedResult(
        task=spec.name,
        model=model_name or default_model_name(source),
        mode="finetune",
        split_sizes=split_sizes(task.splits()),
        seed=seed,
        primary_metric=spec.metric,
        val_metrics=fit.val_metrics,
        test_metrics=test_metrics,
        hyperparameters={
            **settings,
            "best_epoch": fit.best_epoch,
            "max_len": max_len,
            "model_id": model_id,
            "split_seed": task.seed,
        },  # fmt: skip
        timings={"train_s": t_train - t0, "test_s": t_test - t_train},
    )


def finetune_task(
    task: TaskData,
    source: str | Path,
    cfg: FinetuneConfig,
    seeds: Sequence[int],
    out_dir: str | Path,
    *,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    save_models: bool = True,
    progress: bool = False,
) -> BenchmarkReport:
    """``run_finetune`` per seed (``findna finetune``): writes ``out_dir/config.yaml``,
    ``finetune.json``/``.md`` (a ``BenchmarkReport``), each seed's classifier ``seed<k>/`` and
    its per-epoch metrics ``logs/seed<k>/metrics.csv`` (+ ``tensorboard/``).

    Each finished seed is also written to ``finetune_seeds.json`` at once (results only), so a
    later failure, e.g. while collecting provenance, never loses finished runs."""

    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and non-empty, got {list(seeds)}")
    check_splits(task.spec.name, task.splits())  # before anything is written
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(cfg, out / "config.yaml")
    results: list[SeedResult] = []
    for seed in seeds:
        results.append(
            run_finetune(task, source, cfg, seed, scratch_config=scratch_config,
                         model_name=model_name, progress=progress,
                         log_dir=out / "logs" / f"seed{seed}",
                         save_dir=out / f"seed{seed}" if save_models else None)
        )  # fmt: skip
        write_seed_results(results, out / "finetune_seeds.json")
    return write_task_report(
        results,
        task,
        source,
        cfg.which,
        {"finetune": config_to_dict(cfg)},
        out,
        "finetune",
        scratch_config,
    )


__all__ = [
    "FinetuneConfig",
    "FitResult",
    "finetune_preset",
    "preset_settings",
    "adapt_encoder",
    "finetune_task",
    "fit_classifier",
    "run_finetune",
]
