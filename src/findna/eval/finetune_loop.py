"""The fine-tuning loop: every weight trained, the epoch selected on validation.

A plain loop, not Lightning's Trainer: a benchmark runs hundreds of short fits; the loop keeps the
best weights in memory, writes no checkpoints, seeds shuffling without consuming the caller's RNG,
and has no per-fit Trainer start-up. Metrics (per epoch in ``metrics.csv``, per step in
TensorBoard) and the settings go through Lightning's loggers (:mod:`findna.eval.finetune_logs`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR
from tqdm.auto import tqdm

from findna.eval.finetune_config import FinetuneConfig
from findna.eval.finetune_logs import FitLogs, fit_hyperparameters
from findna.eval.predict import autocast, predict_proba
from findna.eval.regression import Standardiser
from findna.eval.task_types import KINDS, TaskKind
from findna.model.classifier import SequenceClassifier, batch_tensors
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
    kind: TaskKind = KINDS["classification"],
    scaling: Standardiser | None = None,
    names: Sequence[str] | None = None,
) -> FitResult:
    """Train every weight of ``model`` on ``train``; select the epoch on ``val``.

    The caller seeds weight initialisation and dropout; ``seed`` drives the shuffling.
    ``progress`` shows a bar over all steps (with ETA, loss and the last validation score);
    ``log_dir`` receives each epoch's metrics as ``metrics.csv`` and, in TensorBoard events
    (``tensorboard/``), each step's loss and learning rate, each epoch's metrics and the settings
    as hyperparameters, through Lightning's loggers (:mod:`findna.eval.finetune_logs`).

    Args:
        model: the classifier, already on ``device``.
        train, val: (codes, labels): N arrays of (L_i,) uint8 codes and (N,) int64 labels.
        cfg: optimisation settings.
        metric: the primary metric that selects the epoch (higher is better).
        seed: seed of the shuffling generator.
        device: where ``model`` lives.
        kind: the task type (:mod:`findna.eval.task_types`): what the loss sees and which loss
            it is, how outputs become predictions and which metrics score them (classification:
            class labels, cross-entropy, softmax; regression: (N, T) values, MSE on the
            standardised targets, validation scores the un-standardised predictions;
            multi-label: (N, L) 0/1 labels, BCE with logits, sigmoids).
        scaling: the type's train-fitted scaling (regression: ``kind.fit_scaling``), or None.
        names: the targets' or labels' names for the per-output metrics.

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
    y_all = torch.tensor(kind.train_targets(labels, scaling))  # a copy: labels are read-only
    best: FitResult | None = None
    history: list[dict[str, float]] = []
    hyper = fit_hyperparameters(
        cfg, seed=seed, metric=metric, n_train=n, steps_per_epoch=steps_per_epoch
    )
    logs = FitLogs(log_dir, hyper)  # nothing written without log_dir
    step = 0
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
            loss = kind.loss(logits.float(), y_all[idx].to(device))
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"fine-tuning loss is {loss.item()} at epoch {epoch}; lower finetune.lr "
                    "or use precision 32-true"
                )
            lr = opt.param_groups[0]["lr"]  # the rate this step uses
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip > 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            step_loss = loss.item()
            loss_sum += step_loss * len(idx)
            step += 1
            logs.step(step, step_loss, lr)
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{step_loss:.3f}", refresh=False)
        probs = predict_proba(
            model,
            val[0],
            batch_size=cfg.eval_batch_size,
            device=device,
            precision=cfg.precision,
            raw=kind.raw_outputs,
        )
        val_metrics = kind.score(val[1], kind.predictions(probs, scaling), names)
        score = val_metrics[metric]
        history.append({"epoch": epoch, "train_loss": loss_sum / n, f"val_{metric}": score})
        log.info("epoch %d: train loss %.4f, val %s %.4f", epoch, loss_sum / n, metric, score)
        bar.set_postfix(
            epoch=epoch, loss=f"{loss_sum / n:.3f}", **{f"val_{metric}": f"{score:.3f}"}
        )
        logs.epoch(epoch, step, loss_sum / n, val_metrics)
        improved = best is None or (not math.isnan(score) and score > best.val_metrics[metric])
        if cfg.selection == "last" or improved:
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best = FitResult(epoch, val_metrics, state)
    bar.close()
    assert best is not None
    logs.finish(metric, best.val_metrics[metric], best.best_epoch)
    best.history = history
    return best


__all__ = ["FitResult", "fit_classifier"]
