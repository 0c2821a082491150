"""ModelConfig resolves its width once: presets, replace, YAML presets, stored forms, hashes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from findna.config import (
    PRESETS_DIR,
    config_from_dict,
    config_to_dict,
    load_config,
    preset_names,
    read_preset,
)
from findna.model.config import ModelConfig, blocks_per_layer, tied_width
from findna.model.hf.configuration_findna import FinDNAConfig
from findna.model.loading import load_encoder
from findna.model.network import FinDNANetwork
from findna.provenance import config_hash
from findna.train.config import PretrainConfig

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"
FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ModelConfig)}


def old_width(raw: dict) -> int:
    """The rule before the width was resolved at creation, on a raw (YAML) model section."""
    values = {**FIELD_DEFAULTS, **raw}
    if values["d_model"] is not None:
        return values["d_model"]
    return (blocks_per_layer(values["max_len"]) + 1) * values["track_size"]


def test_the_width_is_resolved_when_the_config_is_made():
    cfg = ModelConfig()
    assert cfg.d_model == cfg.width == 308 == tied_width(1010, 28)
    assert cfg == ModelConfig(d_model=308)  # one architecture, one config
    assert ModelConfig(max_len=4776, track_size=24).d_model == 14 * 24
    assert ModelConfig(d_model=64, max_len=4776).width == 64


def test_replace_keeps_the_architecture_and_d_model_none_ties_again():
    cfg = ModelConfig.tiny()
    longer = replace(cfg, max_len=4000)
    assert (longer.width, longer.n_blocks_per_layer) == (cfg.width, 12)
    assert replace(cfg, track_size=8).width == cfg.width
    # Asking for the tied width of the new length says so.
    assert replace(cfg, d_model=None, max_len=4000).width == tied_width(4000, 4)
    assert replace(longer, max_len=cfg.max_len) == cfg


@pytest.mark.parametrize("factory", [ModelConfig.paper, ModelConfig.tiny])
def test_preset_factories_tie_the_width_to_the_changed_values(factory):
    base = factory()
    assert factory(max_len=4000).width == tied_width(4000, base.track_size)
    assert factory(track_size=8).width == tied_width(base.max_len, 8)
    assert factory(max_len=4000, d_model=48).width == 48
    assert factory(n_layers=1).width == base.width
    assert ModelConfig.tiny().width == 40 and ModelConfig.paper() == ModelConfig()


def _yaml_presets():
    for kind, section in (("model", None), ("pretrain", "model")):
        for name in preset_names(kind):
            yield pytest.param(kind, section, name, id=f"{kind}/{name}")


@pytest.mark.parametrize("kind, section, name", list(_yaml_presets()))
@pytest.mark.parametrize("changes", [{}, {"max_len": 2000}, {"max_len": 4776, "track_size": 24}])
def test_yaml_presets_and_set_overrides_give_the_old_width(kind, section, name, changes):
    path = PRESETS_DIR / kind / f"{name}.yaml"
    raw = read_preset(path)
    raw = {**(raw.get(section, {}) if section else raw), **changes}
    prefix = f"{section}." if section else ""
    overrides = [f"{prefix}{key}={value}" for key, value in changes.items()]
    cls = PretrainConfig if section else ModelConfig
    cfg = load_config(cls, path, overrides)
    model = cfg.model if section else cfg
    assert model.width == old_width(raw)
    assert model.max_len == raw.get("max_len", FIELD_DEFAULTS["max_len"])
    # The stored form reads back to the same config.
    assert config_from_dict(ModelConfig, config_to_dict(model)) == model


def test_a_stored_null_width_reads_as_before():
    stored = json.loads((LEGACY / "model" / "config.json").read_text())
    assert stored["d_model"] is None
    fields = {k: v for k, v in stored.items() if k in FIELD_DEFAULTS}
    cfg = config_from_dict(ModelConfig, fields)
    assert cfg.width == old_width(fields)
    # Spelled null or as the number, a stored config is one architecture with one hash.
    explicit = {**fields, "d_model": cfg.width}
    assert config_from_dict(ModelConfig, explicit) == cfg
    assert config_hash(cfg) == config_hash(config_from_dict(ModelConfig, explicit))


def test_a_pinned_config_hashes_as_before():
    # What the callers stored before (benchmark scratch copies, feature-cache keys): the width
    # pinned with replace(cfg, d_model=cfg.width). The resolved config is that same dict.
    old_pinned = {**config_to_dict(ModelConfig.tiny()), "d_model": 40}
    assert config_to_dict(ModelConfig.tiny()) == old_pinned
    assert config_hash(ModelConfig.tiny()) == config_hash(old_pinned)


def test_loaded_networks_keep_the_stored_width_at_any_max_len():
    net, _ = load_encoder(LEGACY / "model", max_len=300, length_mode="fixed")
    stored = FinDNANetwork.from_pretrained(str(LEGACY / "model"))
    assert net.config.width == stored.config.width
    assert net.config.n_blocks_per_layer == blocks_per_layer(300)
    scratch, _ = load_encoder("scratch", max_len=4000, scratch_config=ModelConfig.tiny())
    assert scratch.config.width == ModelConfig.tiny().width
    # Rebuilding from a loaded network's config needs no caller rule.
    rebuilt = FinDNANetwork(replace(net.config, max_len=64))
    assert rebuilt.config.width == net.config.width


def test_hf_config_without_d_model_ties_to_its_own_max_len():
    assert FinDNAConfig(max_len=2000).model_config().width == tied_width(2000, 28)
    assert FinDNAConfig(max_len=2000, d_model=None).model_config().width == tied_width(2000, 28)
    assert FinDNAConfig().model_config() == ModelConfig()


def test_export_round_trip_of_a_longer_network_keeps_its_width(tmp_path):
    cfg = replace(ModelConfig.tiny(), max_len=1000)  # width 40, not the tied 44
    net = FinDNANetwork(cfg).eval()
    net.save_pretrained(tmp_path)
    loaded = FinDNANetwork.from_pretrained(tmp_path).eval()
    assert loaded.config == cfg and loaded.config.width == 40
    x = torch.randn(1, 20, 5)
    with torch.no_grad():
        assert torch.equal(loaded(x).hidden, net(x).hidden)
