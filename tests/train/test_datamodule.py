"""PretrainData and the genome lookup without a Trainer: paths, batches by step, rank shards."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from findna.config import load_config
from findna.train.config import PretrainConfig
from findna.train.datamodule import PretrainData, resolve_genome
from findna.train.sampling import StepBatchSampler

LEGACY_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0" / "run"


@pytest.fixture
def cfg(tmp_path) -> PretrainConfig:
    rng = np.random.default_rng(0)
    with open(tmp_path / "g.fa", "w") as f:
        for name, n in (("chrA", 4000), ("chrB", 2000)):
            f.write(f">{name}\n" + "".join(rng.choice(list("ACGT"), size=n)) + "\n")
    return load_config(
        PretrainConfig,
        LEGACY_RUN / "config.yaml",
        [
            f"data.genome={tmp_path / 'g.fa'}",
            "data.prepared_dir=null",
            "data.val_windows=6",
            f"run.out_dir={tmp_path / 'run'}",
            "optim.batch_size=4",
            "optim.max_steps=5",
        ],
    )


def _data(cfg: PretrainConfig, world_size: int = 1, rank: int = 0, step: int = 0) -> PretrainData:
    data = PretrainData(cfg, cfg.out_dir)
    data.trainer = SimpleNamespace(world_size=world_size, global_rank=rank, global_step=step)
    data.prepare_data()
    data.setup("fit")
    return data


def test_resolve_genome_prepares_fasta_once_under_the_run(cfg):
    prepared = resolve_genome(cfg.data, cfg.out_dir)
    assert prepared == cfg.out_dir / "genome" and (prepared / "index.json").is_file()
    stamp = (prepared / "index.json").stat().st_mtime_ns
    assert resolve_genome(cfg.data, cfg.out_dir) == prepared  # idempotent
    assert (prepared / "index.json").stat().st_mtime_ns == stamp
    # A prepared directory is used as it is.
    cfg.data.genome = str(prepared)
    assert resolve_genome(cfg.data, Path("elsewhere")) == prepared


def test_resolve_genome_errors(cfg, tmp_path):
    cfg.data.genome = str(tmp_path / "typo.fa")
    with pytest.raises(FileNotFoundError, match=r"typo.fa does not exist \(also looked in the"):
        resolve_genome(cfg.data, cfg.out_dir)
    cfg.data.genome = " , "
    with pytest.raises(ValueError, match="data.genome is empty"):
        resolve_genome(cfg.data, cfg.out_dir)


def test_train_batches_follow_the_step_sampler_and_resume_mid_run(cfg):
    data = _data(cfg)
    batches = list(data.train_dataloader())
    assert len(batches) == 5
    sampler = StepBatchSampler(
        len(data.train_windows), 4, seed=cfg.data.windows.seed, total_steps=5
    )
    for step, (codes, index) in enumerate(batches):
        assert index.tolist() == sampler.batch_for_step(step)
        assert codes.dtype == torch.uint8 and codes.shape == (4, 32)
        assert np.array_equal(codes.numpy(), data.train_windows.fetch(index.tolist()))
    resumed = list(_data(cfg, step=3).train_dataloader())
    assert [i.tolist() for _, i in resumed] == [i.tolist() for _, i in batches[3:]]


def test_ranks_split_the_global_batch_and_the_validation_windows(cfg):
    one = [i.tolist() for _, i in _data(cfg).train_dataloader()]
    cfg.optim.batch_size = 2
    ranks = [[i.tolist() for _, i in _data(cfg, 2, r).train_dataloader()] for r in (0, 1)]
    # Same global batch of 4 per step; rank 0 takes the first half, rank 1 the second.
    assert [a + b for a, b in zip(*ranks, strict=True)][:2] == [b[:4] for b in one][:2]
    val = [
        sorted(torch.cat([i for _, i in _data(cfg, 2, r).val_dataloader()]).tolist())
        for r in (0, 1)
    ]
    assert val == [[0, 2, 4], [1, 3, 5]]


def test_no_validation_windows_means_no_validation_loader(cfg):
    cfg.data.val_windows = 0
    assert _data(cfg).val_dataloader() == []
