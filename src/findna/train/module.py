"""The Lightning module of ``findna pretrain``: one self-distillation step, logging and guards.

The objective's pieces live in ``findna.ssl`` (views, losses, schedules, the student/teacher pair
and its EMA); this file only wires them into Lightning's hooks, in DINO's order: the step's
schedule (``step_schedule``) -> build the views -> student and teacher forward -> loss ->
non-finite guard -> backward, clip and optimizer step (Lightning, learning rate from the same
schedule) -> EMA teacher update with the schedule's momentum.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch

from findna.config import config_from_dict, config_to_dict
from findna.model.config import ModelConfig
from findna.ssl.schedules import StepSchedule, ema_start_of, initial_weight_share, step_schedule
from findna.ssl.student_teacher import SelfDistillation
from findna.ssl.views import ViewBatch, seeded_views, view_kl
from findna.train.config import RUN_SECTIONS, PretrainConfig, run_identity
from findna.train.sampling import chunk_ids, mix_seed

CHECKPOINT_FORMAT = 1
_VAL_SALT = 0x7A1_5EED
_STATIC_SALT = 0x57A7_1C


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the run stops and earlier checkpoints stay as they are."""


class PretrainModule(L.LightningModule):
    """Self-distillation pretraining of a ``SelfDistillation`` student/teacher pair.

    Args:
        cfg: the resolved run config; stored in every checkpoint.
    """

    def __init__(self, cfg: PretrainConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.model = SelfDistillation(cfg.model, cfg.ssl)
        self._steps: tuple[int, int] | None = None
        self._t_last: float | None = None
        self._val_counts: torch.Tensor | None = None

    # ----------------------------------------------------------------- schedule and optimiser
    def _run_steps(self) -> tuple[int, int]:
        """``(total_steps, steps_per_epoch)`` of the run (needs the trainer for the world size)."""
        if self._steps is None:
            world = self.trainer.world_size
            self._steps = (self.cfg.total_steps(world), self.cfg.steps_per_epoch(world))
        return self._steps

    def schedule(self, step: int) -> StepSchedule:
        """Learning rate scale, EMA momentum, teacher temperature and CL weight of ``step``."""
        total, per_epoch = self._run_steps()
        o = self.cfg.optim
        return step_schedule(step, total, per_epoch, self.cfg.ssl, o.warmup_frac, o.num_cycles)

    def loss_schedule(self, step: int) -> dict[str, float]:
        """The schedule values the objective takes at ``step``, as ``forward`` keywords.

        ``cl_weight`` is passed only when the objective has a CL warm-up, so the paper's step
        calls ``forward(views, teacher_temp=...)`` exactly as before the warm-up existed.
        """
        s = self.schedule(step)
        values = {"teacher_temp": s.teacher_temp}
        if self.cfg.ssl.has_cl_warmup:
            values["cl_weight"] = s.cl_weight
        return values

    def teacher_init_share(self, step: int) -> float:
        """The share of the EMA network's initial weights left before the update of ``step``
        (``findna.ssl.schedules.initial_weight_share`` with this run's momenta)."""
        total, _ = self._run_steps()
        start = ema_start_of(self.cfg.ssl, total)
        return initial_weight_share(step, total, start, self.cfg.ssl.ema_end)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = self.cfg.optim.make_optimizer(self.model.student_parameters())
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: self.schedule(step).lr_scale
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }

    # ------------------------------------------------------------------------------ views
    def train_views(self, codes: torch.Tensor, index: torch.Tensor, step: int) -> ViewBatch:
        """The views of this rank's batch at global step ``step`` (independent of world size).

        Per chunk of ``data.view_chunk`` windows, seeded by (seed, step, global chunk number);
        with ``data.static_views`` per window, seeded by (seed, window index), so a window gets
        the same views whenever it is drawn.

        Args:
            codes: (B, L) window codes. index: (B,) their window indices. step: global step.
        """
        codes = codes.long()
        if self.cfg.data.static_views:
            base = mix_seed(self.cfg.run.seed, _STATIC_SALT)
            return seeded_views(codes, self.cfg.views, [mix_seed(base, w) for w in index.tolist()])
        view_chunk = self.cfg.data.view_chunk or codes.shape[0]
        base = mix_seed(self.cfg.run.seed, step)
        ids = chunk_ids(self.global_rank, codes.shape[0], view_chunk)
        return seeded_views(codes, self.cfg.views, [mix_seed(base, c) for c in ids])

    # ------------------------------------------------------------------------------ steps
    def _check_finite(self, metrics: dict[str, torch.Tensor], step: int) -> None:
        terms = ("loss_mnm", "loss_cl", "loss_ibot", "loss_koleo", "loss")
        names = [n for n in terms if metrics.get(n) is not None]
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
        views = self.train_views(codes, index, step)
        every = self.cfg.run.diagnostics_every
        # The last step of every `every` (Lightning writes step s when (s + 1) is a multiple of
        # log_every_n_steps), and step 0 when the gradient balance needs its first factor.
        diagnose = every > 0 and (
            (step + 1) % every == 0 or (step == 0 and self.cfg.ssl.cl_grad_ratio > 0)
        )
        out = self.model(
            views, **self.loss_schedule(step), **({"diagnose": True} if diagnose else {})
        )
        metrics = out.metrics()
        self._check_finite(metrics, step)
        if out.diagnostics is not None:
            self._log_diagnostics(out.diagnostics, step)
        self.log("train/loss", metrics.pop("loss"), prog_bar=True)
        self.log_dict({f"train/{k}": v for k, v in metrics.items()})
        if step % self.cfg.run.log_every_n_steps == 0:
            self.log(
                "train/view_kl", view_kl(views.student, views.teacher, n_cls=views.n_cls).float()
            )
        self.log("train/lr", self.lr_schedulers().get_last_lr()[0])
        self.log("train/data_epoch", float(step // self._run_steps()[1]))
        return out.loss

    def _log_diagnostics(self, values: dict[str, torch.Tensor], step: int) -> None:
        """Log a diagnostic step's values as ``diag/<name>`` (the last ones reach
        ``summary.json``; ``metrics.csv`` gets them when ``run.diagnostics_every`` is a multiple
        of ``run.log_every_n_steps``)."""
        diag = {f"diag/{k}": float(v) for k, v in values.items()}
        if self.model.teacher is not None:
            diag["diag/teacher_init_share"] = self.teacher_init_share(step + 1)
        self.log_dict(diag)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        if self._t_last is None:
            self._t_last = time.perf_counter()

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        step = self.global_step
        super().optimizer_step(*args, **kwargs)
        # The EMA follows the optimizer step directly, before any callback (e.g. a checkpoint)
        # sees the state, so a checkpoint of step s holds the teacher of step s.
        momentum = self.schedule(step).ema_momentum
        self.model.update_teacher(momentum)
        self.log("train/ema_momentum", momentum)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        now = time.perf_counter()
        elapsed, self._t_last = now - (self._t_last or now), now
        if elapsed > 0:
            rate = batch[0].shape[0] * self.trainer.world_size / elapsed
            self.log("windows_per_s", rate, prog_bar=True)

    def on_validation_epoch_start(self) -> None:
        self._val_counts = torch.zeros(5, dtype=torch.long, device=self.device)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        codes, _ = batch
        chunk = batch_idx * self.trainer.world_size + self.global_rank
        seed = mix_seed(mix_seed(self.cfg.run.seed, _VAL_SALT), chunk)
        views = seeded_views(codes.long(), self.cfg.views, [seed])
        # Eval mode: the centre is not updated.
        out = self.model(views, **self.loss_schedule(self.global_step))
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
        # A key the checkpoint lacks was added later, with a default that keeps the old behaviour
        # (e.g. the ssl levers of issue 9): read it as that default.
        config = _with_defaults(meta["config"], config_to_dict(PretrainConfig()))
        # The model section as a ModelConfig reads it: a width stored as null (before it was
        # resolved when a config is made) is the tied width this run stores as a number.
        model = config_from_dict(ModelConfig, config["model"], "the checkpoint's model config")
        saved = run_identity({**config, "model": config_to_dict(model)})
        current = run_identity(config_to_dict(self.cfg))
        for section in RUN_SECTIONS:
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


def _with_defaults(saved: Any, defaults: Any) -> Any:
    """``saved`` with the keys it lacks (at any depth) taken from ``defaults``."""
    if not isinstance(saved, dict) or not isinstance(defaults, dict):
        return saved
    filled = {k: _with_defaults(v, defaults.get(k)) for k, v in saved.items()}
    return {**{k: v for k, v in defaults.items() if k not in saved}, **filled}


def _diff(a: Any, b: Any) -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        return ", ".join(f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys)
    return f"{a!r} -> {b!r}"
