"""Tests for SSLConfig, the EMA update and the SelfDistillation student/teacher module."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from findna.config import config_from_dict
from findna.model.config import ModelConfig
from findna.ssl.config import SSLConfig
from findna.ssl.mnm import mnm_loss
from findna.ssl.student_teacher import SelfDistillation, ema_update_
from findna.ssl.views import ViewBatch, ViewConfig, build_views

SEQ_LEN = 32


def _model_cfg() -> ModelConfig:
    # 32 bp + 10 CLS = 42 tokens -> 6 blocks per layer, d = 7 tracks x 4 = 28
    return ModelConfig(track_size=4, hidden=16, n_layers=1, max_len=SEQ_LEN + 10)


def _views(seed: int = 0, batch: int = 4, n_cls: int = 10) -> ViewBatch:
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (batch, SEQ_LEN), generator=gen)
    return build_views(codes, ViewConfig(n_cls=n_cls), generator=gen)


def _module(seed: int = 0, **ssl: object) -> SelfDistillation:
    torch.manual_seed(seed)  # nn.Linear default init draws from the global RNG
    return SelfDistillation(_model_cfg(), SSLConfig(**ssl))


# --- SSLConfig ---------------------------------------------------------------------------------


def test_ssl_config_defaults_are_the_paper() -> None:
    cfg = SSLConfig()
    assert (cfg.variant, cfg.n_cls, cfg.alpha, cfg.student_temp, cfg.teacher_temp) == (
        "findna",
        10,
        0.5,
        0.1,
        0.04,
    )
    assert (cfg.center_momentum, cfg.ema_start, cfg.ema_end, cfg.cl_head, cfg.mnm_loss) == (
        0.996,
        0.996,
        1.0,
        "shared",
        "ce",
    )
    ref = SSLConfig.reference()
    assert (ref.center_momentum, ref.mnm_loss, ref.loss_scale) == (0.9, "reference_bce", 2.0)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"n_cls": 0}, "n_cls=0"),
        ({"alpha": 1.5}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"student_temp": 0.0}, "student_temp"),
        ({"teacher_temp": -0.04}, "teacher_temp"),
        ({"teacher_temp_warmup_epochs": 5}, "teacher_temp_warmup_start"),
        ({"center_momentum": 1.2}, "center_momentum"),
        ({"ema_start": 0.999, "ema_end": 0.99}, "ema_start"),
    ],
)
def test_ssl_config_rejects_bad_values(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SSLConfig(**changes)


def test_ssl_config_from_dict_and_cm_mnm_allows_no_cls() -> None:
    cfg = config_from_dict(SSLConfig, {"variant": "cm-mnm", "n_cls": 0})
    assert not cfg.uses_teacher
    with pytest.raises(ValueError, match="unknown key"):
        config_from_dict(SSLConfig, {"lambda1": 1.0})
    with pytest.raises(ValueError, match="cl_head"):
        config_from_dict(SSLConfig, {"cl_head": "dino"})


# --- EMA ---------------------------------------------------------------------------------------


def _pair() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    teacher = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    student = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    student[1].running_mean.fill_(2.0)
    student[1].num_batches_tracked.fill_(7)
    return teacher, student


def test_ema_momentum_one_keeps_teacher_and_zero_copies_student() -> None:
    teacher, student = _pair()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    ema_update_(teacher, student, 1.0)
    for k, v in teacher.state_dict().items():
        if v.is_floating_point():
            assert torch.equal(v, before[k]), k
    ema_update_(teacher, student, 0.0)
    for k, v in teacher.state_dict().items():
        assert torch.equal(v, student.state_dict()[k]), k


def test_ema_half_is_the_average_and_buffers_follow() -> None:
    teacher, student = _pair()
    expected = (teacher[0].weight + student[0].weight).detach() / 2
    ema_update_(teacher, student, 0.5)
    torch.testing.assert_close(teacher[0].weight, expected)
    torch.testing.assert_close(teacher[1].running_mean, torch.full((4,), 1.0))
    assert teacher[1].num_batches_tracked.item() == 7  # integer buffers are copied


def test_ema_rejects_different_modules() -> None:
    with pytest.raises(ValueError, match="exact copy"):
        ema_update_(nn.Linear(3, 4), nn.Sequential(nn.Linear(3, 4)), 0.5)
    with pytest.raises(ValueError, match="shape"):
        ema_update_(nn.Linear(3, 4), nn.Linear(3, 5), 0.5)


# --- SelfDistillation --------------------------------------------------------------------------


def test_teacher_is_exact_frozen_copy_in_eval_mode() -> None:
    model = _module()
    s_state, t_state = model.student.state_dict(), model.teacher.state_dict()
    assert s_state.keys() == t_state.keys()
    assert all(torch.equal(s_state[k], t_state[k]) for k in s_state)
    assert all(not p.requires_grad for p in model.teacher.parameters())
    model.train()
    assert model.student.training and not model.teacher.training
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in model.student_parameters()}
    assert model.distill.center.shape == (10, 5)


def test_forward_backward_finite_and_teacher_gets_no_gradient() -> None:
    model = _module().train()
    out = model(_views())
    for name, value in out.metrics().items():
        assert torch.isfinite(value), name
    assert out.loss.requires_grad and not out.loss_cl.requires_grad
    out.loss.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.student.parameters())
    torch.testing.assert_close(out.loss, 0.5 * out.loss_mnm + 0.5 * out.loss_cl)
    # teacher entropy lies in [0, log 5]
    assert 0.0 <= out.teacher_entropy.item() <= torch.log(torch.tensor(5.0)).item() + 1e-6


def test_centre_updates_only_in_training() -> None:
    model = _module()
    views = _views()
    model.eval()
    with torch.no_grad():
        model(views)
    assert torch.all(model.distill.center == 0)
    model.train()
    out = model(views)
    assert out.center_norm.item() == 0.0  # the loss used the previous (zero) centre
    with torch.no_grad():
        q = model.teacher(views.teacher).logits[:, SEQ_LEN:]
    torch.testing.assert_close(model.distill.center, (1 - 0.996) * q.mean(dim=0))


def test_cm_mnm_has_no_teacher_and_loss_is_mnm() -> None:
    model = _module(variant="cm-mnm").train()
    assert model.teacher is None and model.distill is None
    views = _views()
    out = model(views)
    expected, _ = mnm_loss(
        model.student(views.student).logits[:, :SEQ_LEN], views.targets, views.mask
    )
    torch.testing.assert_close(out.loss, expected)
    assert out.loss_cl is None and set(out.metrics()) == {"loss", "loss_mnm", "mnm_acc"}
    model.update_teacher(0.5)  # a no-op, not an error


def test_update_teacher_moves_toward_student() -> None:
    model = _module()
    with torch.no_grad():
        for p in model.student.parameters():
            p.add_(1.0)
    name, s_param = next(iter(model.student.named_parameters()))
    t_param = dict(model.teacher.named_parameters())[name]
    old = t_param.clone()
    model.update_teacher(0.75)
    torch.testing.assert_close(t_param, 0.75 * old + 0.25 * s_param.detach())


def test_wrong_number_of_cls_rows_is_rejected() -> None:
    model = _module(n_cls=4)
    with pytest.raises(ValueError, match="n_cls=4"):
        model(_views(n_cls=10))


@pytest.mark.parametrize("fill", ["all_n", "all_zero"])
def test_forward_finite_for_all_n_and_all_padding_inputs(fill: str) -> None:
    model = _module().train()
    views = _views()
    student = torch.zeros_like(views.student)
    if fill == "all_n":
        student[:, :SEQ_LEN, 4] = 1.0
    targets = torch.full_like(views.targets, 4)
    weird = ViewBatch(student, student.clone(), targets, views.mask, views.n_cls)
    out = model(weird)
    out.loss.backward()
    assert all(torch.isfinite(v) for v in out.metrics().values())
    empty = ViewBatch(student, student.clone(), targets, torch.zeros_like(views.mask), views.n_cls)
    out = model(empty)
    assert out.loss_mnm.item() == 0.0 and torch.isfinite(out.loss)


@pytest.mark.parametrize(
    "ssl",
    [
        {},
        {"cl_head": "latent"},
        {"cl_head": "mlp", "mlp_hidden_dim": 16, "mlp_bottleneck_dim": 8, "mlp_out_dim": 12},
        {"variant": "cm-mnm"},
        {"mnm_loss": "reference_bce"},
    ],
)
def test_sgd_steps_on_a_fixed_batch_reduce_the_loss(ssl: dict) -> None:
    model = _module(**ssl).train()
    views = _views(batch=8)
    opt = torch.optim.SGD(list(model.student_parameters()), lr=0.01)
    losses = []
    for _ in range(8):
        out = model(views)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        model.update_teacher(0.996)
        losses.append(out.loss.item())
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]


def test_the_step_teacher_temperature_is_passed_in_and_not_stored() -> None:
    model = _module().eval()
    views = _views()
    sharp, soft = model(views, teacher_temp=0.02), model(views, teacher_temp=0.5)
    # A softer teacher target has a higher entropy; the module keeps its configured tau_t.
    assert soft.teacher_entropy > sharp.teacher_entropy
    assert model.distill.teacher_temp == 0.04
    default, explicit = model(views), model(views, teacher_temp=0.04)
    assert torch.equal(default.loss, explicit.loss)


def test_mlp_head_pair_is_copied_frozen_and_sets_the_cl_dimension() -> None:
    model = _module(cl_head="mlp", mlp_hidden_dim=16, mlp_bottleneck_dim=8, mlp_out_dim=12)
    assert model.distill.center.shape == (10, 12)
    s_state, t_state = model.student_head.state_dict(), model.teacher_head.state_dict()
    assert s_state.keys() == t_state.keys()
    assert all(torch.equal(s_state[k], t_state[k]) for k in s_state)
    assert all(not p.requires_grad for p in model.teacher_head.parameters())
    model.train()
    assert not model.teacher_head.training
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert trainable == {id(p) for p in model.student_parameters()}
    out = model(_views())
    out.loss.backward()
    assert all(p.grad is None for p in model.teacher_head.parameters())
    assert model.student_head.mlp[0].weight.grad is not None


@pytest.mark.parametrize("symmetric", [False, True])
def test_the_teacher_softmax_runs_once_per_direction(symmetric: bool, monkeypatch) -> None:
    """Issue 20: the entropy diagnostic reuses the loss's targets instead of a second softmax."""
    model = _module(symmetric=symmetric).train()
    calls = []
    probs = type(model.distill).teacher_probs
    monkeypatch.setattr(
        type(model.distill), "teacher_probs", lambda self, *a: calls.append(1) or probs(self, *a)
    )
    model(_views()).loss.backward()
    assert len(calls) == (2 if symmetric else 1)
