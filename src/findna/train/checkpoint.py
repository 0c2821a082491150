"""Checkpoint files of a run: atomic writes, and Hugging Face style export of a network.

Reading a checkpoint back (clear errors on bad files, the teacher or student network) belongs to
model loading: :mod:`findna.model.loading`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from findna.model.loading import network_from_checkpoint, read_checkpoint


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


def export_checkpoint(ckpt_path: str | Path, out_dir: str | Path, which: str = "teacher") -> Path:
    """Write ``config.json`` + ``model.safetensors`` of the chosen network to ``out_dir``."""
    net = network_from_checkpoint(read_checkpoint(ckpt_path), which)
    net.save_pretrained(out_dir)
    return Path(out_dir)
