"""Transformer (FinDNA-T) backbone: shapes, padding-mask invariance, positions."""

from __future__ import annotations

import math

import pytest
import torch

from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork
from findna.model.transformer import key_padding_mask, sinusoidal_positions


def _net(**changes) -> FinDNANetwork:
    torch.manual_seed(0)
    return FinDNANetwork(ModelConfig.tiny(backbone="transformer", **changes)).eval()


@pytest.mark.parametrize("seq_len", [1, 9, 266])
def test_shapes(seq_len):
    out = _net()(torch.randn(2, seq_len, 5))
    assert out.hidden.shape == (2, seq_len, 40)
    assert out.logits.shape == (2, seq_len, 5)


def test_explicit_width_and_heads():
    net = _net(d_model=64, n_heads=8, hidden=128)
    assert net(torch.randn(1, 5, 5)).hidden.shape == (1, 5, 64)
    assert net.backbone.encoder.layers[0].self_attn.num_heads == 8


def test_too_long_input_is_an_error():
    with pytest.raises(ValueError, match="raise model.max_len"):
        _net()(torch.randn(1, 267, 5))


def test_key_padding_mask():
    mask = key_padding_mask(torch.tensor([3, 1]), 4)
    assert mask.tolist() == [[False, False, False, True], [False, True, True, True]]


@pytest.mark.parametrize("positional", ["learned", "sinusoidal"])
def test_padding_does_not_change_real_outputs(positional):
    net = _net(positional=positional)
    gen = torch.Generator().manual_seed(0)
    short = torch.randn(1, 12, 5, generator=gen)
    long = torch.randn(1, 40, 5, generator=gen)
    batch = torch.cat([torch.nn.functional.pad(short, (0, 0, 0, 28), value=3.0), long])
    with torch.no_grad():
        alone = net(short).hidden
        padded = net(batch, torch.tensor([12, 40])).hidden
        long_alone = net(long).hidden
        unmasked = net(batch).hidden
    torch.testing.assert_close(padded[:1, :12], alone, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(padded[1:], long_alone, rtol=1e-5, atol=1e-5)
    # Without lengths the padding is attended to and does change the real outputs.
    assert (unmasked[:1, :12] - alone).abs().max() > 1e-3


def test_sinusoidal_table_values():
    table = sinusoidal_positions(5, 6)
    assert table.shape == (5, 6)
    assert table[0].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert table[3, 0].item() == pytest.approx(math.sin(3.0))
    assert table[3, 3].item() == pytest.approx(math.cos(3.0 / 10000 ** (2 / 6)))
    assert sinusoidal_positions(4, 5).shape == (4, 5)  # odd width


def test_sinusoidal_positions_are_not_stored():
    net = _net(positional="sinusoidal")
    assert not any("pos_embed" in k for k in net.state_dict())
    assert "backbone.pos_embed" in _net().state_dict()


def test_gradient_reaches_every_parameter():
    net = _net(mlp_dropout=0.1).train()
    net(torch.randn(2, 10, 5), torch.tensor([10, 6])).logits.square().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []
