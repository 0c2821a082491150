"""Issue 21's levers on the objective: each off by default (the paper's step unchanged), each
doing what it says when on, and invalid combinations refused naming the keys."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from findna.model.config import ModelConfig
from findna.ssl.centering import batch_centred_probs, sinkhorn_knopp
from findna.ssl.config import SSLConfig
from findna.ssl.diagnostics import gradient_conflict, teacher_spread
from findna.ssl.distill import CenteredDistillationLoss
from findna.ssl.mnm import mnm_loss
from findna.ssl.schedules import (
    ema_momentum,
    horizon_start,
    initial_weight_share,
    step_schedule,
)
from findna.ssl.student_teacher import SelfDistillation
from findna.ssl.views import ViewBatch, ViewConfig, build_views

SEQ_LEN = 32


def _views(seed: int = 0, batch: int = 4) -> ViewBatch:
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (batch, SEQ_LEN), generator=gen)
    return build_views(codes, ViewConfig(n_cls=10), generator=gen)


def _module(seed: int = 0, model: dict | None = None, **ssl: object) -> SelfDistillation:
    torch.manual_seed(seed)
    cfg = ModelConfig(track_size=4, hidden=16, n_layers=1, max_len=SEQ_LEN + 10, **(model or {}))
    return SelfDistillation(cfg, SSLConfig(**ssl))


def _grads(module: SelfDistillation, loss: torch.Tensor) -> dict[str, torch.Tensor]:
    module.zero_grad(set_to_none=True)
    loss.backward()
    return {n: p.grad.clone() for n, p in module.student.named_parameters() if p.grad is not None}


# --- the paper's step is unchanged ------------------------------------------------------------


def test_paper_step_loss_and_gradients_match_the_paper_formula() -> None:
    """Defaults: alpha*MNM + (1-alpha)*CL on the same networks, computed here by hand."""
    views = _views()
    m = _module().train()
    out = m(views)
    got = _grads(m, out.loss)

    ref = _module().train()
    s = ref.student(views.student)
    with torch.no_grad():
        t = ref.teacher(views.teacher)
    loss_mnm, _ = mnm_loss(s.logits[:, :SEQ_LEN], views.targets, views.mask)
    q_hat = F.softmax(t.logits[:, SEQ_LEN:].float() / 0.04, dim=-1)  # the centre starts at 0
    log_p = F.log_softmax(s.logits[:, SEQ_LEN:].float() / 0.1, dim=-1)
    loss_cl = -(q_hat * log_p).sum(-1).mean()
    total = 0.5 * loss_mnm + 0.5 * loss_cl
    want = _grads(ref, total)
    assert torch.equal(out.loss.detach(), total.detach())
    assert got.keys() == want.keys()
    for name in want:
        assert torch.equal(got[name], want[name]), name
    assert not any("special" in n for n in m.state_dict())


@pytest.mark.parametrize("variant", ["findna", "cm-mnm"])
def test_diagnostic_steps_leave_the_loss_and_gradients_unchanged(variant: str) -> None:
    n_cls = {"n_cls": 10}
    plain, probed = _module(variant=variant, **n_cls), _module(variant=variant, **n_cls)
    a = plain(_views())
    b = probed(_views(), diagnose=True)
    assert torch.equal(a.loss, b.loss)
    ga, gb = _grads(plain, a.loss), _grads(probed, b.loss)
    assert all(torch.equal(ga[n], gb[n]) for n in ga)
    assert a.diagnostics is None and b.diagnostics is not None
    keys = {"grad_mnm", "grad_mnm_input", "grad_mnm_head"}
    if variant == "findna":
        keys |= {f"grad_{k}{g}" for k in ("cl", "cos") for g in ("", "_input", "_head")}
        keys |= {"teacher_spread", "teacher_offset"}
    assert set(b.diagnostics) == keys


# --- diagnostics by hand ------------------------------------------------------------------------


def test_gradient_conflict_norms_and_cosines_by_hand() -> None:
    embed = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    head = torch.nn.Parameter(torch.tensor([3.0]))
    mnm = (embed * torch.tensor([1.0, 0.0])).sum() + 2 * head.sum()  # grad (1, 0 | 2)
    cl = (embed * torch.tensor([0.0, 3.0])).sum() - 2 * head.sum()  # grad (0, 3 | -2)
    d = gradient_conflict([("embed.weight", embed), ("head.weight", head)], mnm, mnm + cl)
    assert float(d["grad_mnm"]) == pytest.approx(math.sqrt(5))
    assert float(d["grad_cl"]) == pytest.approx(math.sqrt(13))
    assert float(d["grad_cos"]) == pytest.approx(-4 / math.sqrt(65))
    assert float(d["grad_cos_input"]) == pytest.approx(0.0)
    assert float(d["grad_cos_head"]) == pytest.approx(-1.0)
    assert float(d["grad_cl_head"]) == pytest.approx(2.0)


def test_teacher_spread_and_offset_by_hand() -> None:
    q = torch.tensor([[[1.0, 3.0]], [[3.0, 3.0]]])  # B=2, K=1, D=2
    d = teacher_spread(q, torch.tensor([[0.0, 1.0]]))
    assert float(d["teacher_spread"]) == pytest.approx(0.5)  # stds (1, 0)
    assert float(d["teacher_offset"]) == pytest.approx(2.0)  # |2 - 0|, |3 - 1|
    assert float(teacher_spread(q, None)["teacher_offset"]) == 0.0


# --- the teacher horizon ------------------------------------------------------------------------


def test_initial_weight_share_is_m_to_the_n_for_a_constant_momentum() -> None:
    assert initial_weight_share(10, 100, 0.9, 0.9) == pytest.approx(0.9**10)
    assert initial_weight_share(0, 100, 0.5) == 1.0
    by_loop = math.prod(ema_momentum(s, 50, 0.99) for s in range(50))
    assert initial_weight_share(50, 50, 0.99) == pytest.approx(by_loop)
    # The figures: the paper's schedule leaves 12.8% at tiny (1,024 steps), 1.7% at small.
    assert initial_weight_share(1024, 1024, 0.996) == pytest.approx(0.128, abs=5e-4)
    assert initial_weight_share(2048, 2048, 0.996) == pytest.approx(0.0165, abs=5e-4)


def test_horizon_sets_the_starting_momentum_from_the_run_length() -> None:
    assert horizon_start(1000, 0.1) == pytest.approx(0.99)  # a 100-step window
    assert horizon_start(10, 0.05) == 0.0  # a window under one step: copy the student
    ssl = SSLConfig(ema_horizon_frac=0.1)
    assert step_schedule(0, 1000, 1000, ssl).ema_momentum == pytest.approx(0.99)
    assert step_schedule(0, 1000, 1000, SSLConfig()).ema_momentum == 0.996
    assert step_schedule(1000, 1000, 1000, ssl).ema_momentum == 1.0


# --- gradient balance ---------------------------------------------------------------------------


def test_stop_input_grad_trains_embed_by_mnm_alone() -> None:
    views = _views()
    m = _module(cl_stop_input_grad=True).train()
    out = m(views)
    got = _grads(m, out.loss)
    # The same step without the lever: MNM alone, and the whole objective.
    ref = _module().train()
    ref_out = ref(_views())
    s = ref.student(views.student)
    mnm, _ = mnm_loss(s.logits[:, :SEQ_LEN], views.targets, views.mask)
    only_mnm = _grads(ref, 0.5 * mnm)
    full = _grads(ref, ref_out.loss)
    assert torch.equal(out.loss.detach(), ref_out.loss.detach())  # the surrogate adds 0
    for name in ("embed.weight", "embed.bias"):
        torch.testing.assert_close(got[name], only_mnm[name])
        assert not torch.allclose(full[name], only_mnm[name])  # CL did reach it before
    torch.testing.assert_close(got["head.weight"], full["head.weight"])
    d = _module(cl_stop_input_grad=True).train()(views, diagnose=True).diagnostics
    assert d is not None and float(d["grad_cl_input"]) == 0.0


def test_grad_ratio_sets_the_cl_gradient_to_the_chosen_fraction() -> None:
    m = _module(cl_grad_ratio=0.25).train()
    first = m(_views(), diagnose=True).diagnostics
    assert first is not None
    want = 0.25 * float(first["grad_mnm"]) / float(first["grad_cl"])
    assert m.cl_scale == pytest.approx(want)
    assert float(m.state_dict()["cl_grad_scale"]) == pytest.approx(want)  # kept by checkpoints
    assert "cl_grad_scale" not in _module().state_dict()  # the paper's state dict is unchanged
    # With the factor applied, the distillation gradient is a quarter of the MNM gradient.
    views = _views(1)
    out = m(views)
    s = m.student(views.student)
    mnm, _ = mnm_loss(s.logits[:, :SEQ_LEN], views.targets, views.mask)
    d = gradient_conflict(m.student.named_parameters(), 0.5 * mnm, out.loss)
    assert float(d["grad_cl"]) / float(d["grad_mnm"]) == pytest.approx(0.25, rel=0.35)


# --- centring -----------------------------------------------------------------------------------


def test_sinkhorn_matches_a_hand_computed_case() -> None:
    q = torch.tensor([[[0.0, math.log(2.0)]], [[math.log(3.0), 0.0]]])  # B=2, K=1, D=2; tau 1
    got = sinkhorn_knopp(q, 1.0, n_iterations=3)[:, 0]
    # Hand: exp -> rows (features) x columns (sequences) [[1, 3], [2, 1]] / 7; then 3 times
    # rows to 1/2 and columns to 1/2; finally x 2.
    m = [[1 / 7, 3 / 7], [2 / 7, 1 / 7]]
    for _ in range(3):
        m = [[v / sum(row) / 2 for v in row] for row in m]
        cols = [m[0][j] + m[1][j] for j in range(2)]
        m = [[m[i][j] / cols[j] / 2 for j in range(2)] for i in range(2)]
    want = torch.tensor([[2 * m[i][j] for i in range(2)] for j in range(2)])
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(got.sum(-1), torch.ones(2))  # each sequence: a distribution
    x = torch.randn(16, 3, 5, generator=torch.Generator().manual_seed(0)) * 0.1
    big = sinkhorn_knopp(x, 0.04)
    torch.testing.assert_close(big.sum(-1), torch.ones(16, 3))
    # Over the batch the features' masses move towards B/D (exactly, as iterations grow).
    plain = F.softmax(x / 0.04, dim=-1)
    assert (big.sum(0) - 16 / 5).abs().max() < 0.5 * (plain.sum(0) - 16 / 5).abs().max()
    many = sinkhorn_knopp(x, 0.04, n_iterations=200)
    torch.testing.assert_close(many.sum(0), torch.full((3, 5), 16 / 5), rtol=1e-4, atol=1e-4)
    assert torch.isfinite(sinkhorn_knopp(x * 40, 0.04)).all()  # exp underflow: no NaN


def test_batch_centring_subtracts_this_batch_mean() -> None:
    q = torch.randn(6, 2, 5)
    want = F.softmax((q - q.mean(0)) / 0.04, dim=-1)
    torch.testing.assert_close(batch_centred_probs(q, 0.04), want)
    loss = CenteredDistillationLoss(2, 5, centering="batch")
    loss.center.fill_(3.0)  # not used
    torch.testing.assert_close(loss.teacher_probs(q, 0.04), want)
    sk = CenteredDistillationLoss(2, 5, centering="sinkhorn")
    torch.testing.assert_close(sk.teacher_probs(q, 0.04), sinkhorn_knopp(q, 0.04))


@pytest.mark.parametrize("centering", ["batch", "sinkhorn"])
def test_centring_options_train(centering: str) -> None:
    m = _module(centering=centering).train()
    out = m(_views(), diagnose=True)
    assert torch.isfinite(out.loss) and out.diagnostics is not None
    assert float(out.diagnostics["teacher_offset"]) == 0.0


# --- the EMA copy of cm-mnm --------------------------------------------------------------------


def test_cm_mnm_ema_copy_has_no_cl_head_and_follows_the_student() -> None:
    m = _module(variant="cm-mnm", ema_copy=True).train()
    assert m.teacher is not None and m.distill is None and m.student_head is None
    out = m(_views())
    assert out.loss_cl is None
    plain = _module(variant="cm-mnm").train()
    assert torch.equal(out.loss, plain(_views()).loss)  # the same MNM step
    with torch.no_grad():
        for p in m.student.parameters():
            p.add_(1.0)
    before = m.teacher.embed.weight.clone()
    m.update_teacher(0.9)
    torch.testing.assert_close(m.teacher.embed.weight, 0.9 * before + 0.1 * m.student.embed.weight)


# --- invalid combinations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"variant": "cm-mnm", "cl_head": "latent"},
            "ssl.variant=cm-mnm has no CL term, but ssl.cl_head='latent' configure one",
        ),
        (
            {"variant": "cm-mnm", "centering": "sinkhorn", "cl_grad_ratio": 0.5},
            "ssl.cl_grad_ratio=0.5, ssl.centering='sinkhorn' configure one",
        ),
        ({"ema_copy": True}, "ssl.ema_copy=true is for ssl.variant=cm-mnm"),
        (
            {"centering": "sinkhorn", "center_momentum": 0.9},
            "ssl.centering='sinkhorn' does not use the EMA centre, but ssl.center_momentum=0.9",
        ),
        (
            {"ema_horizon_frac": 0.05, "ema_start": 0.99},
            "ssl.ema_horizon_frac=0.05 and ssl.ema_start=0.99 both set",
        ),
        ({"centering": "sinkhorn", "cl_softmax": "tokens"}, "needs ssl.cl_softmax='features'"),
        (
            {"cl_grad_ratio": 0.5, "cl_stop_input_grad": True},
            "ssl.cl_grad_ratio and ssl.cl_stop_input_grad both",
        ),
        ({"centering": "mean"}, "ssl.centering='mean': use 'ema'"),
        (
            {"variant": "cm-mnm", "ema_horizon_frac": 0.1},
            "add ssl.ema_copy=true",
        ),
    ],
)
def test_invalid_combinations_are_refused_naming_the_keys(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=_re(message)):
        SSLConfig(**changes)


def _re(text: str) -> str:
    import re

    return re.escape(text)
