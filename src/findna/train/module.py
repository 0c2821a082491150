"""The Lightning module of ``findna pretrain``: one self-distillation step, logging and guards.

The pure pieces (views, losses, schedules, EMA) live in their own modules; this file only wires
them into Lightning's hooks, in DINO's order: build the views -> student and teacher forward ->
loss -> non-finite guard -> backward, clip and optimizer step (Lightning) -> EMA teacher update.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch

from findna.config import config_to_dict
from findna.ssl.schedules import cosine_with_warmup, ema_momentum
from findna.ssl.student_teacher import SelfDistillation
from findna.ssl.views import ViewBatch, ViewConfig, build_views, view_kl
from findna.train.config import PretrainConfig
from findna.train.sampling import chunk_ids, mix_seed, steps_per_epoch

CHECKPOINT_FORMAT = 1
_VAL_SALT = 0x7A1_5EED
_STATIC_SALT = 0x57A7_1C


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the run stops and earlier checkpoints stay as they are."""


def total_steps(cfg: PretrainConfig, world_size: int) -> int:
    """Optimizer steps of the run: ``optim.max_steps`` or epochs x full global batches."""
    if cfg.optim.max_steps is not None:
        return cfg.optim.max_steps
    per_epoch = steps_per_epoch(cfg.data.windows.num_windows, cfg.optim.batch_size, world_size)
    return cfg.optim.epochs * per_epoch


def concat_views(parts: list[ViewBatch]) -> ViewBatch:
    """Stack the views of several chunks along the batch axis."""
    if len(parts) == 1:
        return parts[0]
    return ViewBatch(
        student=torch.cat([p.student for p in parts]),
        teacher=torch.cat([p.teacher for p in parts]),
        targets=torch.cat([p.targets for p in parts]),
        mask=torch.cat([p.mask for p in parts]),
        n_cls=parts[0].n_cls,
    )


def window_views(codes: torch.Tensor, index: torch.Tensor, cfg: ViewConfig, seed: int) -> ViewBatch:
    """Views drawn window by window, each from a generator seeded by (``seed``, window index).

    A window gets the same views whenever it is drawn, whatever batch or rank it is in.

    Args:
        codes: (B, L) codes. index: (B,) window indices. cfg: the view recipe. seed: base seed.
    """
    codes = codes.long()
    parts = []
    for row, window in enumerate(index.tolist()):
        g = torch.Generator(device=codes.device).manual_seed(mix_seed(seed, window))
        parts.append(build_views(codes[row : row + 1], cfg, generator=g))
    return concat_views(parts)


