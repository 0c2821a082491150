"""Rotation share of the ChordMixer backbone's forward + backward (``findna bench model``).

Identity-swap method: the student backbone is timed with its real rotation and with the rotation
replaced by the identity (interleaved, median of ``repeats`` pairs); the share is
``1 - t_identity / t_rotation``. The direct share times the rotation op alone (forward and
backward on a (B, T, d) tensor, times the number of blocks) as a cross-check. CUDA timings
synchronise the device.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable

import torch

from findna.model.rotation import make_rotation
from findna.perf.device import synchronize
from findna.perf.machine import DTYPES, best_seconds
from findna.ssl.student_teacher import SelfDistillation


def autocast_for(dtype: str, device: torch.device) -> contextlib.AbstractContextManager:
    """``torch.autocast(device, dtype)`` for bf16/fp16, nothing for fp32."""
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[dtype])


def rotation_shares(
    model: SelfDistillation, batch: int, tokens: int, dtype: str, repeats: int = 3, seed: int = 0
) -> tuple[float | None, float | None]:
    """(identity-swap share, direct share) of rotation in the student backbone's fwd + bwd."""
    backbone = model.student.backbone
    cfg = model.model_cfg
    if cfg.backbone != "chordmixer":
        return None, None
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    x0 = torch.randn(batch, tokens, cfg.width, generator=gen, device=device)
    real = make_rotation(cfg.length_mode, cfg.track_size, x0.shape, None, device, backbone.rotation)

    def run(rotate: Callable[[torch.Tensor], torch.Tensor]) -> float:
        x = x0.clone().requires_grad_(True)
        synchronize(device)
        t0 = time.perf_counter()
        with autocast_for(dtype, device):
            y = x
            for layer in backbone.layers:
                y = layer(y, rotate)
        y.backward(torch.ones_like(y))
        synchronize(device)
        return time.perf_counter() - t0

    run(real), run(lambda y: y)  # warm-up
    with_rot, without = [], []
    for _ in range(repeats):
        with_rot.append(run(real))
        without.append(run(lambda y: y))
    t_rot, t_id = statistics.median(with_rot), statistics.median(without)
    backbone.zero_grad(set_to_none=True)

    # The rotation sees the MLP output, i.e. the autocast dtype.
    act_dtype = torch.float32 if dtype == "fp32" else DTYPES[dtype]
    y0 = x0.to(act_dtype).requires_grad_(True)
    grad = torch.ones_like(y0)

    def rotate_once() -> None:
        real(y0).backward(grad)
        synchronize(device)

    n_blocks = cfg.n_layers * cfg.n_blocks_per_layer
    direct = best_seconds(rotate_once, repeats) * n_blocks
    clamp = lambda v: min(1.0, max(0.0, v))  # noqa: E731
    return clamp(1.0 - t_id / t_rot), clamp(direct / t_rot)
