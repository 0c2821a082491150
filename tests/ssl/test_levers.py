"""The issue-9 levers of SelfDistillation: validation, what each changes, and that it trains.

Every lever is off by default; tests/ssl/test_paper_objective.py checks that the default path is
unchanged, these tests check each lever when it is on.
"""

from __future__ import annotations

import math

import pytest
import torch

from findna.config import config_from_dict
from findna.model.config import ModelConfig
from findna.ssl.config import SSLConfig
from findna.ssl.distill import CenteredDistillationLoss
from findna.ssl.ibot import MaskedTokenDistillationLoss, unmasked_student_view
from findna.ssl.koleo import koleo_loss
from findna.ssl.student_teacher import SelfDistillation
from findna.ssl.views import ViewBatch, ViewConfig, build_views

SEQ_LEN = 32
_MLP = {"cl_head": "mlp", "mlp_hidden_dim": 16, "mlp_bottleneck_dim": 8, "mlp_out_dim": 12}


def _views(seed: int = 0, batch: int = 4) -> ViewBatch:
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 4, (batch, SEQ_LEN), generator=gen)
    return build_views(codes, ViewConfig(n_cls=10), generator=gen)


def _module(seed: int = 0, **ssl: object) -> SelfDistillation:
    torch.manual_seed(seed)
    cfg = ModelConfig(track_size=4, hidden=16, n_layers=1, max_len=SEQ_LEN + 10)
    return SelfDistillation(cfg, SSLConfig(**ssl))


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"teacher_temp_warmup_frac": 1.5}, r"teacher_temp_warmup_frac=1.5 must lie in \[0, 1\]"),
        ({"teacher_temp_warmup_frac": 0.3}, "needs teacher_temp_warmup_start"),
        (
            {
                "teacher_temp_warmup_frac": 0.3,
                "teacher_temp_warmup_start": 0.02,
                "teacher_temp_warmup_epochs": 2,
            },
            "both set the warm-up length",
        ),
        ({"cl_delay_frac": -0.1}, r"cl_delay_frac=-0.1 must lie in \[0, 1\]"),
        ({"cl_warmup_frac": 1.1}, r"cl_warmup_frac=1.1 must lie in \[0, 1\]"),
        ({"cl_delay_frac": 0.6, "cl_warmup_frac": 0.6}, "never reach its full weight"),
        ({"cl_softmax": "rows"}, "cl_softmax='rows': use 'features'"),
        ({"cl_softmax": "tokens", "n_cls": 1}, "softmax over one CLS token"),
        ({"koleo_weight": -0.1}, r"koleo_weight=-0.1 must be >= 0 \(0 = off\)"),
        ({"ibot_weight": -1.0}, r"ibot_weight=-1.0 must be >= 0 \(0 = off\)"),
    ],
)
def test_lever_settings_are_validated_with_clear_messages(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SSLConfig(**changes)


def test_levers_are_off_by_default_and_load_from_yaml_keys() -> None:
    cfg = SSLConfig()
    assert (cfg.teacher_temp_warmup_frac, cfg.cl_delay_frac, cfg.cl_warmup_frac) == (0, 0, 0)
    assert not cfg.has_cl_warmup and cfg.cl_softmax == "features"
    on = config_from_dict(
        SSLConfig,
        {"cl_warmup_frac": 0.2, "teacher_temp_warmup_frac": 0.1, "teacher_temp_warmup_start": 0.02},
    )
    assert on.has_cl_warmup and on.teacher_temp_warmup_frac == 0.1
    assert not cfg.symmetric and config_from_dict(SSLConfig, {"symmetric": True}).symmetric
    with pytest.raises(ValueError, match="symmetric: expected true or false"):
        config_from_dict(SSLConfig, {"symmetric": "yes"})


# --- CL warm-up --------------------------------------------------------------------------------


def test_cl_weight_scales_only_the_cl_term_and_is_reported_with_a_warmup() -> None:
    views = _views()
    plain = _module().eval()
    base = plain(views)
    assert "cl_weight" not in base.metrics()  # default: nothing new in the curves
    model = _module(cl_warmup_frac=0.3).eval()
    off, half = model(views, cl_weight=0.0), model(views, cl_weight=0.5)
    torch.testing.assert_close(off.loss, 0.5 * base.loss_mnm)  # MNM alone at weight 0
    torch.testing.assert_close(half.loss, 0.5 * base.loss_mnm + 0.25 * base.loss_cl)
    assert torch.equal(off.loss_cl, base.loss_cl)  # the CL loss is still computed and logged
    assert off.metrics()["cl_weight"].item() == 0.0 and half.metrics()["cl_weight"] == 0.5
    assert torch.equal(model(views).loss, base.loss)  # weight 1 = the paper's total
    with pytest.raises(ValueError, match=r"cl_weight=1.5 must lie in \[0, 1\]"):
        model(views, cl_weight=1.5)


def test_at_cl_weight_zero_the_cl_term_sends_no_gradient() -> None:
    views = _views()
    model = _module(cl_delay_frac=0.5).train()
    model(views, cl_weight=0.0).loss.backward()
    with_cl = {n: p.grad.clone() for n, p in model.student.named_parameters()}
    mnm_only = _module(variant="cm-mnm", n_cls=10).train()
    mnm_only.student.load_state_dict(model.student.state_dict())
    (0.5 * mnm_only(views).loss).backward()
    for name, p in mnm_only.student.named_parameters():
        torch.testing.assert_close(with_cl[name], p.grad, msg=name)


# --- cl_softmax = tokens --------------------------------------------------------------------


def test_token_softmax_changes_only_the_cl_term() -> None:
    views = _views()
    feats, toks = _module().eval()(views), _module(cl_softmax="tokens").eval()(views)
    assert torch.equal(feats.loss_mnm, toks.loss_mnm)
    assert not torch.isclose(feats.loss_cl, toks.loss_cl)
    # teacher targets over the K = 10 tokens: entropy at most log 10 (not log 5)
    assert 0.0 <= toks.teacher_entropy.item() <= torch.log(torch.tensor(10.0)).item() + 1e-6
    torch.testing.assert_close(toks.loss, 0.5 * toks.loss_mnm + 0.5 * toks.loss_cl)


# --- KoLeo ------------------------------------------------------------------------------------


def test_koleo_term_is_added_to_the_total_and_reported() -> None:
    views = _views()
    base = _module().eval()(views)
    assert "loss_koleo" not in base.metrics()
    model = _module(koleo_weight=0.1).eval()
    out = model(views)
    with torch.no_grad():
        cls_hidden = model.student(views.student).hidden[:, SEQ_LEN:]  # (B, K, d)
    expected = koleo_loss(cls_hidden.transpose(0, 1))
    torch.testing.assert_close(out.loss_koleo, expected)
    torch.testing.assert_close(out.loss, base.loss + 0.1 * expected)
    assert torch.equal(out.loss_cl, base.loss_cl)


# --- iBOT masked-token distillation -----------------------------------------------------------


def _count_teacher_calls(model: SelfDistillation) -> list[int]:
    calls = [0]
    model.teacher.register_forward_hook(lambda *a: calls.__setitem__(0, calls[0] + 1))
    return calls


def test_ibot_term_distils_teacher_tokens_on_the_unmasked_view_at_masked_positions() -> None:
    views = _views()
    base = _module().eval()
    calls = _count_teacher_calls(base)
    ref = base(views)
    assert calls == [1] and "loss_ibot" not in ref.metrics()
    assert not any(k.startswith("ibot.") for k in base.state_dict())
    model = _module(ibot_weight=0.5).eval()
    calls = _count_teacher_calls(model)
    out = model(views)
    assert calls == [2]  # the extra teacher forward, only with iBOT on
    with torch.no_grad():
        p = model.student(views.student).logits[:, :SEQ_LEN]
        q = model.teacher(unmasked_student_view(views)).logits[:, :SEQ_LEN]
    expected, h = MaskedTokenDistillationLoss(dim=5)(p, q, views.mask)
    torch.testing.assert_close(out.loss_ibot, expected)
    torch.testing.assert_close(out.ibot_entropy, h)
    torch.testing.assert_close(out.loss, ref.loss + 0.5 * expected)
    assert 0.0 <= out.ibot_entropy.item() <= math.log(5) + 1e-6
    # the CL weight scales the iBOT term too
    torch.testing.assert_close(model(views, cl_weight=0.0).loss, 0.5 * ref.loss_mnm)


def test_ibot_centre_updates_in_training_only() -> None:
    views = _views()
    model = _module(ibot_weight=1.0, **_MLP)
    model.eval()(views)
    assert torch.all(model.ibot.center == 0) and model.ibot.center.shape == (12,)
    model.train()(views)
    with torch.no_grad():
        hidden = model.teacher(unmasked_student_view(views)).hidden[:, :SEQ_LEN]
        q = model.teacher_head(hidden)
    torch.testing.assert_close(model.ibot.center, (1 - 0.996) * q.mean(dim=(0, 1)))


# --- symmetric loss ---------------------------------------------------------------------------


def test_symmetric_cl_is_the_mean_of_both_directions() -> None:
    views = _views()
    base = _module().eval()(views)
    model = _module(symmetric=True).eval()
    counts = {"student": [0], "teacher": [0]}
    for name, c in counts.items():
        getattr(model, name).register_forward_hook(lambda *a, c=c: c.__setitem__(0, c[0] + 1))
    out = model(views)
    assert counts == {"student": [2], "teacher": [2]}
    with torch.no_grad():
        s_v = model.student(views.teacher).logits[:, SEQ_LEN:]
        t_u = model.teacher(unmasked_student_view(views)).logits[:, SEQ_LEN:]
    fresh = CenteredDistillationLoss(n_cls=10, dim=5)
    back = fresh(s_v, t_u)
    torch.testing.assert_close(out.loss_cl, (base.loss_cl + back) / 2)
    assert torch.equal(out.loss_mnm, base.loss_mnm)
    torch.testing.assert_close(out.loss, 0.5 * out.loss_mnm + 0.5 * out.loss_cl)
    h_back = fresh.target_entropy(fresh.teacher_probs(t_u))
    torch.testing.assert_close(out.teacher_entropy, (base.teacher_entropy + h_back) / 2)


def test_symmetric_centre_uses_both_teacher_outputs_and_shares_the_ibot_forward() -> None:
    views = _views()
    model = _module(symmetric=True, ibot_weight=0.5, koleo_weight=0.1).train()
    calls = _count_teacher_calls(model)
    out = model(views)
    assert calls == [2]  # one teacher forward on u before masking serves both
    assert {"loss_ibot", "loss_koleo", "loss_cl"} <= set(out.metrics())
    with torch.no_grad():
        q_v = model.teacher(views.teacher).logits[:, SEQ_LEN:]
        q_u = model.teacher(unmasked_student_view(views)).logits[:, SEQ_LEN:]
    expected = (1 - 0.996) * torch.cat([q_v, q_u]).mean(dim=0)
    torch.testing.assert_close(model.distill.center, expected)


# --- all levers together, under bf16 autocast --------------------------------------------------

_ALL = {
    "symmetric": True,
    "ibot_weight": 0.5,
    "koleo_weight": 0.1,
    "cl_warmup_frac": 0.2,
    "cl_softmax": "tokens",
}


def test_every_term_is_float32_and_finite_under_bf16_autocast() -> None:
    views = _views()
    model = _module(**_ALL).eval()
    full = model(views, cl_weight=0.5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        half = model(views, cl_weight=0.5)
    for name, value in half.metrics().items():
        assert value.dtype == torch.float32 and torch.isfinite(value), name
    assert half.loss.dtype == torch.float32
    for name in ("loss_mnm", "loss_koleo"):  # not sharpened by tau_t: close to float32
        assert getattr(half, name).item() == pytest.approx(getattr(full, name).item(), rel=0.05)


# --- a few SGD steps with each lever on --------------------------------------------------------


@pytest.mark.parametrize(
    ("ssl", "forward"),
    [
        ({"cl_warmup_frac": 0.5}, {"cl_weight": 0.5}),
        ({"cl_delay_frac": 0.5, **_MLP}, {"cl_weight": 0.0}),
        ({"teacher_temp_warmup_frac": 0.5, "teacher_temp_warmup_start": 0.02}, {}),
        ({"cl_softmax": "tokens"}, {}),
        ({"cl_softmax": "tokens", "cl_head": "latent"}, {}),
        ({"koleo_weight": 0.1}, {}),
        ({"ibot_weight": 0.5}, {}),
        ({"ibot_weight": 0.5, **_MLP}, {}),
        ({"symmetric": True}, {}),
        ({"symmetric": True, **_MLP}, {}),
        (
            {"symmetric": True, "ibot_weight": 0.5, "koleo_weight": 0.1, "cl_warmup_frac": 0.2},
            {"cl_weight": 0.5},
        ),
    ],
    ids=[
        "cl_warmup",
        "cl_delay_mlp",
        "ttemp_steps",
        "tokens",
        "tokens_latent",
        "koleo",
        "ibot",
        "ibot_mlp",
        "symmetric",
        "symmetric_mlp",
        "all",
    ],
)
def test_optimiser_steps_on_a_fixed_batch_reduce_the_loss_with_the_lever_on(
    ssl: dict, forward: dict
) -> None:
    """Adam as the trainer's AdamW (plain SGD overshoots on the mlp head's normalised
    bottleneck), in training mode: the teacher EMA and the centres move as in a run."""
    model = _module(**ssl).train()
    views = _views(batch=8)
    opt = torch.optim.Adam(list(model.student_parameters()), lr=1e-3)
    losses = []
    for _ in range(8):
        out = model(views, **forward)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        model.update_teacher(0.996)
        losses.append(out.loss.item())
        assert all(torch.isfinite(v) for v in out.metrics().values())
    assert losses[-1] < losses[0]