class PretrainModule(L.LightningModule):
    """Self-distillation pretraining of a ``SelfDistillation`` student/teacher pair.

    Args:
        cfg: the resolved run config; stored in every checkpoint.
    """

    def __init__(self, cfg: PretrainConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.model = SelfDistillation(cfg.model, cfg.ssl)
        self._total_steps: int | None = None
        self._t_last: float | None = None
        self._val_counts: torch.Tensor | None = None

    # ----------------------------------------------------------------- schedule and optimiser
    @property
    def total_steps(self) -> int:
        """Optimizer steps of the whole run (needs the trainer for the world size)."""
        if self._total_steps is None:
            self._total_steps = total_steps(self.cfg, self.trainer.world_size)
        return self._total_steps

    def configure_optimizers(self) -> dict[str, Any]:
        o = self.cfg.optim
        optimizer = torch.optim.AdamW(
            self.model.student_parameters(),
            lr=o.lr,
            betas=o.betas,
            eps=o.eps,
            weight_decay=o.weight_decay,
        )
        total = self.total_steps
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer,
            lambda step: cosine_with_warmup(min(step, total), total, o.warmup_frac, o.num_cycles),
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }

    # ------------------------------------------------------------------------------ views
    def _views(self, codes: torch.Tensor, seed: int, first_chunk: list[int]) -> ViewBatch:
        """Views of a (B, L) batch, drawn per chunk with a generator seeded by ``seed`` + chunk."""
        codes = codes.long()
        chunk = codes.shape[0] // len(first_chunk)
        parts = []
        for i, chunk_id in enumerate(first_chunk):
            g = torch.Generator(device=codes.device).manual_seed(mix_seed(seed, chunk_id))
            parts.append(
                build_views(codes[i * chunk : (i + 1) * chunk], self.cfg.views, generator=g)
            )
        return concat_views(parts)

    def train_views(self, codes: torch.Tensor, index: torch.Tensor, step: int) -> ViewBatch:
        """The views of this rank's batch at global step ``step`` (independent of world size).

        Args:
            codes: (B, L) window codes. index: (B,) their window indices. step: global step.
        """
        if self.cfg.data.static_views:
            seed = mix_seed(self.cfg.run.seed, _STATIC_SALT)
            return window_views(codes, index, self.cfg.views, seed)
        view_chunk = self.cfg.data.view_chunk or codes.shape[0]
        ids = chunk_ids(self.global_rank, codes.shape[0], view_chunk)
        return self._views(codes, mix_seed(self.cfg.run.seed, step), ids)

    # ------------------------------------------------------------------------------ steps
    def _check_finite(self, metrics: dict[str, torch.Tensor], step: int) -> None:
        names = [n for n in ("loss_mnm", "loss_cl", "loss") if metrics.get(n) is not None]
        finite = torch.stack([torch.isfinite(metrics[n]) for n in names]).to(torch.float32)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            # Every rank must stop together, or the others hang in the next collective.
            torch.distributed.all_reduce(finite, op=torch.distributed.ReduceOp.MIN)
        for name, ok in zip(names, finite.tolist(), strict=True):
            if not ok:
                value = metrics[name]
                raise NonFiniteLossError(
                    f"{name} is {value.item()} at step {step} (on this or another rank). The run "
                    "stopped; the last good "
                    f"checkpoint in {self.cfg.run.out_dir}/checkpoints is untouched. Lower "
                    "optim.lr, keep optim.grad_clip > 0, or try model.prenorm=layernorm."
                )

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        codes, index = batch
        step = self.global_step
        data_epoch = step // steps_per_epoch(
            self.cfg.data.windows.num_windows, self.cfg.optim.batch_size, self.trainer.world_size
        )
        self.model.set_epoch(data_epoch)
        views = self.train_views(codes, index, step)
        out = self.model(views)
        metrics = out.metrics()
        self._check_finite(metrics, step)
        self.log("train/loss", metrics.pop("loss"), prog_bar=True)
        self.log_dict({f"train/{k}": v for k, v in metrics.items()})
        if step % self.cfg.run.log_every_n_steps == 0:
            self.log(
                "train/view_kl", view_kl(views.student, views.teacher, n_cls=views.n_cls).float()
            )
        self.log("train/lr", self.lr_schedulers().get_last_lr()[0])
        self.log("train/data_epoch", float(data_epoch))
        return out.loss

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if self._t_last is None:
            self._t_last = time.perf_counter()

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        step = self.global_step
        super().optimizer_step(*args, **kwargs)
        # The EMA follows the optimizer step directly, before any callback (e.g. a checkpoint)
        # sees the state, so a checkpoint of step s holds the teacher of step s.
        momentum = ema_momentum(
            step, self.total_steps, self.cfg.ssl.ema_start, self.cfg.ssl.ema_end
        )
        self.model.update_teacher(momentum)
        self.log("train/ema_momentum", momentum)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        now = time.perf_counter()
        elapsed, self._t_last = now - (self._t_last or now), now
        if elapsed > 0:
            rate = batch[0].shape[0] * self.trainer.world_size / elapsed
            self.log("windows_per_s", rate, prog_bar=True, logger=False)

    def on_validation_epoch_start(self) -> None:
        self._val_counts = torch.zeros(5, dtype=torch.long, device=self.device)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        codes, _ = batch
        seed = mix_seed(self.cfg.run.seed, _VAL_SALT)
        views = self._views(codes, seed, [batch_idx * self.trainer.world_size + self.global_rank])
        out = self.model(views)  # eval mode: the centre is not updated
        metrics = out.metrics()
        self.log("val/loss", metrics["loss"], sync_dist=True)
        self.log("val/loss_mnm", metrics["loss_mnm"], sync_dist=True)
        self.log("val/mnm_acc", metrics["mnm_acc"], prog_bar=True, sync_dist=True)
        self._val_counts += torch.bincount(views.targets[views.mask], minlength=5)[:5]

    def on_validation_epoch_end(self) -> None:
        counts = self._val_counts
        if counts is not None and counts.sum() > 0:
            counts = self.all_gather(counts).reshape(-1, 5).sum(0)
            # The base-frequency baseline: always predicting the most frequent masked base.
            self.log("val/base_freq_acc", (counts.max() / counts.sum()).float(), sync_dist=False)

    # -------------------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["findna"] = {
            "format": CHECKPOINT_FORMAT,
            "config": config_to_dict(self.cfg),
            "world_size": self.trainer.world_size,
            "torch_rng_state": torch.get_rng_state(),
            "cuda_rng_state": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        meta = checkpoint.get("findna")
        if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(
                "the checkpoint was not written by findna pretrain (format "
                f"{CHECKPOINT_FORMAT}); start a new run or pass a findna checkpoint"
            )
        saved, current = meta["config"], config_to_dict(self.cfg)
        for section in ("model", "ssl", "views", "data", "optim"):
            if saved.get(section) != current.get(section):
                raise ValueError(
                    f"the checkpoint's {section} settings differ from this run's; resume with the "
                    f"run's own config.yaml (differences in {section}: "
                    f"{_diff(saved.get(section), current.get(section))})"
                )
        saved_world, world = meta.get("world_size"), self.trainer.world_size
        if saved_world != world:
            raise ValueError(
                f"the checkpoint was written by {saved_world} process(es) but this run has "
                f"{world}: the window order and the schedules depend on the world size. Resume "
                f"with the same devices x nodes ({saved_world}), or start a new run"
            )
        torch.set_rng_state(meta["torch_rng_state"])
        cuda_states = meta.get("cuda_rng_state")
        if cuda_states is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(cuda_states)


def _diff(a: Any, b: Any) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys)
    return f"{a!r} -> {b!r}"
