"""Tests for the student/teacher view presets, build_views and the view KL."""

import dataclasses
import math

import pytest
import torch

from findna.config import config_from_dict
from findna.data import alphabet as ab
from findna.ssl.view_config import VIEW_PRESETS
from findna.ssl.views import ViewConfig, build_views, view_kl


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def codes(batch: int = 8, length: int = 100, seed: int = 1, high: int = 4) -> torch.Tensor:
    return torch.randint(0, high, (batch, length), generator=gen(seed))


@pytest.mark.parametrize("preset", list(VIEW_PRESETS))
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_every_preset_gives_shapes_dtypes_and_zero_cls_rows(preset, dtype):
    x = codes()
    vb = build_views(x, ViewConfig(preset=preset, n_cls=7, dtype=dtype), generator=gen())
    want = getattr(torch, dtype)
    for view in (vb.student, vb.teacher):
        assert view.shape == (8, 107, 5) and view.dtype == want
        assert not view[:, 100:].any()  # K exact zero CLS rows at the end
        assert torch.isfinite(view.float()).all()
    assert vb.targets.shape == vb.mask.shape == (8, 100)
    assert vb.targets.dtype == torch.int64 and vb.mask.dtype == torch.bool
    assert vb.n_cls == 7


@pytest.mark.parametrize("preset", list(VIEW_PRESETS))
def test_reproducible_for_a_seed_and_different_for_another(preset):
    x = codes(16)
    cfg = ViewConfig(preset=preset)
    a, b = build_views(x, cfg, generator=gen(5)), build_views(x, cfg, generator=gen(5))
    for f in ("student", "teacher", "targets", "mask"):
        assert torch.equal(getattr(a, f), getattr(b, f)), f
    c = build_views(x, cfg, generator=gen(6))
    assert not torch.equal(a.student, c.student)


def test_paper_targets_are_the_student_view_before_masking():
    x = codes(32, 200)
    vb = build_views(x, ViewConfig(preset="paper"), generator=gen(2))
    rows = vb.student[:, :200]
    unmasked = ~vb.mask
    assert torch.equal(rows[unmasked], ab.one_hot(vb.targets)[unmasked])
    # Deletion/insertion/translocation happened before masking: targets are not the input.
    assert not torch.equal(vb.targets, x)
    zero_rows = ~rows.any(-1)
    assert bool(vb.mask[zero_rows].all())  # every zero row is a masked position
    assert 0.2 < vb.mask.float().mean().item() < 0.4


def test_paper_teacher_is_noise_then_reverse_complement():
    x = codes(64, 50)
    cfg = ViewConfig(preset="paper", noise_std=0.0)
    teacher = build_views(x, cfg, generator=gen(3)).teacher[:, :50]
    fwd = (teacher == ab.one_hot(x)).flatten(1).all(1)
    rev = (teacher == ab.one_hot(ab.reverse_complement_codes(x))).flatten(1).all(1)
    assert bool((fwd | rev).all()) and fwd.any() and rev.any()
    noisy = build_views(x, ViewConfig(preset="paper"), generator=gen(3)).teacher[:, :50]
    resid = torch.minimum(
        (noisy - ab.one_hot(x)).abs().amax((1, 2)),
        (noisy - ab.one_hot(ab.reverse_complement_codes(x))).abs().amax((1, 2)),
    )
    assert 0.3 < resid.min().item() and resid.max().item() < 2.0  # noise sd 0.2 on 250 entries


def test_reference_preset_targets_the_original_and_teacher_is_a_roll():
    x = codes(32, 80)
    cfg = ViewConfig(preset="reference", noise_std=0.0, rc_prob=0.0)
    vb = build_views(x, cfg, generator=gen(4))
    assert torch.equal(vb.targets, x)
    student = vb.student[:, :80]
    assert torch.equal(student[~vb.mask], ab.one_hot(x)[~vb.mask])
    teacher = vb.teacher[:, :80]
    for b in range(32):
        assert any(torch.equal(teacher[b], ab.one_hot(torch.roll(x[b], s))) for s in range(-20, 21))


def test_reference_preset_random_replacements_include_n():
    x = torch.zeros((100, 200), dtype=torch.long)
    cfg = ViewConfig(preset="reference", noise_std=0.0, rc_prob=0.0, mask_ratio=1.0)
    student = build_views(x, cfg, generator=gen()).student[:, :200]
    assert student[..., ab.N].any()
    paper_like = dataclasses.replace(cfg, mask_random_from="acgt")
    assert not build_views(x, paper_like, generator=gen()).student[..., ab.N].any()


def test_m_noaug_teacher_is_the_clean_input_and_mdt_nr_equals_paper():
    x = codes(8, 60)
    vb = build_views(x, ViewConfig(preset="m_noaug"), generator=gen())
    assert torch.equal(vb.teacher[:, :60], ab.one_hot(x)) and torch.equal(vb.targets, x)
    a = build_views(x, ViewConfig(preset="paper"), generator=gen(1))
    b = build_views(x, ViewConfig(preset="mdt_nr"), generator=gen(1))
    assert torch.equal(a.student, b.student) and torch.equal(a.teacher, b.teacher)


