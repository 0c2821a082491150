"""Pretraining data for Lightning: the prepared genome, train/val windows and their loaders."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader

from findna.data.genome import INDEX_FILE, load_genome, prepare_genome
from findna.data.root import data_root
from findna.data.windows import GenomeWindows
from findna.train.config import DataConfig, PretrainConfig
from findna.train.sampling import StepBatchSampler

log = logging.getLogger(__name__)


def _resolve(path: str) -> Path:
    """A path as given when it exists, else relative to the data root."""
    p = Path(path).expanduser()
    if p.exists() or p.is_absolute():
        return p
    try:
        candidate = data_root() / p
    except FileNotFoundError:
        return p
    return candidate if candidate.exists() else p


def resolve_genome(cfg: DataConfig, out_dir: Path, prepare: bool = True) -> Path:
    """The prepared genome directory for ``cfg.genome``, preparing FASTA input once.

    Args:
        cfg: the data section. out_dir: the run directory (default home of the prepared genome).
        prepare: encode FASTA input now (idempotent); False only computes the directory.

    Raises:
        FileNotFoundError: a genome path does not exist (names where it looked).
    """
    paths = [_resolve(p.strip()) for p in cfg.genome.split(",") if p.strip()]
    if not paths:
        raise ValueError("data.genome is empty: give a FASTA file or a prepared genome directory")
    for p in paths:
        if not p.exists():
            raise FileNotFoundError(
                f"data.genome: {p} does not exist (also looked in the data root); give a FASTA "
                "file or a directory made by `findna prepare genome`"
            )
    if len(paths) == 1 and (paths[0] / INDEX_FILE).is_file():
        return paths[0]
    prepared = Path(cfg.prepared_dir) if cfg.prepared_dir else out_dir / "genome"
    if prepare:
        # Idempotent: reuses an identical existing output.
        prepare_genome(paths, prepared, on_invalid=cfg.on_invalid)
    return prepared


class IndexedWindows(torch.utils.data.Dataset):
    """Batches of ``(codes (B, L) uint8, window indices (B,) int64)``.

    The indices let ``views.static`` seed each window's views by its index (one batched gather
    per batch through ``GenomeWindows.__getitems__``).
    """

    def __init__(self, windows: GenomeWindows) -> None:
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        codes = torch.from_numpy(self.windows.fetch(indices))
        return codes, torch.as_tensor(indices, dtype=torch.long)


def _batch_as_is(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    return batch  # __getitems__ already returns the stacked batch


class PretrainData(L.LightningDataModule):
    """Train windows in the step-indexed order of ``StepBatchSampler``; fixed held-out val windows.

    Args:
        full_cfg: the whole run config (the data section, the per-device batch size, and the
            schedule length that bounds the sampler).
        out_dir: the run directory (default home of a genome prepared from FASTA).
    """

    def __init__(self, full_cfg: PretrainConfig, out_dir: Path) -> None:
        super().__init__()
        self.full_cfg = full_cfg
        self.cfg: DataConfig = full_cfg.data
        self.batch_size = full_cfg.optim.batch_size
        self.out_dir = out_dir
        self.train_windows: GenomeWindows | None = None
        self.val_windows: GenomeWindows | None = None
        # Once per run, not per node: the nodes share the run folder (and the prepared genome)
        # on one file system, and two nodes preparing it at once would race.
        self.prepare_data_per_node = False

    def prepare_data(self) -> None:
        # Lightning runs this on global rank 0 while the other ranks wait, so ranks never race.
        resolve_genome(self.cfg, self.out_dir)

    def setup(self, stage: str | None = None) -> None:
        if self.train_windows is not None:
            return
        genome = load_genome(resolve_genome(self.cfg, self.out_dir, prepare=False))
        self.train_windows = GenomeWindows(genome, self.cfg.windows)
        if self.cfg.val_windows:
            val_cfg = dataclasses.replace(
                self.cfg.windows, split="val", num_windows=self.cfg.val_windows
            )
            self.val_windows = GenomeWindows(genome, val_cfg)

    def _loader(self, dataset: torch.utils.data.Dataset, **kwargs) -> DataLoader:
        workers = self.cfg.num_workers
        return DataLoader(
            dataset,
            collate_fn=_batch_as_is,
            num_workers=workers,
            persistent_workers=workers > 0,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        trainer = self.trainer
        sampler = StepBatchSampler(
            len(self.train_windows),
            self.batch_size,
            seed=self.cfg.windows.seed,
            total_steps=self.full_cfg.total_steps(trainer.world_size),
            # A resumed run starts at the restored step: the data position is a function of it.
            start_step=trainer.global_step,
            rank=trainer.global_rank,
            world_size=trainer.world_size,
        )
        return self._loader(IndexedWindows(self.train_windows), batch_sampler=sampler)

    def val_dataloader(self) -> DataLoader:
        if self.val_windows is None:
            return []
        trainer = self.trainer
        # Each rank validates its own share of the held-out windows.
        shard = torch.utils.data.Subset(
            IndexedWindows(self.val_windows),
            list(range(trainer.global_rank, len(self.val_windows), trainer.world_size)),
        )
        return self._loader(shard, batch_size=self.batch_size, shuffle=False)
