"""The EMA update of a teacher network toward its student (DINO's momentum teacher).

Used by ``findna.ssl.student_teacher.SelfDistillation`` (the findna teacher and cm-mnm's
``ssl.ema_copy``), after each optimiser step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


@torch.no_grad()
def ema_update_(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """In place: ``teacher <- momentum * teacher + (1 - momentum) * student``.

    Covers parameters and floating-point buffers, matched by name; integer buffers (counters) are
    copied. ``momentum=1`` leaves the teacher unchanged, ``momentum=0`` copies the student.

    Raises:
        ValueError: when the two modules do not have the same entries and shapes.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"EMA momentum {momentum} must lie in [0, 1]")
    t_state = dict(teacher.named_parameters()) | dict(teacher.named_buffers())
    s_state = dict(student.named_parameters()) | dict(student.named_buffers())
    if t_state.keys() != s_state.keys():
        diff = sorted(t_state.keys() ^ s_state.keys())
        raise ValueError(f"teacher and student differ in entries {diff[:5]}: not an exact copy")
    t_float: list[Tensor] = []
    s_float: list[Tensor] = []
    for name, t in t_state.items():
        s = s_state[name]
        if t.shape != s.shape:
            raise ValueError(f"{name}: teacher shape {tuple(t.shape)} != student {tuple(s.shape)}")
        if t.is_floating_point():
            t_float.append(t)
            s_float.append(s.detach().to(t.dtype))
        else:
            t.copy_(s)
    if t_float:
        torch._foreach_mul_(t_float, momentum)
        torch._foreach_add_(t_float, s_float, alpha=1.0 - momentum)


__all__ = ["ema_update_"]
