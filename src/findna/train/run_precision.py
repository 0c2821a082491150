"""The precision a pretraining run executes in: ``run.precision`` resolved on the run's device
at the run's block GEMM shapes (``auto``: :func:`findna.precision.choose_precision`)."""

from __future__ import annotations

from findna.precision import PrecisionChoice, choose_precision, model_shapes
from findna.train.config import PretrainConfig


def run_device_type(accelerator: str) -> str:
    """``cuda`` or ``cpu``: the device type of a Lightning accelerator name (``auto``: CUDA when
    available, as Lightning picks it)."""
    if accelerator in ("gpu", "cuda"):
        return "cuda"
    if accelerator == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return accelerator


def run_precision(cfg: PretrainConfig) -> PrecisionChoice:
    """``cfg.run.precision`` resolved for this run: on a CPU, ``auto`` measures (once per
    machine, cached) the model's two block GEMMs at one step's tokens per device."""
    tokens = cfg.optim.batch_size * (cfg.data.windows.window_length + cfg.ssl.n_cls)
    shapes = model_shapes(cfg.model.width, cfg.model.hidden, tokens)
    return choose_precision(cfg.run.precision, run_device_type(cfg.run.accelerator), shapes)


__all__ = ["run_device_type", "run_precision"]
