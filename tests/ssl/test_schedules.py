"""Tests for the pure schedule functions."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from findna.ssl.config import SSLConfig
from findna.ssl.schedules import (
    cosine_with_warmup,
    ema_momentum,
    step_schedule,
    teacher_temperature,
)


def test_cosine_with_warmup_endpoints_and_midpoints() -> None:
    total = 20  # warm-up 0.2 * 20 = 4 steps, then 16 steps of half a cosine
    assert cosine_with_warmup(0, total, warmup_frac=0.2) == 0.0
    assert cosine_with_warmup(1, total, warmup_frac=0.2) == pytest.approx(0.25)
    assert cosine_with_warmup(4, total, warmup_frac=0.2) == pytest.approx(1.0)
    assert cosine_with_warmup(12, total, warmup_frac=0.2) == pytest.approx(0.5)
    assert cosine_with_warmup(20, total, warmup_frac=0.2) == pytest.approx(0.0, abs=1e-12)
    assert cosine_with_warmup(25, total, warmup_frac=0.2) == pytest.approx(0.0, abs=1e-12)


def test_cosine_with_warmup_reference_defaults_and_monotonicity() -> None:
    total = 46_860  # reference: 30 epochs x 1,562 steps, 30% warm-up = 14,058 steps
    values = [cosine_with_warmup(s, total) for s in range(0, total + 1, 7)]
    peak = max(range(len(values)), key=values.__getitem__)
    assert all(a <= b for a, b in pairwise(values[: peak + 1]))
    assert all(a >= b for a, b in pairwise(values[peak:]))
    assert cosine_with_warmup(14_058, total) == pytest.approx(1.0)
    assert cosine_with_warmup(0, total) == 0.0 and cosine_with_warmup(total, total) < 1e-12


def test_cosine_without_warmup_starts_at_one() -> None:
    assert cosine_with_warmup(0, 10, warmup_frac=0.0) == 1.0


def test_ema_momentum_endpoints_midpoint_monotone() -> None:
    total = 1000
    assert ema_momentum(0, total) == pytest.approx(0.996)
    assert ema_momentum(total // 2, total) == pytest.approx(0.998)
    assert ema_momentum(total, total) == pytest.approx(1.0)
    assert ema_momentum(total + 5, total) == pytest.approx(1.0)
    values = [ema_momentum(s, total) for s in range(total + 1)]
    assert all(a <= b for a, b in pairwise(values))
    # the reference's closed form 1 - 0.002 (1 + cos(pi i / T))
    assert ema_momentum(123, total) == pytest.approx(1 - 0.002 * (1 + math.cos(math.pi * 0.123)))


def test_teacher_temperature_constant_and_warmup() -> None:
    assert teacher_temperature(0, 0.04) == 0.04
    assert teacher_temperature(7, 0.04, warmup_start=0.02, warmup_epochs=0) == 0.04
    assert teacher_temperature(0, 0.07, warmup_start=0.04, warmup_epochs=30) == pytest.approx(0.04)
    assert teacher_temperature(15, 0.07, warmup_start=0.04, warmup_epochs=30) == pytest.approx(
        0.055
    )
    assert teacher_temperature(30, 0.07, warmup_start=0.04, warmup_epochs=30) == pytest.approx(0.07)
    assert teacher_temperature(99, 0.07, warmup_start=0.04, warmup_epochs=30) == pytest.approx(0.07)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cosine_with_warmup(0, 0), "total_steps"),
        (lambda: cosine_with_warmup(-1, 10), "step"),
        (lambda: cosine_with_warmup(0, 10, warmup_frac=1.5), "warmup_frac"),
        (lambda: ema_momentum(0, 10, start=1.0, end=0.9), "start"),
        (lambda: teacher_temperature(-1, 0.04), "epoch"),
    ],
)
def test_schedules_reject_bad_arguments(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_step_schedule_gives_the_three_values_of_a_step() -> None:
    ssl = SSLConfig(teacher_temp=0.07, teacher_temp_warmup_start=0.04, teacher_temp_warmup_epochs=2)
    # 40 steps, 10 per epoch, warm-up 0.25 * 40 = 10 steps.
    s0 = step_schedule(0, 40, 10, ssl, warmup_frac=0.25)
    assert (s0.lr_scale, s0.ema_momentum, s0.teacher_temp) == (0.0, 0.996, 0.04)
    s15 = step_schedule(15, 40, 10, ssl, warmup_frac=0.25)  # epoch 1: halfway through warm-up
    assert s15.teacher_temp == pytest.approx(0.055)
    assert s15.lr_scale == pytest.approx(0.5 * (1 + math.cos(math.pi * 5 / 30)))
    assert s15.ema_momentum == pytest.approx(1 - 0.002 * (1 + math.cos(math.pi * 15 / 40)))
    end = step_schedule(45, 40, 10, ssl, warmup_frac=0.25)  # past the end: final values
    assert (end.lr_scale, end.ema_momentum, end.teacher_temp) == (0.0, 1.0, 0.07)
    with pytest.raises(ValueError, match="steps_per_epoch=0"):
        step_schedule(0, 40, 0, ssl)
