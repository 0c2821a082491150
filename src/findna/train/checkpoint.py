"""Checkpoint files: atomic writes, clear errors on bad files, and Hugging Face style export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from findna.config import config_from_dict
from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes ``path.tmp`` then renames it, so a crash never leaves a half-written checkpoint."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None
    ) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a findna checkpoint on the CPU.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is truncated, corrupt, or not a findna pretraining checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises several types for damaged zip/pickle data
        raise ValueError(
            f"checkpoint {path} is corrupt or truncated ({type(err).__name__}: {err}); resume from "
            "an earlier checkpoint or start the run again with --force"
        ) from None
    meta = ckpt.get("findna") if isinstance(ckpt, dict) else None
    if not isinstance(meta, dict) or "config" not in meta or "state_dict" not in ckpt:
        raise ValueError(
            f"{path} is not a findna pretraining checkpoint (no 'findna' metadata or state_dict)"
        )
    return ckpt


def checkpoint_network(
    ckpt: dict[str, Any], which: str = "teacher", where: str = "checkpoint"
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """The model config and the teacher (or student) state dict, prefix removed, of a checkpoint.

    Raises:
        ValueError: ``which`` is unknown, or the checkpoint holds no such network (cm-mnm runs
            have no teacher).
    """
    if which not in ("teacher", "student"):
        raise ValueError(f"which must be 'teacher' or 'student', got {which!r}")
    cfg = config_from_dict(ModelConfig, ckpt["findna"]["config"]["model"], f"{where} model config")
    prefix = f"model.{which}."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    if not state:
        raise ValueError(
            f"{where} holds no {which} weights (a cm-mnm run has no teacher: use the student)"
        )
    return cfg, state


def network_from_checkpoint(ckpt: dict[str, Any], which: str = "teacher") -> FinDNANetwork:
    """Rebuild the teacher (or student) ``FinDNANetwork`` stored in a pretraining checkpoint."""
    cfg, state = checkpoint_network(ckpt, which)
    net = FinDNANetwork(cfg)
    net.load_state_dict(state, strict=True)
    return net.eval()


def export_checkpoint(ckpt_path: str | Path, out_dir: str | Path, which: str = "teacher") -> Path:
    """Write ``config.json`` + ``model.safetensors`` of the chosen network to ``out_dir``."""
    net = network_from_checkpoint(read_checkpoint(ckpt_path), which)
    net.save_pretrained(out_dir)
    return Path(out_dir)
