"""Pure schedule functions: step (or epoch) -> value. No state, no optimiser objects.

- ``cosine_with_warmup``: the learning-rate multiplier of HuggingFace's
  ``get_cosine_schedule_with_warmup`` (linear 0 -> 1 over the warm-up, then cosine to 0), used by
  the reference with a 30% warm-up and half a cosine cycle (docs/method.md §2.7). Wrap it in
  ``torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_with_warmup(s, total))``.
- ``ema_momentum``: the teacher EMA momentum, cosine from 0.996 up to 1.0 over all iterations
  (docs/method.md §2.4).
- ``teacher_temperature``: the optional DINO-style teacher-temperature warm-up (an ablation; the
  paper and the reference use a constant 0.04).
- ``step_schedule``: all three for one optimiser step, computed together. The trainer asks for it
  once per step and passes the values in (learning rate to the optimiser, temperature to the loss,
  momentum to the EMA update); nothing holds or mutates schedule state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class StepSchedule:
    """The scheduled values of one optimiser step.

    Attributes:
        lr_scale: multiplier of the peak learning rate (:func:`cosine_with_warmup`).
        ema_momentum: teacher EMA momentum after this step's update (:func:`ema_momentum`).
        teacher_temp: tau_t of this step's distillation loss (:func:`teacher_temperature`).
    """

    lr_scale: float
    ema_momentum: float
    teacher_temp: float


def step_schedule(
    step: int,
    total_steps: int,
    steps_per_epoch: int,
    ssl: SSLConfig,
    warmup_frac: float = 0.3,
    num_cycles: float = 0.5,
) -> StepSchedule:
    """Learning-rate scale, EMA momentum and teacher temperature of global step ``step``.

    Args:
        step: optimiser steps already taken (0-based); past ``total_steps`` the final values hold.
        total_steps: optimiser steps of the whole run.
        steps_per_epoch: steps per pass over the windows (the temperature warm-up counts epochs).
        ssl: the objective (EMA start/end, teacher temperature and its warm-up).
        warmup_frac, num_cycles: the learning-rate warm-up share and cosine cycles.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch={steps_per_epoch} must be at least 1")
    return StepSchedule(
        lr_scale=cosine_with_warmup(step, total_steps, warmup_frac, num_cycles),
        ema_momentum=ema_momentum(step, total_steps, ssl.ema_start, ssl.ema_end),
        teacher_temp=teacher_temperature(
            step // steps_per_epoch,
            ssl.teacher_temp,
            ssl.teacher_temp_warmup_start,
            ssl.teacher_temp_warmup_epochs,
        ),
    )
