"""load_encoder(depth=...) (issue 21): the pretrained block count downstream, whatever the task's
length, against today's length-derived count."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from findna.model.config import ModelConfig
from findna.model.loading import load_encoder, pretrained_depth_max_len

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
