"""load_encoder(depth=...) (issue 21): the pretrained block count downstream, whatever the task's
length, against today's length-derived count."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from findna.model.config import ModelConfig
from findna.model.depth import pretrained_depth_max_len
from findna.model.loading import depth_max_len, load_encoder

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"


def test_pretrained_depth_keeps_every_pretrained_block() -> None:
    # The fixture network was pretrained for 34 tokens: 6 blocks per layer.
    short, short_id = load_encoder(LEGACY / "model", max_len=8)
    deep, deep_id = load_encoder(LEGACY / "model", max_len=8, depth="pretrained")
    assert short.config.n_blocks_per_layer == 3 and deep.config.n_blocks_per_layer == 6
    assert deep.config.max_len == 34 and deep_id == short_id + "+depth-pretrained"
    # Every pretrained tensor is used: the same network as loading it at its own length.
    full, full_id = load_encoder(LEGACY / "model")
    assert full_id == short_id
    for (name, a), (_, b) in zip(deep.state_dict().items(), full.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    # A task at least as long as pretraining: both depths build the same network.
    same, same_id = load_encoder(LEGACY / "model", max_len=40, depth="pretrained")
    assert same.config.max_len == 40 and same_id == load_encoder(LEGACY / "model", max_len=40)[1]


def test_pretrained_depth_max_len_by_hand() -> None:
    stored = ModelConfig.tiny(max_len=522)
    assert pretrained_depth_max_len(stored, 510) == 522  # small's 10 blocks on 500 bp tasks
    assert pretrained_depth_max_len(stored, 1000) == 1000
    assert pretrained_depth_max_len(stored, None) is None
    transformer = ModelConfig(backbone="transformer", max_len=522, d_model=32, n_heads=4)
    assert pretrained_depth_max_len(transformer, 100) == 100


def test_an_unknown_depth_is_refused() -> None:
    with pytest.raises(ValueError, match=r"depth must be one of \('length', 'pretrained'\)"):
        load_encoder(LEGACY / "model", depth="deep")


def test_depth_max_len_of_a_source() -> None:
    model = LEGACY / "model"
    assert depth_max_len(model, "teacher", 8, "pretrained") == 34
    assert depth_max_len(model, "teacher", 8, "length") == 8
    assert depth_max_len("scratch", "teacher", 8, "pretrained") == 8  # nothing pretrained


def test_the_probe_uses_and_reports_the_depth(tmp_path) -> None:
    import numpy as np
    import pandas as pd

    from findna.data.tasks import TaskSpec, load_task
    from findna.eval.features import FeatureConfig
    from findna.eval.probe import ProbeConfig, run_probe

    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(60)]
    pd.DataFrame({"sequence": seqs, "label": [i % 2 for i in range(60)]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    spec = TaskSpec(
        "synthetic/short",
        "toy",
        {"all": str(tmp_path / "t.csv")},
        "table",
        2,
        "accuracy",
        "resplit_70_10_20",
        max_len=12,
    )
    task = load_task(spec, seed=0)
    fast = ProbeConfig(epochs=2, lrs=(0.01,), features=FeatureConfig(batch_size=64))
    model = LEGACY / "model"
    by_length = run_probe(task, model, fast, 0, cache_dir=tmp_path / "c")
    deep = run_probe(
        task,
        model,
        ProbeConfig(**{**fast.__dict__, "depth": "pretrained"}),
        0,
        cache_dir=tmp_path / "c",
    )
    assert (by_length.hyperparameters["depth"], deep.hyperparameters["depth"]) == (
        "length",
        "pretrained",
    )
    # 12 bp: 4 blocks per layer from the length; the pretrained network's 6 with depth.
    assert by_length.hyperparameters["blocks_per_layer"] == 4
    assert deep.hyperparameters["blocks_per_layer"] == 6
    with pytest.raises(ValueError, match="probe.depth must be 'length' or 'pretrained'"):
        ProbeConfig(depth="deep")
