"""FinDNANetwork: config validation, input checks, hub round trip, partial backbone loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from findna.config import config_from_dict, config_to_dict, load_config
from findna.model.config import PRESETS, ModelConfig
from findna.model.network import FinDNANetwork, count_parameters, load_pretrained_backbone_


def test_presets_and_tied_width():
    assert PRESETS["paper"] == ModelConfig()
    assert ModelConfig(max_len=4776, track_size=24).width == 14 * 24  # 13 blocks + 1 tracks
    assert ModelConfig(d_model=308, track_size=50).n_tracks == 7


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"max_len": 1}, "max_len must be an integer >= 2"),
        ({"mlp_dropout": 1.0}, "mlp_dropout must be in [0, 1)"),
        ({"d_model": 10, "track_size": 28}, "lower track_size"),
        ({"backbone": "transformer", "n_heads": 5}, "not divisible by model.n_heads=5"),
        ({"hidden": 0}, "hidden must be a positive integer"),
        ({"backbone": "mamba"}, "model.backbone='mamba' is not supported; use one of 'chordmixer'"),
        ({"prenorm": "LayerNorm"}, "model.prenorm='LayerNorm' is not supported"),
        ({"length_mode": "aware"}, "model.length_mode='aware' is not supported"),
        ({"positional": "rope"}, "model.positional='rope' is not supported"),
    ],
)
def test_config_validation_messages(changes, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)")):
        ModelConfig(**changes)


def test_config_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown key"):
        FinDNANetwork({"track_sise": 4})
    cfg = config_from_dict(ModelConfig, config_to_dict(ModelConfig.tiny()))
    assert cfg == ModelConfig.tiny()


def test_input_checks():
    net = FinDNANetwork(ModelConfig.tiny())
    with pytest.raises(ValueError, match=r"shape \(batch, length, 5\)"):
        net(torch.randn(2, 10, 4))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 10\]"):
        net(torch.randn(2, 10, 5), torch.tensor([10, 11]))
    with pytest.raises(ValueError, match="integer tensor of shape"):
        net(torch.randn(2, 10, 5), torch.tensor([10.0, 3.0]))


def test_encode_is_forward_without_head():
    net = FinDNANetwork(ModelConfig.tiny())
    x = torch.randn(2, 20, 5)
    out = net(x)
    assert torch.equal(net.encode(x), out.hidden)
    assert torch.equal(net.head(out.hidden), out.logits)


@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig.tiny(length_mode="length_aware", prenorm="layernorm"),
        ModelConfig.tiny(backbone="transformer", n_layers=1),
        ModelConfig.tiny(backbone="transformer", n_layers=1, positional="sinusoidal"),
    ],
)
def test_hub_round_trip(tmp_path, cfg):
    torch.manual_seed(0)
    net = FinDNANetwork(cfg).eval()
    net.save_pretrained(tmp_path)
    assert {"config.json", "model.safetensors"} <= {p.name for p in tmp_path.iterdir()}
    assert not list(tmp_path.glob("*.bin")) and not list(tmp_path.glob("*.pt"))
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored == config_to_dict(cfg)
    assert set(load_file(tmp_path / "model.safetensors")) == set(net.state_dict())

    loaded = FinDNANetwork.from_pretrained(tmp_path).eval()
    assert loaded.config == cfg
    x = torch.randn(2, 30, 5)
    lengths = torch.tensor([30, 17])
    with torch.no_grad():
        expected, got = net(x, lengths), loaded(x, lengths)
    assert torch.equal(got.hidden, expected.hidden)
    assert torch.equal(got.logits, expected.logits)


def test_from_pretrained_is_strict(tmp_path):
    FinDNANetwork(ModelConfig.tiny()).save_pretrained(tmp_path)
    # Same weights file, but a config asking for one more layer: missing keys must fail.
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["n_layers"] = 3
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RuntimeError, match="Missing key"):
        FinDNANetwork.from_pretrained(tmp_path)


def test_from_pretrained_without_weights(tmp_path):
    FinDNANetwork(ModelConfig.tiny()).save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors does not exist"):
        FinDNANetwork.from_pretrained(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="no config.json"):
        FinDNANetwork.from_pretrained(tmp_path)


def test_from_pretrained_rejects_unknown_config_keys(tmp_path):
    FinDNANetwork(ModelConfig.tiny()).save_pretrained(tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["group_size"] = 28
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="unknown key.*group_size"):
        FinDNANetwork.from_pretrained(tmp_path)


def _pretrained(**changes):
    torch.manual_seed(0)
    return FinDNANetwork(ModelConfig.tiny(d_model=40, **changes))


def test_partial_loading_keeps_extra_blocks_fresh():
    source = _pretrained()  # max_len 266 -> 9 blocks per layer
    torch.manual_seed(1)
    target = FinDNANetwork(ModelConfig.tiny(d_model=40, max_len=1000))  # 10 blocks per layer
    fresh_before = {k: v.clone() for k, v in target.state_dict().items()}
    report = load_pretrained_backbone_(target, source.state_dict())

    per_block = ["mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"]
    extra = [f"backbone.layers.{i}.blocks.9.{p}" for i in range(2) for p in per_block]
    assert sorted(report.fresh) == sorted(extra + ["head.weight", "head.bias"])
    assert sorted(report.skipped) == ["head.bias", "head.weight"]
    assert len(report.loaded) == 2 + 2 * 9 * 4
    state, src = target.state_dict(), source.state_dict()
    for name in report.loaded:
        assert torch.equal(state[name], src[name])
    for name in report.fresh:
        assert torch.equal(state[name], fresh_before[name])


def test_partial_loading_fewer_layers_prefix_and_head():
    source = _pretrained()
    teacher_state = {f"teacher.{k}": v for k, v in source.state_dict().items()}
    teacher_state["center"] = torch.zeros(1, 5)
    target = FinDNANetwork(ModelConfig.tiny(d_model=40, n_layers=1, max_len=64))  # 1 x 6 blocks
    report = load_pretrained_backbone_(target, teacher_state, prefix="teacher.", include_head=True)
    assert report.fresh == []
    assert "center" in report.skipped
    assert "teacher.backbone.layers.1.blocks.0.mlp.fc1.weight" in report.skipped
    assert "teacher.backbone.layers.0.blocks.6.mlp.fc1.weight" in report.skipped
    assert torch.equal(target.head.weight, source.head.weight)


def test_partial_loading_shape_mismatch_is_an_error():
    source = _pretrained()
    target = FinDNANetwork(ModelConfig.tiny(d_model=48))
    with pytest.raises(ValueError, match="build the model with the pretrained d_model"):
        load_pretrained_backbone_(target, source.state_dict())


@pytest.mark.parametrize(
    "name, n_params", [("paper", 12_651_873), ("tiny", 47_821), ("transformer", 3_107_617)]
)
def test_yaml_presets(name, n_params):
    path = Path(__file__).resolve().parents[2] / "configs" / "model" / f"{name}.yaml"
    cfg = load_config(ModelConfig, path)
    if name in PRESETS:
        assert cfg == PRESETS[name]
    assert count_parameters(FinDNANetwork(cfg)) == n_params
