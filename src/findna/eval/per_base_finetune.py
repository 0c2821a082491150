"""Per-base fine-tuning (issue 23): every weight trained, a class read from every token state.

The encoder (rebuilt with the fine-tuning dropouts, track size and layer count,
:func:`findna.eval.finetune.adapt_encoder`) and a linear (or MLP) head on each token's hidden
state are trained end to end: AdamW at ``lr`` with the cosine schedule and warm-up, gradient
clipping, cross-entropy over the real bases of a batch of ``batch_size`` sequences (padding is
never scored). After every epoch the validation split is scored by per-base MCC; the best epoch's
weights (``selection="best_val"``, kept in memory) or the last epoch's are scored once on test.
No CLS rows are appended (``pooling`` and ``n_cls`` do not apply). The selected model is saved to
the seed's folder (``findna finetune`` without ``--no-save``; task type ``per_base``,
:mod:`findna.model.classifier`) for ``findna predict``; no TensorBoard logs are written yet.

:class:`PerBaseFinetune` is the task-driver method; ``findna finetune`` uses it for per-base
tasks (:mod:`findna.cli.downstream`).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from findna.data.alphabet import one_hot
from findna.data.per_base import PAD_LABEL, PerBaseSequences
from findna.devices import resolve_device
from findna.eval.features import autocast
from findna.eval.finetune import FinetuneConfig, adapt_encoder
from findna.eval.per_base_metrics import confusion, metrics_from_confusion
from findna.eval.task_driver import Fit, SeedJob, run_task
from findna.model.classifier import ClassifierInfo, save_classifier
from findna.model.heads import ClassificationHead
from findna.model.inputs import fixed_pad_length, pad_codes, to_codes
from findna.model.token_classifier import PER_BASE_POOLING, TokenClassifier
from findna.ssl.schedules import cosine_with_warmup

log = logging.getLogger(__name__)


def _batches(
    part: PerBaseSequences, order: np.ndarray, size: int, pad: int | None, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """(one-hot inputs, lengths, labels padded with PAD_LABEL) of ``size`` sequences at a time."""
    for start in range(0, len(order), size):
        idx = order[start : start + size]
        codes = [to_codes(part.seqs[i], int(i)) for i in idx]
        padded, lengths = pad_codes(codes, 0, pad)
        labels = np.full(padded.shape, PAD_LABEL, dtype=np.int64)
        for row, i in enumerate(idx):
            labels[row, : lengths[row]] = part.base_labels(int(i))
        yield (
            one_hot(torch.from_numpy(padded).to(device)),
            torch.from_numpy(lengths).to(device),
            torch.from_numpy(labels).to(device),
        )


@torch.inference_mode()
def score(
    model: TokenClassifier, part: PerBaseSequences, cfg: FinetuneConfig, n_classes: int
) -> np.ndarray:
    """The (C, C) per-base confusion matrix of ``model`` on ``part`` (eval mode)."""
    device = next(model.parameters()).device
    pad = fixed_pad_length(model.encoder, "masked_mean", None)
    model.eval()
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    order = np.arange(len(part))
    for x, lengths, y in _batches(part, order, cfg.eval_batch_size, pad, device):
        with autocast(device, cfg.precision):
            pred = model(x, lengths).argmax(dim=-1)
        cm += confusion(y.cpu().numpy(), pred.cpu().numpy(), n_classes)
    return cm


@dataclass
class PerBaseFinetune:
    """End-to-end fine-tuning of per-base tasks as a task-driver method."""

    config: FinetuneConfig
    mode: str = field(default="finetune", init=False)

    @property
    def which(self) -> str:
        return self.config.which

    @property
    def cls_tokens(self) -> int:
        return 0  # a class per base: no CLS rows

    @property
    def max_len(self) -> int | None:
        return self.config.max_len

    def for_source(self, source: str | Path) -> PerBaseFinetune:
        return self

    def fit(self, job: SeedJob) -> Fit:
        """Train on train, select the epoch on validation by per-base MCC, score test once."""
        cfg, data = self.config, job.task.data
        spec, n = data.spec, data.spec.num_classes
        classes = list(spec.classes) if spec.classes else None
        if cfg.head not in ("linear", "mlp"):
            raise ValueError(f"finetune.head must be linear or mlp, got {cfg.head!r}")
        start = time.perf_counter()
        device = resolve_device(cfg.device)
        net = job.load_encoder(cfg.which, cfg.length_mode)
        with torch.random.fork_rng(devices=[]):  # fresh layers and the head, seeded
            torch.manual_seed(job.seed)
            encoder = adapt_encoder(net, cfg)
            head = ClassificationHead(
                encoder.config.width, n, kind=cfg.head, hidden=cfg.head_hidden
            )
        model = TokenClassifier(encoder, head).to(device)
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        train = data.train
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        total = cfg.epochs * -(-len(train) // cfg.batch_size)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: cosine_with_warmup(s, total, cfg.warmup_frac, cfg.num_cycles)
        )
        gen = torch.Generator().manual_seed(job.seed)
        pad = fixed_pad_length(encoder, "masked_mean", None)
        val_by_epoch, best, best_state = [], None, None
        bar = tqdm(
            total=total, desc=f"fine-tune seed {job.seed}", unit="step", disable=not job.progress
        )
        for epoch in range(cfg.epochs):
            model.train()
            order = torch.randperm(len(train), generator=gen).numpy()
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(job.seed * 1000 + epoch)  # dropout of this epoch
                for x, lengths, y in _batches(train, order, cfg.batch_size, pad, device):
                    with autocast(device, cfg.precision):
                        logits = model(x, lengths)
                    loss = F.cross_entropy(
                        logits.float().flatten(0, 1), y.flatten(), ignore_index=PAD_LABEL
                    )
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.grad_clip > 0:
                        nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    opt.step()
                    sched.step()
                    bar.update()
                    bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            metrics = metrics_from_confusion(score(model, data.val, cfg, n), classes)
            val_by_epoch.append(metrics)
            bar.set_postfix({f"val_{spec.metric}": f"{metrics[spec.metric]:.3f}"})
            last = epoch == cfg.epochs - 1
            better = best is None or metrics[spec.metric] > val_by_epoch[best][spec.metric]
            if (cfg.selection == "best_val" and better) or (cfg.selection == "last" and last):
                best, best_state = epoch, copy.deepcopy(model.state_dict())
        bar.close()
        assert best is not None and best_state is not None
        model.load_state_dict(best_state)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        test_metrics = metrics_from_confusion(score(model, data.test, cfg, n), classes)
        hyper = {
            "head": cfg.head,
            "lr": cfg.lr,
            "epochs": cfg.epochs,
            "batch_size": cfg.batch_size,
            "weight_decay": cfg.weight_decay,
            "warmup_frac": cfg.warmup_frac,
            "selection": cfg.selection,
            "selected_epoch": best + 1,
            "val_by_epoch": [m[spec.metric] for m in val_by_epoch],
            "mlp_dropout": cfg.mlp_dropout,
            "layer_dropout": cfg.layer_dropout,
            "saved": job.save_dir is not None,
        }
        timings = {"load_s": load_s, "train_s": train_s, "test_s": time.perf_counter() - start}
        if job.save_dir is not None:  # the selected epoch's model, for `findna predict`
            info = ClassifierInfo(
                task=spec.name,
                num_classes=n,
                classes=classes or [str(k) for k in range(n)],
                pooling=PER_BASE_POOLING,
                n_cls=0,
                max_len=job.max_len,
                metric=spec.metric,
                head_kind=cfg.head,
                head_hidden=cfg.head_hidden,
                source_model=job.model_id or "",
                seed=job.seed,
                task_type="per_base",
            )
            save_classifier(model.to("cpu"), info, job.save_dir)
        return Fit(val_by_epoch[best], test_metrics, hyper, timings, f"epoch {best + 1}")


def finetune_per_base_task(
    task, source, cfg: FinetuneConfig, seeds, out_dir, *, save_models: bool = False, **kw
):
    """:class:`PerBaseFinetune` for each seed, written to ``out_dir``
    (:func:`findna.eval.task_driver.run_task`; the arguments of
    :func:`findna.eval.finetune.finetune_task`); ``save_models``: each seed's selected model
    to ``out_dir/seed<k>/`` (a per-base model folder, for ``findna predict``)."""
    return run_task(
        task, source, PerBaseFinetune(cfg), seeds, out_dir, save_models=save_models, **kw
    )


__all__ = ["PerBaseFinetune", "TokenClassifier", "finetune_per_base_task", "score"]
