"""Checkpoint files of a run: atomic writes, and Hugging Face style export of a network.

Reading a checkpoint back (clear errors on bad files, the teacher or student network) belongs to
model loading: :mod:`findna.model.loading`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from findna.folders import FolderKind, check_folder, staged_folder
from findna.model.cls_rows import config_n_cls
from findna.model.hf.remote import REMOTE_SOURCES, TOKENIZER_CONFIG, write_hf_files
from findna.model.loading import network_from_checkpoint, read_checkpoint
from findna.model.network import FinDNANetwork
from findna.outputs import atomic_output
from findna.train.model_card import export_card


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes through ``findna.outputs.atomic_output`` (``PATH.tmp-<pid>``, synced, then renamed),
    so a crash never leaves a half-written checkpoint, and a failed write leaves no temporary."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | os.PathLike, storage_options: Any = None
    ) -> None:
        with atomic_output(path) as tmp, open(tmp, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())


def is_export(path: Path) -> bool:
    """Whether ``path`` holds a network export (and not a fine-tuned classifier, which adds
    ``task.json`` and a head to the same files)."""
    return (
        (path / "config.json").is_file()
        and (path / "model.safetensors").is_file()
        and not (path / "task.json").exists()
        and not (path / "head.safetensors").exists()
    )


EXPORT_FOLDER = FolderKind(
    "findna export (config.json + model.safetensors)",
    "export",
    ("config.json", "model.safetensors", "README.md", TOKENIZER_CONFIG, *REMOTE_SOURCES.values()),
    is_export,
)
"""What ``export`` writes in its folder (and what ``--force`` may remove there)."""


def downstream_network(net: FinDNANetwork) -> FinDNANetwork:
    """``net`` as an export records it: in the length mode findna reads networks in downstream
    (``length_aware``, docs/method.md §7 row 18), so ``transformers`` gives findna's numbers
    whatever the padding. On inputs of the full ``max_len`` (pretraining's windows) it computes
    exactly what the ``fixed`` rotation computes; the weights are the same."""
    if net.config.length_mode == "length_aware":
        return net
    export = FinDNANetwork(replace(net.config, length_mode="length_aware"))
    export.load_state_dict(net.state_dict(), strict=True)
    return export.eval()


def export_checkpoint(
    ckpt_path: str | Path,
    out_dir: str | Path,
    which: str = "teacher",
    force: bool = False,
    metrics: Mapping[str, Any] | None = None,
) -> Path:
    """Write the chosen network of a checkpoint to ``out_dir`` for findna and ``transformers``.

    ``config.json`` + ``model.safetensors`` (``FinDNANetwork.save_pretrained``; the network in
    its downstream length mode, :func:`downstream_network`), the
    ``transformers`` files (``findna.model.hf.remote``: model_type, auto_map, tokenizer config,
    model code for ``trust_remote_code``) and a model card ``README.md``
    (``findna.train.model_card``; ``metrics``: the run's final metrics, default
    ``RUN/summary.json``). The checkpoint is read before ``out_dir`` is looked at; an existing
    export there is replaced only with ``force``, and anything else (a classifier, a folder of
    other files) never; ``force`` removes only the export's own files (:mod:`findna.folders`).
    """
    ckpt = read_checkpoint(ckpt_path)
    net = downstream_network(network_from_checkpoint(ckpt, which))
    check_folder(out_dir, EXPORT_FOLDER, force=force, inputs=[ckpt_path])
    card = export_card(ckpt, ckpt_path, net, which, Path(out_dir).name, metrics)
    n_cls = config_n_cls(ckpt["findna"]["config"])
    with staged_folder(out_dir, EXPORT_FOLDER, force=force) as tmp:
        net.save_pretrained(tmp)
        write_hf_files(tmp, "FinDNAForMaskedLM", pretraining_n_cls=n_cls)
        (tmp / "README.md").write_text(card)
    return Path(out_dir)
