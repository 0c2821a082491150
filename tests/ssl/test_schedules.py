"""Tests for the pure schedule functions."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest

from findna.ssl.config import SSLConfig
from findna.ssl.schedules import (
    cl_weight,
    cosine_with_warmup,
    ema_momentum,
    step_schedule,
    teacher_temperature,
    teacher_temperature_at_step,
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


def test_teacher_temperature_by_step_rises_over_a_fraction_of_the_run() -> None:
    # 100 steps, warm-up over the first 40: 0.02 -> 0.06
    assert teacher_temperature_at_step(0, 100, 0.06, 0.02, 0.4) == pytest.approx(0.02)
    assert teacher_temperature_at_step(20, 100, 0.06, 0.02, 0.4) == pytest.approx(0.04)
    assert teacher_temperature_at_step(40, 100, 0.06, 0.02, 0.4) == pytest.approx(0.06)
    assert teacher_temperature_at_step(150, 100, 0.06, 0.02, 0.4) == pytest.approx(0.06)
    assert teacher_temperature_at_step(0, 100, 0.06, None, 0.4) == 0.06  # no start: no warm-up
    assert teacher_temperature_at_step(0, 100, 0.06, 0.02, 0.0) == 0.06


def test_cl_weight_delay_then_linear_ramp() -> None:
    assert [cl_weight(s, 10) for s in (0, 5, 10, 20)] == [1.0, 1.0, 1.0, 1.0]  # default: off
    # 100 steps: 0 for the first 20, then 0 -> 1 over the next 40, then 1
    values = {s: cl_weight(s, 100, delay_frac=0.2, warmup_frac=0.4) for s in (0, 19, 20, 40, 60)}
    assert values == {0: 0.0, 19: 0.0, 20: 0.0, 40: pytest.approx(0.5), 60: 1.0}
    assert cl_weight(0, 100, warmup_frac=0.5) == 0.0  # a ramp alone starts at 0 too
    assert cl_weight(25, 100, warmup_frac=0.5) == pytest.approx(0.5)
    assert cl_weight(9, 10, delay_frac=1.0) == 0.0 and cl_weight(10, 10, delay_frac=1.0) == 1.0
    assert cl_weight(49, 100, delay_frac=0.5) == 0.0 and cl_weight(50, 100, delay_frac=0.5) == 1.0
    ramp = [cl_weight(s, 100, 0.1, 0.3) for s in range(101)]
    assert all(a <= b for a, b in pairwise(ramp))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: cl_weight(0, 10, delay_frac=-0.1), "delay_frac"),
        (lambda: cl_weight(0, 10, warmup_frac=2.0), "warmup_frac"),
        (lambda: cl_weight(0, 0), "total_steps"),
        (lambda: teacher_temperature_at_step(0, 10, 0.04, 0.02, 1.5), "warmup_frac"),
    ],
)
def test_new_schedules_reject_bad_arguments(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_step_schedule_counts_the_temperature_warmup_in_steps_for_one_epoch_runs() -> None:
    # The tiny preset runs one epoch: a warm-up in epochs never starts, one in steps does.
    by_epoch = SSLConfig(
        teacher_temp=0.07, teacher_temp_warmup_start=0.02, teacher_temp_warmup_epochs=1
    )
    by_step = SSLConfig(
        teacher_temp=0.07, teacher_temp_warmup_start=0.02, teacher_temp_warmup_frac=0.5
    )
    temps = [step_schedule(s, 100, 100, by_step).teacher_temp for s in (0, 25, 50, 99)]
    assert temps == [pytest.approx(t) for t in (0.02, 0.045, 0.07, 0.07)]
    assert {step_schedule(s, 100, 100, by_epoch).teacher_temp for s in range(100)} == {0.02}


def test_step_schedule_gives_the_cl_weight_and_defaults_to_one() -> None:
    assert {step_schedule(s, 40, 10, SSLConfig()).cl_weight for s in range(41)} == {1.0}
    ssl = SSLConfig(cl_delay_frac=0.25, cl_warmup_frac=0.5)
    weights = [step_schedule(s, 40, 10, ssl).cl_weight for s in (0, 10, 20, 30, 45)]
    assert weights == [0.0, 0.0, pytest.approx(0.5), 1.0, 1.0]
