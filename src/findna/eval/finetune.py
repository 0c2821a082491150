"""Fine-tuning (paper Tables 2 and 3): the whole encoder plus a classification head, per task.

``Finetune(cfg).fit(job)`` builds the encoder from a model source (HF directory,
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

:class:`Finetune` is the method the task driver (:mod:`findna.eval.task_driver`) runs;
``run_finetune`` and ``finetune_task`` are the driver's ``run_seed`` and ``run_task`` with it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from findna.data.tasks import TaskData
from findna.devices import resolve_device
from findna.eval.finetune_config import FinetuneConfig, finetune_preset, preset_settings
from findna.eval.finetune_loop import FitResult, fit_classifier
from findna.eval.predict import predict_proba
from findna.eval.regression import Standardiser
from findna.eval.report import BenchmarkReport, SeedResult
from findna.eval.task_driver import CheckedTask, Fit, SeedJob, run_seed, run_task
from findna.eval.task_types import task_kind
from findna.model.classifier import (
    ClassifierInfo,
    SequenceClassifier,
    save_classifier,
)
from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork, load_pretrained_backbone_


def adapt_encoder(encoder: FinDNANetwork, cfg: FinetuneConfig) -> FinDNANetwork:
    """The encoder rebuilt with the fine-tuning dropout, track size and layer count.

    Weights are copied by name (``load_pretrained_backbone_``); the width is kept. Call it under
    a seeded RNG: layers beyond the pretrained count start fresh.
    """
    old = encoder.config
    new = replace(
        old,
        mlp_dropout=cfg.mlp_dropout,
        layer_dropout=cfg.layer_dropout,
        track_size=cfg.track_size or old.track_size,
        n_layers=cfg.n_layers or old.n_layers,
    )
    if new == old:
        return encoder
    rebuilt = FinDNANetwork(new)
    load_pretrained_backbone_(rebuilt, encoder.state_dict(), include_head=True)
    return rebuilt


_REPORTED = (
    "pooling",
    "lr",
    "batch_size",
    "epochs",
    "weight_decay",
    "warmup_frac",
    "mlp_dropout",
    "layer_dropout",
    "track_size",
    "n_layers",
    "length_mode",
    "selection",
)
"""Settings copied into ``SeedResult.hyperparameters`` (the rest is in the saved config)."""


@dataclass
class Finetune:
    """Fine-tuning of every weight as a task-driver method (:mod:`findna.eval.task_driver`)."""

    config: FinetuneConfig
    mode: str = field(default="finetune", init=False)

    @property
    def which(self) -> str:
        return self.config.which

    @property
    def cls_tokens(self) -> int:
        return self.config.cls_tokens

    @property
    def max_len(self) -> int | None:
        return self.config.max_len

    def for_source(self, source: str | Path) -> Finetune:
        """A CLS pooling with ``n_cls`` None gets the CLS rows ``source`` was pretrained with."""
        return Finetune(self.config.for_source(source, self.config.which))

    def fit(self, job: SeedJob) -> Fit:
        """Encoder + head trained per seed (seeded, the global RNG restored), the epoch selected
        on validation, the test split scored once; the classifier saved to ``job.save_dir``."""
        cfg, task = self.config, job.task
        spec = task.data.spec
        device = resolve_device(cfg.device)
        start = time.perf_counter()
        cuda = [device.index or 0] if device.type == "cuda" else []
        kind = task_kind(spec.task_type)  # outputs, loss, predictions and metrics per type
        names = list(spec.targets) if spec.targets else None
        scaling = kind.fit_scaling(task.labels("train"))  # regression: train mean and sd
        outputs = spec.num_outputs
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(job.seed)
            encoder = adapt_encoder(job.load_encoder(cfg.which, cfg.length_mode), cfg)
            model = SequenceClassifier(
                encoder, outputs, cfg.pooling, cfg.cls_tokens, cfg.head, cfg.head_hidden
            ).to(device)
            load_s = time.perf_counter() - start
            fit = fit_classifier(
                model,
                _split(task, "train"),
                _split(task, "val"),
                cfg,
                metric=spec.metric,
                seed=job.seed,
                device=device,
                progress=job.progress,
                log_dir=job.log_dir,
                kind=kind,
                scaling=scaling,
                names=names,
            )
        trained = time.perf_counter()
        model.load_state_dict(fit.state)
        test_probs = predict_proba(
            model,
            task.codes("test"),
            batch_size=cfg.eval_batch_size,
            device=device,
            precision=cfg.precision,
            raw=kind.raw_outputs,
        )
        test_probs = kind.predictions(test_probs, scaling)  # values, probabilities
        test_metrics = kind.score(task.labels("test"), test_probs, names)  # the test split, once
        timings = {
            "load_s": load_s,
            "train_s": trained - start - load_s,
            "test_s": time.perf_counter() - trained,
        }
        if job.save_dir is not None:
            self._save(model, job, scaling)
        hyper = {**{k: getattr(cfg, k) for k in _REPORTED}, "best_epoch": fit.best_epoch}
        choice = f"epoch {fit.best_epoch}"
        return Fit(fit.val_metrics, test_metrics, hyper, timings, choice, test_probs)

    def _save(self, model: SequenceClassifier, job: SeedJob, scaling: Standardiser | None) -> None:
        """The selected model to ``job.save_dir``: its task type, output names (classes, targets
        or labels) and a regression task's training standardisation (``scaling``) in task.json."""
        cfg, spec = self.config, job.task.data.spec
        kind = spec.task_type
        names = spec.classes if kind == "classification" else spec.targets
        classes = [str(c) for c in names] if names else [str(c) for c in range(spec.num_outputs)]
        info = ClassifierInfo(
            task=spec.name,
            num_classes=len(classes),
            classes=classes,
            pooling=cfg.pooling,
            n_cls=cfg.cls_tokens,
            max_len=job.max_len,
            metric=spec.metric,
            head_kind=cfg.head,
            head_hidden=cfg.head_hidden,
            source_model=job.model_id,
            seed=job.seed,
            task_type=kind,
            target_mean=None if scaling is None else [float(m) for m in scaling.mean],
            target_std=None if scaling is None else [float(v) for v in scaling.std],
        )
        save_classifier(model.to("cpu"), info, job.save_dir)


def _split(task: CheckedTask, split: str) -> tuple[list[np.ndarray], np.ndarray]:
    return task.codes(split), task.labels(split)


def run_finetune(
    task: TaskData | CheckedTask,
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
    """Fine-tune ``source`` on ``task`` with one seed (:func:`~findna.eval.task_driver.run_seed`).

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
    return run_seed(
        task,
        source,
        Finetune(cfg),
        seed,
        scratch_config=scratch_config,
        model_name=model_name,
        save_dir=save_dir,
        log_dir=log_dir,
        progress=progress,
    )


def finetune_task(
    task: TaskData | CheckedTask,
    source: str | Path,
    cfg: FinetuneConfig,
    seeds: Sequence[int],
    out_dir: str | Path,
    *,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    save_models: bool = True,
    progress: bool = False,
    force: bool = False,
) -> BenchmarkReport:
    """``run_finetune`` per seed (``findna finetune``; :func:`~findna.eval.task_driver.run_task`):
    writes ``out_dir/config.yaml``, ``finetune.json``/``.md``, ``finetune_seeds.json``, each
    seed's classifier ``seed<k>/`` and its per-epoch metrics ``logs/seed<k>/metrics.csv``
    (+ ``tensorboard/``); ``force`` replaces a finished report in ``out_dir``."""
    return run_task(
        task,
        source,
        Finetune(cfg),
        seeds,
        out_dir,
        scratch_config=scratch_config,
        model_name=model_name,
        save_models=save_models,
        progress=progress,
        force=force,
    )


__all__ = [
    "Finetune",
    "FinetuneConfig",
    "FitResult",
    "finetune_preset",
    "preset_settings",
    "adapt_encoder",
    "finetune_task",
    "fit_classifier",
    "run_finetune",
]
