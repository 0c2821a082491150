"""Gradient balance between the MNM and CL terms (issue 21, ``ssl.cl_stop_input_grad`` and
``ssl.cl_grad_ratio``).

- :func:`student_forward` runs the student with the input layer's output cut from the graph
  when the CL gradient must stop there, and :func:`input_surrogate` then gives the input layer
  the MNM part's gradient alone (its value is 0, so the reported loss is unchanged).
- :func:`grad_ratio_scale` turns the measured norms into the factor on the distillation part.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from findna.model.network import FinDNANetwork, NetworkOutput


def student_forward(
    net: FinDNANetwork, x: Tensor, stop_input: bool, input_grad: bool = True
) -> tuple[NetworkOutput, Tensor | None, Tensor | None]:
    """The student on ``x``; with ``stop_input`` the backbone reads a detached copy of the
    input layer's output.

    Args:
        net: the student. x: (B, L, C) one-hot rows.
        stop_input: cut the graph after the input layer (``ssl.cl_stop_input_grad``).
        input_grad: with ``stop_input``, whether the input layer's live output is returned (the
            MNM view: True; the symmetric loss's second view, CL only: False).

    Returns:
        ``(output, live, cut)``: the network output; without ``stop_input`` both others are
        None, else the input layer's output with its graph (None when ``input_grad`` is False)
        and the detached leaf the backbone read.
    """
    if not stop_input:
        return net(x), None, None
    net._check_inputs(x, None)
    live = net.embed_inputs(x)
    cut = live.detach().requires_grad_(torch.is_grad_enabled())
    hidden = net.backbone(cut, None)
    return NetworkOutput(hidden=hidden, logits=net.head(hidden)), live if input_grad else None, cut


def input_surrogate(mnm_part: Tensor, live: Tensor, cut: Tensor) -> Tensor:
    """A 0-valued term whose gradient on the input layer is the MNM part's alone.

    The gradient of ``mnm_part`` at the cut (one extra backward through the backbone) is passed
    on to the input layer's live output: ``(live * g).sum() - (live * g).sum().detach()``.
    """
    (grad,) = torch.autograd.grad(mnm_part, cut, retain_graph=True)
    link = (live * grad.detach()).sum()
    return link - link.detach()


def grad_ratio_scale(ratio: float, grad_mnm: Tensor, grad_cl: Tensor, previous: float) -> float:
    """The factor c on the distillation part so that ``c * |g_CL| = ratio * |g_MNM|``;
    ``previous`` when either norm is 0 or not finite (e.g. during a CL delay)."""
    m, c = float(grad_mnm), float(grad_cl)
    if not (math.isfinite(m) and math.isfinite(c)) or m <= 0 or c <= 0:
        return previous
    return ratio * m / c


__all__ = ["grad_ratio_scale", "input_surrogate", "student_forward"]