def test_step_overrides_replace_the_preset_chains():
    x = codes(4, 50)
    cfg = ViewConfig(student_steps=("mask",), teacher_steps=(), mask_ratio=0.0)
    vb = build_views(x, cfg, generator=gen())
    assert torch.equal(vb.student, vb.teacher)
    assert view_kl(vb.student, vb.teacher, n_cls=vb.n_cls).item() == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(preset="dino"), "unknown"),
        (dict(student_steps=("mask", "noise", "deletion")), "cannot follow 'noise'"),
        (dict(teacher_steps=("mask",)), "only allowed in the student"),
        (dict(student_steps=("deletion",)), "exactly once"),
        (dict(student_steps=("mask", "shuffle")), "unknown"),
        (dict(deletion_min=5, deletion_max=2), "deletion_min"),
        (dict(mask_p_keep=0.5), "sum to 1"),
        (dict(n_cls=-1), "n_cls"),
    ],
)
def test_bad_config_raises_with_a_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ViewConfig(**kwargs)


def test_config_loads_from_a_yaml_style_dict():
    cfg = config_from_dict(
        ViewConfig, {"preset": "reference", "teacher_steps": ["translocation", "rc"], "n_cls": 4}
    )
    assert cfg.teacher_steps == ("translocation", "rc")
    assert cfg.recipe().random_from == "acgtn" and cfg.recipe().target == "original"
    with pytest.raises(ValueError, match="not one of"):
        config_from_dict(ViewConfig, {"preset": "reference", "student_steps": ["flip"]})


def test_all_n_input_gives_finite_views_and_kl():
    x = torch.full((4, 64), ab.N)
    for preset in VIEW_PRESETS:
        vb = build_views(x, ViewConfig(preset=preset), generator=gen())
        kl = view_kl(vb.student, vb.teacher, n_cls=vb.n_cls)
        assert torch.isfinite(kl) and kl.item() >= 0


def test_view_kl_is_zero_for_identical_views():
    v = torch.randn(3, 20, 5, generator=gen())
    assert view_kl(v, v.clone()).item() == pytest.approx(0.0, abs=1e-7)


def test_view_kl_matches_a_hand_computed_two_token_value():
    u = torch.tensor([[[1.0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]])  # A, zero row
    v = torch.tensor([[[0.0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]])  # T, zero row
    # Token 1: u = (e,1,1,1,1)/(e+4), v = (1,1,1,e,1)/(e+4) -> KL = (e-1)/(e+4); token 2: 0.
    want = (math.e - 1) / (math.e + 4) / 2
    assert view_kl(u, v).item() == pytest.approx(want, rel=1e-6)
    # Direction: KL(student || teacher) with student softmax(2,0,0,0,0) and a uniform teacher.
    p = torch.tensor([[[2.0, 0, 0, 0, 0]]])
    q = torch.zeros(1, 1, 5)
    z = math.exp(2) + 4
    fwd = 2 * math.exp(2) / z - math.log(z / 5)
    rev = 0.2 * math.log(0.2 * z / math.exp(2)) + 0.8 * math.log(0.2 * z)
    assert view_kl(p, q).item() == pytest.approx(fwd, rel=1e-6)
    assert view_kl(q, p).item() == pytest.approx(rev, rel=1e-6)
    assert abs(fwd - rev) > 0.05


def test_view_kl_excludes_cls_rows():
    u = torch.tensor([[[1.0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]])
    v = torch.tensor([[[0.0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]])
    cls_u, cls_v = torch.randn(1, 3, 5, generator=gen(1)), torch.randn(1, 3, 5, generator=gen(2))
    with_cls = view_kl(torch.cat([u, cls_u], 1), torch.cat([v, cls_v], 1), n_cls=3)
    assert with_cls.item() == pytest.approx(view_kl(u, v).item(), rel=1e-6)
    with pytest.raises(ValueError, match="same"):
        view_kl(u, v[:, :1])
    with pytest.raises(ValueError, match="n_cls"):
        view_kl(u, v, n_cls=2)


def test_masked_no_aug_kl_is_near_the_paper_value():
    # Table 4 reports 0.025 for M+NoAug on real data; on uniform random ACGT the expected value is
    # 0.3 * (0.8 * KL(uniform || one-hot softmax) + 0.1 * 0.75 * KL(one-hot || other one-hot)).
    e = math.e
    kl_zero = 0.2 * math.log(0.2 * (e + 4) / e) + 0.8 * math.log(0.2 * (e + 4))
    kl_swap = (e - 1) / (e + 4)  # per swapped token, see the two-token test
    expected = 0.3 * (0.8 * kl_zero + 0.075 * kl_swap)
    vb = build_views(codes(64, 1000), ViewConfig(preset="m_noaug"), generator=gen(7))
    assert view_kl(vb.student, vb.teacher, n_cls=vb.n_cls).item() == pytest.approx(
        expected, rel=0.05
    )


def test_position_moving_steps_after_mask_are_rejected():
    with pytest.raises(ValueError, match=r"\['rc'\] after 'mask' move positions"):
        ViewConfig(student_steps=("mask", "rc"))
    # Keeping the reference code's misalignment is allowed, but only on purpose.
    assert ViewConfig(student_steps=("mask", "rc"), mnm_target="original").recipe().target == (
        "original"
    )
