"""The ChordMixer track rotation (docs/method.md §1) and its implementations.

Channels are cut into tracks of ``track_size`` channels (the last one shorter when ``d`` is not
a multiple). Track 0 is fixed; output position ``j`` of track ``k >= 1`` takes input position
``(j + 2**(k-1)) mod n``, where ``n`` is the padded tensor length (``fixed``, the paper) or each
sequence's own length (``length_aware``; padded positions are left in place).

Implementation choice (measured with bf16 autocast on the 2-core dev CPU, paper config, batch 8,
min of 15 interleaved runs, other jobs running): rolling each track adds ~1-2.5 ms to a ~38 ms
block forward (~4.5 ms to ~115 ms forward+backward, with the custom backward below), against
~7 ms (~13 ms) for one gather with a precomputed (L*d) index, so ``fixed`` mode rolls per track,
as two slice copies per track into one preallocated output (15-30% faster than ``torch.roll``
per track plus ``torch.cat``; docs/performance.md). ``length_aware`` mode cannot roll (one
modulus per sequence); it gathers with one flat (B*L*d) index built once per forward and shared
by every block (~4.5 ms forward), and its backward gathers with the inverse permutation instead
of scattering.

On CUDA (issue 10) the per-track slice copies are many small strided kernels (22 per block for
the paper's 11 tracks), so ``fixed`` mode there gathers with one cached (L*d) index per block in
the forward and one in the backward, and plain blocks run with the channels zero-padded to a
multiple of 64 (d = 308 -> 320: bf16 GEMMs with 616-byte rows ran at half the rate of aligned
ones on an H100).

Which implementation runs is an argument (``impl``, one of :data:`ROTATION_IMPLS`), passed by
each ``ChordMixer`` (its ``rotation``): there is no process-wide switch, so two networks in one
process may use different implementations. Every implementation computes the same function
(``gather`` bit for bit; ``padded`` up to the float rounding of GEMMs over extra zero channels).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
from torch import Tensor

Rotate = Callable[[Tensor], Tensor]

ROTATION_IMPLS = ("auto", "reference", "gather", "padded")
"""How ``fixed`` mode rotates (``length_aware`` mode always gathers).

