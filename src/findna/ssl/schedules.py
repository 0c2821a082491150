"""Pure schedule functions: step (or epoch) -> value. No state, no optimiser objects.

- ``cosine_with_warmup``: the learning-rate multiplier of HuggingFace's
  ``get_cosine_schedule_with_warmup`` (linear 0 -> 1 over the warm-up, then cosine to 0), used by
  the reference with a 30% warm-up and half a cosine cycle (docs/method.md §2.7). Wrap it in
  ``torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_with_warmup(s, total))``.
- ``ema_momentum``: the teacher EMA momentum, cosine from 0.996 up to 1.0 over all iterations
  (docs/method.md §2.4).
- ``teacher_temperature``: the optional DINO-style teacher-temperature warm-up (an ablation; the
  paper and the reference use a constant 0.04), by epoch; ``teacher_temperature_at_step`` the
  same warm-up by step, its length a fraction of the run (``ssl.teacher_temp_warmup_frac``).
- ``cl_weight``: the weight of the distillation terms, 0 during an optional delay, then a linear
  ramp to 1 (``ssl.cl_delay_frac``, ``ssl.cl_warmup_frac``; 1 throughout by default).
- ``step_schedule``: all of them for one optimiser step, computed together. The trainer asks for
  it once per step and passes the values in (learning rate to the optimiser, temperature and CL
  weight to the loss, momentum to the EMA update); nothing holds or mutates schedule state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from findna.ssl.config import SSLConfig


def _check_steps(step: int, total_steps: int) -> None:
    if total_steps < 1:
        raise ValueError(f"total_steps={total_steps} must be at least 1")
    if step < 0:
        raise ValueError(f"step={step} must not be negative")


def cosine_with_warmup(
    step: int, total_steps: int, warmup_frac: float = 0.3, num_cycles: float = 0.5
) -> float:
    """Learning-rate multiplier: linear warm-up from 0 to 1, then cosine decay.

    ``warmup = warmup_frac * total_steps`` (a float, as the reference passes it). For
    ``step < warmup`` the value is ``step / warmup``; afterwards it is
    ``max(0, (1 + cos(2 pi num_cycles progress)) / 2)`` with
    ``progress = (step - warmup) / (total_steps - warmup)``, which reaches 0 at ``total_steps``
    for ``num_cycles = 0.5``. Steps past ``total_steps`` keep the final value (Lightning may step
    the scheduler once more after the last batch).

    Args:
        step: optimiser steps already taken (0-based).
        total_steps: total optimiser steps of the run.
        warmup_frac: warm-up length as a fraction of ``total_steps`` (0.3).
        num_cycles: cosine cycles after the warm-up (0.5 = half a cycle, 1 -> 0).
    """
    _check_steps(step, total_steps)
    if not 0.0 <= warmup_frac <= 1.0:
        raise ValueError(f"warmup_frac={warmup_frac} must lie in [0, 1] (reference: 0.3)")
    step = min(step, total_steps)
    warmup = warmup_frac * total_steps
    if step < warmup:
        return step / max(1.0, warmup)
    progress = (step - warmup) / max(1.0, total_steps - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(2.0 * math.pi * num_cycles * progress)))


def ema_momentum(step: int, total_steps: int, start: float = 0.996, end: float = 1.0) -> float:
    """Teacher EMA momentum ``end - (end - start) * (1 + cos(pi * step / total_steps)) / 2``.

    Equals ``start`` at step 0 and ``end`` at ``total_steps`` (and after it). With the defaults
    this is the reference's ``1 - 0.002 (1 + cos(pi i / T))``.
    """
    _check_steps(step, total_steps)
    if not 0.0 <= start <= end <= 1.0:
        raise ValueError(f"need 0 <= start <= end <= 1, got start={start}, end={end}")
    step = min(step, total_steps)
    return end - (end - start) * (1.0 + math.cos(math.pi * step / total_steps)) / 2.0


def horizon_start(total_steps: int, horizon_frac: float, end: float = 1.0) -> float:
    """The starting EMA momentum of a teacher whose averaging window is ``horizon_frac`` of the
    run: ``1 - 1 / (horizon_frac * total_steps)``, clipped to ``[0, end]``.

    An EMA of momentum m averages over about ``1 / (1 - m)`` steps, so a window of H steps is
    m = 1 - 1/H (the paper's 0.996 is a 250-step window; tiny's 1,024 steps at 0.05 give 51).
    """
    if total_steps < 1:
        raise ValueError(f"total_steps={total_steps} must be at least 1")
    if not 0.0 < horizon_frac <= 1.0:
        raise ValueError(f"horizon_frac={horizon_frac} must lie in (0, 1]")
    return min(end, max(0.0, 1.0 - 1.0 / (horizon_frac * total_steps)))


def ema_start_of(ssl: SSLConfig, total_steps: int) -> float:
    """The EMA momentum at step 0 of a run of ``total_steps``: ``ssl.ema_start``, or the start
    fitted to the run when ``ssl.ema_horizon_frac`` is set (:func:`horizon_start`)."""
    if ssl.ema_horizon_frac > 0:
        return horizon_start(total_steps, ssl.ema_horizon_frac, ssl.ema_end)
    return ssl.ema_start


def initial_weight_share(steps: int, total_steps: int, start: float, end: float = 1.0) -> float:
    """The share of the teacher's initial weights left after ``steps`` EMA updates.

    Each update ``t <- m t + (1 - m) s`` keeps a share m of what the teacher held, so after
    updates 0..steps-1 with the momenta of :func:`ema_momentum` the initial weights keep the
    product of those momenta (m**n for a constant m over n steps).
    """
    if steps < 0:
        raise ValueError(f"steps={steps} must not be negative")
    if steps == 0:
        return 1.0
    s = np.arange(min(steps, total_steps + 1), dtype=np.float64)
    momenta = end - (end - start) * (1.0 + np.cos(np.pi * s / total_steps)) / 2.0
    share = float(np.prod(momenta))
    if steps > total_steps + 1:  # past the end the momentum stays at `end`
        share *= end ** (steps - total_steps - 1)
    return share


def teacher_temperature(
    epoch: int, final_temp: float, warmup_start: float | None = None, warmup_epochs: int = 0
) -> float:
    """Teacher temperature tau_t for ``epoch``.

    Without a warm-up (``warmup_start`` None or ``warmup_epochs`` 0) this is ``final_temp``.
    Otherwise it rises linearly from ``warmup_start`` at epoch 0 to ``final_temp`` at epoch
    ``warmup_epochs`` and stays there.
    """
    if epoch < 0:
        raise ValueError(f"epoch={epoch} must not be negative")
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs={warmup_epochs} must not be negative")
    if warmup_start is None or warmup_epochs == 0 or epoch >= warmup_epochs:
        return final_temp
    return warmup_start + (final_temp - warmup_start) * epoch / warmup_epochs


def teacher_temperature_at_step(
    step: int,
    total_steps: int,
    final_temp: float,
    warmup_start: float | None = None,
    warmup_frac: float = 0.0,
) -> float:
    """Teacher temperature tau_t at optimiser step ``step`` with a warm-up counted in steps.

    Without a warm-up (``warmup_start`` None or ``warmup_frac`` 0) this is ``final_temp``.
    Otherwise it rises linearly from ``warmup_start`` at step 0 to ``final_temp`` at step
    ``warmup_frac * total_steps`` and stays there.
    """
    _check_steps(step, total_steps)
    if not 0.0 <= warmup_frac <= 1.0:
        raise ValueError(f"warmup_frac={warmup_frac} must lie in [0, 1]")
    warmup = warmup_frac * total_steps
    if warmup_start is None or warmup == 0 or step >= warmup:
        return final_temp
    return warmup_start + (final_temp - warmup_start) * step / warmup


def cl_weight(
    step: int, total_steps: int, delay_frac: float = 0.0, warmup_frac: float = 0.0
) -> float:
    """Weight of the distillation terms at step ``step``: 0, then a linear ramp, then 1.

    0 for ``step < delay_frac * total_steps`` (MNM alone), then rising linearly to 1 over the next
    ``warmup_frac * total_steps`` steps (a switch from 0 to 1 when ``warmup_frac`` is 0), then 1.
    With both fractions 0 (the default) it is 1 at every step.
    """
    _check_steps(step, total_steps)
    for name, frac in (("delay_frac", delay_frac), ("warmup_frac", warmup_frac)):
        if not 0.0 <= frac <= 1.0:
            raise ValueError(f"{name}={frac} must lie in [0, 1]")
    step = min(step, total_steps)
    delay, ramp = delay_frac * total_steps, warmup_frac * total_steps
    if step < delay:
        return 0.0
    if step >= delay + ramp:
        return 1.0
    return (step - delay) / ramp


@dataclass(frozen=True)
class StepSchedule:
    """The scheduled values of one optimiser step.

    Attributes:
        lr_scale: multiplier of the peak learning rate (:func:`cosine_with_warmup`).
        ema_momentum: teacher EMA momentum after this step's update (:func:`ema_momentum`).
        teacher_temp: tau_t of this step's distillation loss (:func:`teacher_temperature`, or
            :func:`teacher_temperature_at_step` with ``ssl.teacher_temp_warmup_frac``).
        cl_weight: weight of this step's distillation terms (:func:`cl_weight`; 1 by default).
    """

    lr_scale: float
    ema_momentum: float
    teacher_temp: float
    cl_weight: float = 1.0


def step_schedule(
    step: int,
    total_steps: int,
    steps_per_epoch: int,
    ssl: SSLConfig,
    warmup_frac: float = 0.3,
    num_cycles: float = 0.5,
) -> StepSchedule:
    """Learning-rate scale, EMA momentum, teacher temperature and CL weight of step ``step``.

    Args:
        step: optimiser steps already taken (0-based); past ``total_steps`` the final values hold.
        total_steps: optimiser steps of the whole run.
        steps_per_epoch: steps per pass over the windows (the temperature warm-up by epochs).
        ssl: the objective (EMA start/end, teacher temperature and its warm-up, CL warm-up).
        warmup_frac, num_cycles: the learning-rate warm-up share and cosine cycles.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch={steps_per_epoch} must be at least 1")
    if ssl.teacher_temp_warmup_frac > 0:
        temp = teacher_temperature_at_step(
            step,
            total_steps,
            ssl.teacher_temp,
            ssl.teacher_temp_warmup_start,
            ssl.teacher_temp_warmup_frac,
        )
    else:
        temp = teacher_temperature(
            step // steps_per_epoch,
            ssl.teacher_temp,
            ssl.teacher_temp_warmup_start,
            ssl.teacher_temp_warmup_epochs,
        )
    return StepSchedule(
        lr_scale=cosine_with_warmup(step, total_steps, warmup_frac, num_cycles),
        ema_momentum=ema_momentum(step, total_steps, ema_start_of(ssl, total_steps), ssl.ema_end),
        teacher_temp=temp,
        cl_weight=cl_weight(step, total_steps, ssl.cl_delay_frac, ssl.cl_warmup_frac),
    )
