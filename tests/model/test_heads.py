"""Pooling on hand-computed tensors, classification and projection heads."""

from __future__ import annotations

import math

import pytest
import torch

from findna.model.heads import ClassificationHead, ProjectionHead, pool, pooled_dim


@pytest.fixture
def hidden() -> torch.Tensor:
    # (B=2, L=4, d=2): token t of sequence b holds [10*b + t, -(10*b + t)].
    values = torch.tensor([[0.0, 1.0, 2.0, 3.0], [10.0, 11.0, 12.0, 13.0]])
    return torch.stack([values, -values], dim=-1)


def test_mean_includes_everything(hidden):
    out = pool(hidden, torch.tensor([4, 2]), mode="mean", n_cls=1)
    assert out.tolist() == [[1.5, -1.5], [11.5, -11.5]]


def test_masked_mean_excludes_padding_and_cls(hidden):
    # Sequence 0: 4 tokens, last is CLS -> mean of 0, 1, 2. Sequence 1: 3 real, last CLS -> 10, 11.
    out = pool(hidden, torch.tensor([4, 3]), mode="masked_mean", n_cls=1)
    assert out.tolist() == [[1.0, -1.0], [10.5, -10.5]]
    no_cls = pool(hidden, torch.tensor([4, 3]), mode="masked_mean")
    assert no_cls.tolist() == [[1.5, -1.5], [11.0, -11.0]]
    assert pool(hidden, None, mode="masked_mean").tolist() == [[1.5, -1.5], [11.5, -11.5]]


def test_cls_is_mean_of_the_last_real_tokens(hidden):
    out = pool(hidden, torch.tensor([4, 3]), mode="cls", n_cls=2)
    assert out.tolist() == [[2.5, -2.5], [11.5, -11.5]]
    both = pool(hidden, torch.tensor([4, 3]), mode="mean+cls", n_cls=2)
    assert both.tolist() == [[0.5, -0.5, 2.5, -2.5], [10.0, -10.0, 11.5, -11.5]]
    assert pooled_dim(2, "mean+cls") == 4 and pooled_dim(2, "cls") == 2


def test_pool_errors(hidden):
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        pool(hidden, mode="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs n_cls >= 1"):
        pool(hidden, mode="cls")
    with pytest.raises(ValueError, match="no sequence tokens"):
        pool(hidden, torch.tensor([4, 1]), mode="masked_mean", n_cls=1)


def test_linear_classification_head_init():
    torch.manual_seed(0)
    head = ClassificationHead(308, 3)
    bound = math.sqrt(6 / (308 + 3))  # Xavier-uniform
    assert head.net.weight.abs().max() <= bound
    assert head.net.weight.abs().max() > 0.9 * bound
    assert torch.equal(head.net.bias, torch.zeros(3))
    assert head(torch.randn(4, 308)).shape == (4, 3)


def test_mlp_classification_head_and_errors():
    head = ClassificationHead(16, 2, kind="mlp", hidden=8, dropout=0.1)
    assert head(torch.randn(5, 16)).shape == (5, 2)
    with pytest.raises(ValueError, match="unknown head kind"):
        ClassificationHead(16, 2, kind="conv")  # type: ignore[arg-type]


def test_projection_head_normalised_prototypes():
    torch.manual_seed(0)
    head = ProjectionHead(40, out_dim=7, hidden=32, bottleneck=16)
    out = head(torch.randn(3, 9, 40))
    assert out.shape == (3, 9, 7)
    # Unit-norm input (L2-normalised bottleneck) times unit-norm prototype rows: |logit| <= 1.
    assert out.abs().max() <= 1.0 + 1e-6
    weight = head.last_layer.weight
    torch.testing.assert_close(weight.norm(dim=1), torch.ones(7))
    gain = head.last_layer.parametrizations.weight.original0
    assert not gain.requires_grad


def test_projection_head_gain_trainable_when_not_normalised():
    head = ProjectionHead(8, 3, hidden=8, bottleneck=4, n_layers=1, norm_last_layer=False)
    assert head.last_layer.parametrizations.weight.original0.requires_grad
    assert len([m for m in head.mlp if isinstance(m, torch.nn.Linear)]) == 1