``auto``: ``padded`` on CUDA (the fastest measured there, docs/performance.md), the measured CPU
choice (slice copies for tracks of 12+ channels, one gather below) on the CPU.
``reference``: the CPU choice on every device.
``gather``: one gather with a cached index on every device.
``padded``: ``gather``, with the residual stream and the block weights zero-padded to
:data:`PAD_MULTIPLE` channels, so that every GEMM row is 16-byte aligned (d = 308 bf16 rows are
616 bytes). Padding channels stay exactly zero and their gradients are dropped, so the network
computes the same function; only plain blocks (no dropout, no pre-norm) are padded.
"""

PAD_MULTIPLE = 64
"""``padded``: channels are zero-padded to a multiple of this (308 -> 320) inside the backbone."""

# Below this track width, strided slice copies are slow (32-byte rows for 8 fp32 channels) and one
# gather with a cached flat index wins. `python perf/bench_rotation.py` (median of 50, 2
# threads, load ~1.5-1.8), two runs: track 8 (32, 266, 80): gather 0.39 / 0.54 ms vs slices
# 0.79 / 0.68 ms; track 28 (2, 1010, 308): slices 0.51 / 0.54 ms vs gather 0.68 / 0.70 ms; track 12
# (32, 522, 132) was mixed (slices 1.63 / 2.56 ms vs gather 1.92 / 1.77 ms).
_GATHER_BELOW_TRACK = 12


def check_rotation(impl: str) -> str:
    """``impl`` if it is one of :data:`ROTATION_IMPLS`.

    Raises:
        ValueError: naming the allowed implementations.
    """
    if impl not in ROTATION_IMPLS:
        raise ValueError(f"rotation impl {impl!r} is not one of {', '.join(ROTATION_IMPLS)}")
    return impl


def track_bounds(d: int, track_size: int) -> list[tuple[int, int]]:
    """Channel ranges ``[start, stop)`` of the tracks; the last one is shorter if needed."""
    return [
        (k * track_size, min((k + 1) * track_size, d)) for k in range(math.ceil(d / track_size))
    ]


def track_shifts(n_tracks: int) -> list[int]:
    """Token offset of each track: 0 for track 0, ``2**(k-1)`` for track ``k >= 1``."""
    return [0] + [2 ** (k - 1) for k in range(1, n_tracks)]


@functools.lru_cache(maxsize=64)
def _flat_roll_index(
    n: int, d: int, track_size: int, direction: int, device: str, width: int | None = None
) -> Tensor:
    """(n*w,) index into a flattened (n, w) slab: ``out[j, c] = y[(j + dir*shift(c)) % n, c]``.

    ``w = width`` (default ``d``); channels ``d <= c < w`` (zero padding) stay in place.
    """
    width = d if width is None else width
    bounds = track_bounds(d, track_size)
    per_track = zip(bounds, track_shifts(len(bounds)), strict=True)
    shifts = torch.tensor([s for (a, b), s in per_track for _ in range(a, b)] + [0] * (width - d))
    src = (torch.arange(n)[:, None] + direction * shifts[None, :]) % n  # (n, w) source token
    return (src * width + torch.arange(width)[None, :]).reshape(-1).to(device)


def _uses_gather(impl: str, device: torch.device, track_size: int) -> bool:
    """Whether ``fixed`` mode gathers (else: slice copies per track)."""
    if impl in ("gather", "padded") or (impl == "auto" and device.type == "cuda"):
        return True
    return track_size < _GATHER_BELOW_TRACK


def padded_width(d: int, device: torch.device | str = "cpu", impl: str = "auto") -> int:
    """``d`` rounded up to :data:`PAD_MULTIPLE` when ``impl`` pads (``padded``, or ``auto`` on
    CUDA), else ``d``."""
    check_rotation(impl)
    on = impl == "padded" or (impl == "auto" and torch.device(device).type == "cuda")
    return -(-d // PAD_MULTIPLE) * PAD_MULTIPLE if on else d


def roll_index_pair(
    n: int, d: int, track_size: int, device: torch.device, width: int | None = None
) -> tuple[Tensor, Tensor]:
    """(forward, backward) flat indices of the ``fixed`` rotation of an (n, width) slab
    (cached)."""
    dev = str(device)
    return (
        _flat_roll_index(n, d, track_size, 1, dev, width),
        _flat_roll_index(n, d, track_size, -1, dev, width),
    )


def _roll_tracks(y: Tensor, track_size: int, direction: int, impl: str) -> Tensor:
    """Roll track k by ``-direction * shift_k`` along the token axis, into one new tensor.

    Wide tracks on the CPU: two slice copies per track into a preallocated output (no per-track
    ``roll`` + ``cat`` temporaries; 15-30% faster, docs/performance.md). Narrow tracks, and
    every width on CUDA (``auto``) or with ``gather``/``padded``: one gather.
    """
    n, d = y.shape[-2], y.shape[-1]
    if _uses_gather(impl, y.device, track_size):
        index = _flat_roll_index(n, d, track_size, direction, str(y.device))
        flat = y.reshape(*y.shape[:-2], n * d)
        return flat.index_select(-1, index).view(y.shape)
    out = torch.empty_like(y)
    bounds = track_bounds(d, track_size)
    for (a, b), shift in zip(bounds, track_shifts(len(bounds)), strict=True):
        s = (direction * shift) % n  # out[j] = y[(j + s) % n]
        out[..., : n - s, a:b] = y[..., s:, a:b]
        if s:
            out[..., n - s :, a:b] = y[..., :s, a:b]
    return out


class _RotateFixed(torch.autograd.Function):
    """Forward rolls the tracks; backward rolls the gradient back.

    Plain autograd through ``y[..., a:b]`` slices would allocate a zero (B, L, d) gradient per
    track and add them up; rolling the whole gradient back is one pass.
    """

    @staticmethod
    def forward(ctx, y: Tensor, track_size: int, impl: str) -> Tensor:  # type: ignore[override]
        ctx.track_size, ctx.impl = track_size, impl
        return _roll_tracks(y, track_size, 1, impl)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        return _roll_tracks(grad, ctx.track_size, -1, ctx.impl), None, None


def rotate_fixed(y: Tensor, track_size: int, impl: str = "auto") -> Tensor:
    """Rotate every track modulo the tensor length ``L`` (the paper's equal-length mode).

    Args:
        y: (B, L, d) activations.
        track_size: channels per track.
        impl: one of :data:`ROTATION_IMPLS` (same result; ``padded`` rotates like ``gather``).

    Returns:
        (B, L, d): ``out[:, j, c] = y[:, (j + shift(c)) % L, c]``.
    """
    return _RotateFixed.apply(y, track_size, check_rotation(impl))


def length_aware_index(
    lengths: Tensor, seq_len: int, d: int, track_size: int, width: int | None = None
) -> Tensor:
    """Flat gather index that rotates each sequence modulo its own length.

    Args:
        lengths: (B,) int64 real lengths, ``1 <= lengths <= seq_len``.
        seq_len: padded length L.
        d: channels.
        track_size: channels per track.
        width: channels of the tensor (default ``d``); channels ``>= d`` stay in place.

    Returns:
        (B*L*w,) int64 index into ``y.reshape(-1)``. Positions ``j >= lengths[b]`` (padding) map
        to themselves, so padding neither moves nor leaks into real positions.
    """
    device = lengths.device
    width = d if width is None else width
    shifts = torch.tensor(track_shifts(math.ceil(d / track_size)) + [0], device=device)
    channels = torch.arange(width, device=device)
    shift = shifts[torch.clamp(channels // track_size, max=len(shifts) - 1)]
    shift = torch.where(channels < d, shift, 0)  # (w,)
    pos = torch.arange(seq_len, device=device)[None, :, None]  # (1, L, 1)
    n = lengths.to(device=device, dtype=torch.long)[:, None, None]  # (B, 1, 1)
    src = torch.where(pos < n, (pos + shift) % n, pos)  # (B, L, d) source token
    batch = torch.arange(lengths.shape[0], device=device)[:, None, None]
    return ((batch * seq_len + src) * width + channels).reshape(-1)


def inverse_permutation(perm: Tensor) -> Tensor:
    """The index that undoes the gather with ``perm`` (a permutation of ``0..n-1``)."""
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel(), device=perm.device)
    return inverse


class _Permute(torch.autograd.Function):
    """``y.reshape(-1)[perm]`` whose backward gathers with the inverse permutation."""

    @staticmethod
    def forward(ctx, y: Tensor, perm: Tensor, inverse: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(inverse)
        return y.reshape(-1).index_select(0, perm).view(y.shape)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        (inverse,) = ctx.saved_tensors
        return grad.reshape(-1).index_select(0, inverse).view(grad.shape), None, None


def make_rotation(
    mode: str,
    track_size: int,
    shape: torch.Size,
    lengths: Tensor | None,
    device: torch.device,
    impl: str = "auto",
) -> Rotate:
    """The rotation every block of one forward pass applies (its index built only once).

    Args:
        mode: ``"fixed"`` or ``"length_aware"``; the latter without ``lengths`` is ``fixed``.
        track_size: channels per track.
        shape: (B, L, d) of the activations.
        lengths: (B,) real lengths, or None.
        device: where the activations live.
        impl: how ``fixed`` mode rotates, one of :data:`ROTATION_IMPLS`.
    """
    check_rotation(impl)
    if mode == "fixed" or lengths is None:
        return lambda y: rotate_fixed(y, track_size, impl)
    _, seq_len, d = shape
    perm = length_aware_index(lengths.to(device), seq_len, d, track_size)
    inverse = inverse_permutation(perm)
    return lambda y: _Permute.apply(y, perm, inverse)
