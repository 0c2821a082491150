"""The default objective stays the paper's exactly, whatever levers are added around it.

The golden values were printed by findna at commit 8d63a32 (before the issue-9 levers) for three
SGD steps on a fixed batch (centre update and EMA included), so any change to the default path
shows up here, not only in a study's numbers.
"""

from __future__ import annotations

import pytest
import torch

from findna.model.config import ModelConfig
from findna.ssl.config import SSLConfig
from findna.ssl.distill import CenteredDistillationLoss, entropy
from findna.ssl.mnm import mnm_loss
from findna.ssl.student_teacher import SelfDistillation
from findna.ssl.views import ViewBatch, ViewConfig, build_views

SEQ_LEN = 32
_MLP = {"cl_head": "mlp", "mlp_hidden_dim": 16, "mlp_bottleneck_dim": 8, "mlp_out_dim": 12}

# ssl changes -> per step (loss, loss_mnm, loss_cl, teacher_entropy, center_norm) at 8d63a32.
GOLDEN: dict[str, tuple[dict, list[tuple[float, ...]]]] = {
    "paper": (
        {},
        [
            (1.0610061883926392, 1.7765552997589111, 0.3454570174217224, 0.19532112777233124, 0.0),
            (1.381105899810791, 1.871842622756958, 0.8903692960739136, 0.24499613046646118,
             0.009039931930601597),
            (1.065869927406311, 1.711453914642334, 0.4202859103679657, 0.3085954785346985,
             0.018038272857666016),
        ],
    ),
    "latent": (
        {"cl_head": "latent"},
        [
            (0.9076266884803772, 1.7765552997589111, 0.03869812190532684, 0.004566716030240059,
             0.0),
            (0.8734617829322815, 1.7298319339752197, 0.01709158346056938, 0.014993485063314438,
             0.03782285377383232),
            (0.8610116839408875, 1.686533808708191, 0.03548959270119667, 0.03370160236954689,
             0.07549258321523666),
        ],
    ),
    "mlp": (
        _MLP,
        [
            (0.988405704498291, 1.7765552997589111, 0.2002561390399933, 0.061191774904727936, 0.0),
            (0.8661853671073914, 1.7221465110778809, 0.010224205441772938,
             0.00012987671652808785, 0.013666297309100628),
            (0.8443809747695923, 1.6786032915115356, 0.010158678516745567,
             0.0009985662763938308, 0.02407914027571678),
        ],
    ),
    "cm-mnm": (
        {"variant": "cm-mnm"},
        [
            (1.7765552997589111, 1.7765552997589111),
            (1.6792961359024048, 1.6792961359024048),
            (1.6092474460601807, 1.6092474460601807),
        ],
    ),
}  # fmt: skip


def _views(batch: int = 6) -> ViewBatch:
    gen = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 4, (batch, SEQ_LEN), generator=gen)
    return build_views(codes, ViewConfig(n_cls=10), generator=gen)


def _module(**ssl: object) -> SelfDistillation:
    torch.manual_seed(0)
    cfg = ModelConfig(track_size=4, hidden=16, n_layers=1, max_len=SEQ_LEN + 10)
    return SelfDistillation(cfg, SSLConfig(**ssl)).train()


def _run(model: SelfDistillation, steps: int = 3, **forward: object) -> list[dict[str, float]]:
    opt = torch.optim.SGD(list(model.student_parameters()), lr=0.05)
    views, rows = _views(), []
    for i in range(steps):
        out = model(views, teacher_temp=0.04 + 0.01 * i, **forward)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        model.update_teacher(0.99)
        rows.append({k: v.item() for k, v in out.metrics().items()})
    return rows


@pytest.mark.parametrize("name", list(GOLDEN))
def test_the_default_objective_gives_the_recorded_losses(name: str) -> None:
    changes, expected = GOLDEN[name]
    rows = _run(_module(**changes))
    keys = ("loss", "loss_mnm", "loss_cl", "teacher_entropy", "center_norm")
    for row, values in zip(rows, expected, strict=True):
        assert set(row) == {"mnm_acc", *keys[: len(values)]}, name
        for key, value in zip(keys, values, strict=False):
            assert row[key] == pytest.approx(value, rel=1e-4, abs=1e-6), (name, key)


def test_the_default_loss_is_the_paper_total_of_the_two_terms() -> None:
    """Recomputed from the primitives: 0.5 * MNM(student u) + 0.5 * CL(student u, teacher v)."""
    model = _module()
    views = _views()
    out = model(views)
    with torch.no_grad():
        s_out, t_out = model.student(views.student), model.teacher(views.teacher)
    loss_mnm, _ = mnm_loss(s_out.logits[:, :SEQ_LEN], views.targets, views.mask)
    fresh = CenteredDistillationLoss(n_cls=10, dim=5)  # zero centre, as before the first update
    p, q = s_out.logits[:, SEQ_LEN:], t_out.logits[:, SEQ_LEN:]
    loss_cl = fresh(p, q)
    assert torch.equal(out.loss_mnm, loss_mnm) and torch.equal(out.loss_cl, loss_cl)
    assert torch.equal(out.loss.detach(), 0.5 * loss_mnm + 0.5 * loss_cl)
    assert torch.equal(out.teacher_entropy, entropy(fresh.teacher_probs(q)))
