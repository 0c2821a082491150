"""Which device to run on: one resolution of auto, cpu, cuda and cuda:N for every command."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """The torch device of a name: ``auto`` is CUDA when available, else the CPU.

    Raises:
        ValueError: an unknown name, or ``cuda`` on a machine (or torch build) without CUDA, with
            a message that says what to use instead.
    """
    text = str(name)
    choices = ", ".join(DEVICE_CHOICES)
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(text)
    except RuntimeError as err:
        raise ValueError(f"unknown device {text!r}; use one of {choices}") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        built = torch.version.cuda or "none (a CPU-only build)"
        raise ValueError(
            f"device {text}: CUDA is not available (torch {torch.__version__}, CUDA {built}); "
            "use --device cpu or run on a machine with an NVIDIA GPU"
        )
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device {text!r} is not supported; use one of {choices}")
    return device


__all__ = ["DEVICE_CHOICES", "resolve_device"]
