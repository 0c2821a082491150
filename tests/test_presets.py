"""Every YAML preset in configs/ loads strictly, and the paper preset is the paper."""

from pathlib import Path

import pytest

from findna.config import load_config
from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork, count_parameters
from findna.train.config import PretrainConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize(
    "path", sorted((CONFIGS / "pretrain").glob("*.yaml")), ids=lambda p: p.stem
)
def test_pretrain_presets_load(path):
    cfg = load_config(PretrainConfig, path)
    assert cfg.model.max_len >= cfg.data.windows.window_length + cfg.ssl.n_cls


def test_paper_preset_is_the_paper():
    cfg = load_config(PretrainConfig, CONFIGS / "pretrain" / "paper.yaml")
    defaults = PretrainConfig()
    # The dataclass defaults are the truth; the preset only makes them visible.
    for section in ("model", "views", "ssl", "optim"):
        assert getattr(cfg, section) == getattr(defaults, section), section
    assert cfg.model == ModelConfig.paper()
    assert count_parameters(FinDNANetwork(cfg.model)) == 12_651_873
    assert (cfg.optim.batch_size, cfg.optim.epochs, cfg.data.windows.num_windows) == (
        64,
        50,
        100_000,
    )
    assert cfg.run.precision == "auto"  # bf16 on CUDA (tests/test_precision.py), CPU measured


def test_reference_preset_differs_where_the_code_differs():
    cfg = load_config(PretrainConfig, CONFIGS / "pretrain" / "reference.yaml")
    assert cfg.views.preset == "reference"
    assert (cfg.ssl.center_momentum, cfg.ssl.mnm_loss, cfg.ssl.loss_scale) == (
        0.9,
        "reference_bce",
        2.0,
    )
    assert cfg.optim.epochs == 30
    assert cfg.data.static_views and not PretrainConfig().data.static_views
