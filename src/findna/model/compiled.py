"""Opt-in ``torch.compile`` of the ChordMixer block (issue 10): one function for all blocks.

Every block of a network has the same shapes and, within one forward pass, the same rotation, so
one compiled function ``block_forward(x, w1, b1, w2, b2, index, inverse)`` serves all of them
(the weights are inputs, not constants): Dynamo compiles it once per input shape and grad mode
(training forward; no-grad teacher forward) instead of once per block. Inductor then fuses the
fc1 bias with GELU and the rotation gather with the fc2 bias and the residual add.

The rotation is a gather with a flat index over ``y.reshape(-1, index.numel())``: for ``fixed``
mode the index is the cached (L*d) roll of one sequence (shared by the batch), for
``length_aware`` mode the (B*L*d) permutation of the whole batch; the backward gathers with the
inverse index instead of scattering (no atomics). Blocks with dropout or a pre-norm are not
compiled (``ChordMixer.forward`` falls back to the eager blocks).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


class FlatGather(torch.autograd.Function):
    """``y.reshape(-1, k)[:, index]`` (k = ``index.numel()``) whose backward gathers with
    ``inverse``."""

    @staticmethod
    def forward(ctx, y: Tensor, index: Tensor, inverse: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(inverse)
        return y.reshape(-1, index.numel()).index_select(1, index).view(y.shape)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        (inverse,) = ctx.saved_tensors
        flat = grad.reshape(-1, inverse.numel()).index_select(1, inverse)
        return flat.view(grad.shape), None, None


def block_forward(
    x: Tensor,
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
    index: Tensor,
    inverse: Tensor,
    pad: int = 0,
) -> Tensor:
    """One plain block (no dropout, no pre-norm): ``x + rotate(fc2(gelu(fc1(x))))``.

    ``pad > 0``: ``x`` carries ``pad`` zero channels after the real ones; the weights are
    zero-padded to match (fc1 input columns, fc2 output rows and bias), so those channels stay
    zero and the real ones are computed exactly as without padding.
    """
    if pad:
        w1, w2, b2 = F.pad(w1, (0, pad)), F.pad(w2, (0, 0, 0, pad)), F.pad(b2, (0, pad))
    y = F.linear(F.gelu(F.linear(x, w1, b1)), w2, b2)
    return x + FlatGather.apply(y, index, inverse)


def compiled_block(**compile_kwargs: object) -> Callable[..., Tensor]:
    """``torch.compile(block_forward, dynamic=False, **compile_kwargs)``.

    Static shapes: a new (B, L, d) compiles again (the first call of each shape and grad mode
    pays the compile time; ``findna bench compare --compile`` reports it).
    """
    # Each (shape, grad mode, backend) is one entry of the code object's cache (default 8).
    config = torch._dynamo.config
    name = "recompile_limit" if hasattr(config, "recompile_limit") else "cache_size_limit"
    setattr(config, name, max(64, getattr(config, name)))
    kwargs = {"dynamic": False, **compile_kwargs}
    return torch.compile(block_forward, **kwargs)  # type: ignore[arg-type]


def timed_first_call(fn: Callable[[], object]) -> float:
    """Seconds of one call of ``fn`` (e.g. the call that compiles), device synchronised."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0
