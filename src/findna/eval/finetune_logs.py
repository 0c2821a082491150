"""What fine-tuning logs, through Lightning's loggers (as pretraining writes its logs).

``LOG_DIR/metrics.csv`` (CSVLogger) keeps one row per epoch: ``step`` and ``epoch`` (both the
epoch), ``train/loss`` (the epoch's mean) and ``val/<metric>`` for every metric, and
``hparams.yaml``. ``LOG_DIR/tensorboard/`` (TensorBoardLogger) gets every optimizer step:
``train/loss_step`` (the batch's loss) and ``train/lr`` (the learning rate the step used), the
epoch's metrics at the epoch's last step, and the fine-tuning settings as hyperparameters (the
HPARAMS tab, with ``hp/best_val_<metric>`` and ``hp/best_epoch`` once training ends). The x axis
of TensorBoard is optimizer steps (1 = after the first update).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from findna.config import config_to_dict
from findna.eval.finetune_config import FinetuneConfig


def fit_hyperparameters(
    cfg: FinetuneConfig, *, seed: int, metric: str, n_train: int, steps_per_epoch: int
) -> dict[str, Any]:
    """The settings of one fit, as logged: the fine-tuning config and what the fit derived."""
    return {
        **config_to_dict(cfg),
        "seed": seed,
        "metric": metric,
        "n_train": n_train,
        "steps_per_epoch": steps_per_epoch,
        "total_steps": steps_per_epoch * cfg.epochs,
    }


class FitLogs:
    """The logs of one fit in ``log_dir`` (None: nothing is written)."""

    def __init__(self, log_dir: Path | None, hyperparameters: dict[str, Any]) -> None:
        self.hyperparameters = hyperparameters
        self.csv = self.tensorboard = None
        if log_dir is None:
            return
        from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

        log_dir = Path(log_dir)
        self.csv = CSVLogger(log_dir.parent, name=log_dir.name, version="")
        self.tensorboard = TensorBoardLogger(
            log_dir, name="tensorboard", version="", default_hp_metric=False
        )
        for logger in self._loggers():
            logger.log_hyperparams(hyperparameters)

    def _loggers(self) -> list[Any]:
        return [x for x in (self.csv, self.tensorboard) if x is not None]

    def step(self, step: int, loss: float, lr: float) -> None:
        """One optimizer step (1-based): the batch's loss and the learning rate it used."""
        if self.tensorboard is not None:
            self.tensorboard.log_metrics({"train/loss_step": loss, "train/lr": lr}, step=step)

    def epoch(self, epoch: int, step: int, loss: float, val_metrics: dict[str, float]) -> None:
        """One epoch: its mean train loss and validation metrics (CSV at ``step=epoch``, as
        before; TensorBoard at the epoch's last optimizer step)."""
        values = {"train/loss": loss, "epoch": epoch}
        values.update({f"val/{k}": v for k, v in val_metrics.items()})
        if self.csv is not None:
            self.csv.log_metrics(values, step=epoch)
        if self.tensorboard is not None:
            self.tensorboard.log_metrics(values, step=step)

    def finish(self, metric: str, best_score: float, best_epoch: int) -> None:
        """The selected epoch beside the hyperparameters (TensorBoard), then files closed."""
        if self.tensorboard is not None:
            selected = {f"hp/best_val_{metric}": best_score, "hp/best_epoch": best_epoch}
            self.tensorboard.log_hyperparams(self.hyperparameters, selected)
        for logger in self._loggers():
            logger.finalize("success")


__all__ = ["FitLogs", "fit_hyperparameters"]
