"""The per-base probe (issue 23): a linear (or MLP) head on every frozen token state.

Protocol, as the sequence probe's (:mod:`findna.eval.probe`) with one row per base instead of one
per sequence:

1. the token states of each split are streamed through the frozen encoder and cached as a float16
   memmap (:mod:`findna.eval.per_base_tokens`); never all in memory;
2. states are standardised with the train split's per-channel mean and std (streamed);
3. one head per learning rate of ``lrs``, same initialisation and batches, AdamW with the cosine
   schedule and warm-up, cross-entropy over the bases of a batch (mean); a batch is
   ``batch_size`` *sequences* (all their bases), drawn in a seeded order each epoch;
4. the lr is selected on validation by per-base MCC, and the test split is scored once
   (:mod:`findna.eval.per_base_metrics`: MCC, accuracy, F1 per class and macro).

:class:`PerBaseProbe` is the task-driver method; :class:`findna.eval.probe.Probe` hands per-base
tasks to it, so ``findna probe`` and ``findna benchmark`` run it. Fine-tuning end to end is
:mod:`findna.eval.per_base_finetune`.
"""

from __future__ import annotations

import copy
import math
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from findna.devices import resolve_device
from findna.eval.per_base_metrics import confusion, metrics_from_confusion
from findna.eval.per_base_tokens import TokenStore, token_store
from findna.eval.probe_config import ProbeConfig
from findna.eval.task_driver import SPLIT_NAMES, Fit, SeedJob
from findna.model.heads import ClassificationHead
from findna.ssl.schedules import cosine_with_warmup


@dataclass
class Scaler:
    """Per-channel standardisation fitted on the train tokens."""

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, store: TokenStore) -> Scaler:
        """Mean and std (floored at 1e-6) of the train split's rows."""
        mean, std = store.moments()
        return cls(torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32))

    def __call__(self, x: np.ndarray) -> torch.Tensor:
        return (torch.from_numpy(x) - self.mean) / self.std.clamp_min(1e-6)


def train_token_heads(
    store: TokenStore, scaler: Scaler, n_classes: int, cfg: ProbeConfig, seed: int
) -> list[nn.Module]:
    """One head per learning rate of ``cfg.lrs``, trained together on the same batches.

    Args:
        store: the train split's token states and labels.
        scaler: the train standardisation.
        n_classes: C.
        cfg: the probe settings (``batch_size`` counts sequences; ``epochs``, ``weight_decay``,
            ``warmup_frac``, ``head`` linear or mlp).
        seed: seeds the (shared) head initialisation and the batch order.

    Returns:
        The heads in ``cfg.lrs`` order, on the CPU, in eval mode.
    """
    device = resolve_device(cfg.features.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        init = ClassificationHead(
            store.feats.shape[1], n_classes, kind=cfg.head, hidden=cfg.mlp_hidden
        )
    heads = [copy.deepcopy(init).to(device).train() for _ in cfg.lrs]
    groups = [{"params": h.parameters(), "lr": lr} for h, lr in zip(heads, cfg.lrs, strict=True)]
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    total = cfg.epochs * math.ceil(len(store) / cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: cosine_with_warmup(s, total, cfg.warmup_frac)
    )
    gen = torch.Generator().manual_seed(seed)
    for _ in range(cfg.epochs):
        order = torch.randperm(len(store), generator=gen).numpy()
        for start in range(0, len(store), cfg.batch_size):
            x, y = store.batch(order[start : start + cfg.batch_size])
            xb, yb = scaler(x).to(device), torch.from_numpy(y).to(device)
            loss = sum(F.cross_entropy(h(xb), yb) for h in heads)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return [h.cpu().eval() for h in heads]


@torch.inference_mode()
def score_heads(
    heads: list[nn.Module], store: TokenStore, scaler: Scaler, n_classes: int, batch: int = 256
) -> list[np.ndarray]:
    """One (C, C) per-base confusion matrix per head on ``store``, ``batch`` sequences at a time."""
    cms = [np.zeros((n_classes, n_classes), dtype=np.int64) for _ in heads]
    for start in range(0, len(store), batch):
        x, y = store.batch(np.arange(start, min(start + batch, len(store))))
        xb = scaler(x)
        for k, head in enumerate(heads):
            cms[k] += confusion(y, head(xb).argmax(dim=-1).numpy(), n_classes)
    return cms


@dataclass
class PerBaseProbe:
    """The frozen-token probe of per-base tasks as a task-driver method."""

    config: ProbeConfig
    mode: str = field(default="probe", init=False)

    @property
    def which(self) -> str:
        return self.config.which

    @property
    def cls_tokens(self) -> int:
        return 0  # token states are read from the bases; no CLS rows are appended

    @property
    def max_len(self) -> int | None:
        return self.config.max_len

    def for_source(self, source: str | Path) -> PerBaseProbe:
        return PerBaseProbe(replace(self.config))

    def fit(self, job: SeedJob) -> Fit:
        """Token states of the three splits (cached), heads trained and selected on validation
        by per-base MCC, the test split scored once."""
        cfg = self.config
        if cfg.head == "knn":
            raise ValueError(
                f"task {job.task.name}: head knn is not offered for per-base tasks; use "
                "head=linear (or mlp)"
            )
        if job.cache_dir is None:
            with tempfile.TemporaryDirectory(prefix="findna-tokens-") as tmp:
                return self._fit(job, Path(tmp))
        return self._fit(job, job.cache_dir)

    def _fit(self, job: SeedJob, folder: Path) -> Fit:
        cfg, data = self.config, job.task.data
        spec = data.spec
        classes = list(spec.classes) if spec.classes else None
        start = time.perf_counter()
        net = job.load_encoder(cfg.which, cfg.length_mode)
        stores, features_s, all_cached = {}, 0.0, True
        for split in SPLIT_NAMES:
            stores[split], seconds, cached = token_store(
                net,
                job.model_id or "",
                spec.name,
                data.seed,
                split,
                data.splits()[split],
                cfg.features,
                folder,
            )
            features_s, all_cached = features_s + seconds, all_cached and cached
        del net
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        scaler = Scaler.fit(stores["train"]) if cfg.standardize else _identity(stores["train"])
        heads = train_token_heads(stores["train"], scaler, spec.num_classes, cfg, job.seed)
        val_all = [
            metrics_from_confusion(cm, classes)
            for cm in score_heads(heads, stores["val"], scaler, spec.num_classes)
        ]
        best = max(range(len(heads)), key=lambda i: val_all[i][spec.metric])
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        (test_cm,) = score_heads([heads[best]], stores["test"], scaler, spec.num_classes)
        test_metrics = metrics_from_confusion(test_cm, classes)
        hyper = {
            "head": cfg.head,
            "features": "token states (float16 memmap)",
            "standardize": cfg.standardize,
            "features_cached": all_cached,
            **cfg.lr_choice(best, val_all, spec.metric),
            "train_bases": stores["train"].n_tokens,
        }
        timings = {
            "load_s": load_s,
            "features_s": features_s,
            "train_s": train_s,
            "test_s": time.perf_counter() - start,
        }
        return Fit(val_all[best], test_metrics, hyper, timings, f"lr {cfg.lrs[best]}")


def _identity(store: TokenStore) -> Scaler:
    d = store.feats.shape[1]
    return Scaler(torch.zeros(d), torch.ones(d))


__all__ = ["PerBaseProbe", "Scaler", "score_heads", "train_token_heads"]
