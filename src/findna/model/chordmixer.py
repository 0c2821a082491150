"""ChordMixer backbone (docs/method.md §1): track rotation, blocks, layers.

Reading order: the rotation (a parameter-free permutation of tokens per channel track), then the
block (``x + rotate(dropout(MLP(prenorm(x))))``), then a layer (``ceil(log2 max_len)`` blocks) and
the stacked backbone. There is no positional encoding: the rotation is circular, so in ``fixed``
mode the whole backbone is equivariant to circular shifts of the token axis.

Rotation: channels are cut into tracks of ``track_size`` channels (the last one shorter when
``d`` is not a multiple). Track 0 is fixed; output position ``j`` of track ``k >= 1`` takes input
position ``(j + 2**(k-1)) mod n``, where ``n`` is the padded tensor length (``fixed``, the
paper) or each sequence's own length (``length_aware``; padded positions are left in place).

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
ones on an H100). ``rotation_impl``: ``auto`` = ``padded`` on CUDA, the measured CPU choice on
the CPU; ``reference`` = the CPU choice everywhere; ``gather`` / ``padded`` on every device.
``ChordMixer.compile_blocks`` (opt-in) runs every block through one ``torch.compile``d function.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from findna.model.config import ModelConfig

Rotate = Callable[[Tensor], Tensor]


def track_bounds(d: int, track_size: int) -> list[tuple[int, int]]:
    """Channel ranges ``[start, stop)`` of the tracks; the last one is shorter if needed."""
    return [
        (k * track_size, min((k + 1) * track_size, d)) for k in range(math.ceil(d / track_size))
    ]


def track_shifts(n_tracks: int) -> list[int]:
    """Token offset of each track: 0 for track 0, ``2**(k-1)`` for track ``k >= 1``."""
    return [0] + [2 ** (k - 1) for k in range(1, n_tracks)]


# Below this track width, strided slice copies are slow (32-byte rows for 8 fp32 channels) and one
# gather with a cached flat index wins. `python perf/bench_rotation.py` (median of 50, 2
# threads, load ~1.5-1.8), two runs: track 8 (32, 266, 80): gather 0.39 / 0.54 ms vs slices
# 0.79 / 0.68 ms; track 28 (2, 1010, 308): slices 0.51 / 0.54 ms vs gather 0.68 / 0.70 ms; track 12
# (32, 522, 132) was mixed (slices 1.63 / 2.56 ms vs gather 1.92 / 1.77 ms).
_GATHER_BELOW_TRACK = 12


@functools.lru_cache(maxsize=64)
def _flat_roll_index(
    n: int, d: int, track_size: int, direction: int, device: str, width: int | None = None
) -> Tensor:
    """(n*w,) index into a flattened (n, w) slab: ``out[j, c] = y[(j + dir*shift(c)) % n, c]``.

    ``w = width`` (default ``d``); channels ``d <= c < w`` (zero padding) stay in place.
    """
    width = d if width is None else width
    bounds = track_bounds(d, track_size)
    shifts = torch.tensor(
        [
            s
            for (a, b), s in zip(bounds, track_shifts(len(bounds)), strict=True)
            for _ in range(a, b)
        ]
        + [0] * (width - d)
    )
    src = (torch.arange(n)[:, None] + direction * shifts[None, :]) % n  # (n, w) source token
    return (src * width + torch.arange(width)[None, :]).reshape(-1).to(device)


ROTATION_IMPLS = ("auto", "reference", "gather", "padded")
_rotation_impl = "auto"
PAD_MULTIPLE = 64
"""``padded``: channels are zero-padded to a multiple of this (308 -> 320) inside the backbone."""


def set_rotation_impl(name: str) -> str:
    """Choose how ``fixed`` mode rotates; returns the previous choice.

    ``auto``: ``padded`` on CUDA (the fastest measured there, docs/performance.md), the
    measured CPU choice (below) on the CPU.
    ``reference``: the CPU choice on every device (slice copies for tracks of 12+ channels).
    ``gather``: one gather with a cached index on every device.
    ``padded``: ``gather``, with the residual stream and the block weights zero-padded to
    :data:`PAD_MULTIPLE` channels, so that every GEMM row is 16-byte aligned (d = 308 bf16 rows
    are 616 bytes). Padding channels stay exactly zero and their gradients are dropped, so the
    network computes the same function; only plain blocks (no dropout, no pre-norm) are padded.
    """
    global _rotation_impl
    if name not in ROTATION_IMPLS:
        raise ValueError(f"rotation impl {name!r} is not one of {', '.join(ROTATION_IMPLS)}")
    old, _rotation_impl = _rotation_impl, name
    return old


@contextlib.contextmanager
def rotation_impl(name: str) -> Iterator[None]:
    """``with rotation_impl("reference"): ...`` (see :func:`set_rotation_impl`)."""
    old = set_rotation_impl(name)
    try:
        yield
    finally:
        set_rotation_impl(old)


def _use_gather(y: Tensor, track_size: int) -> bool:
    if _rotation_impl in ("gather", "padded") or (
        _rotation_impl == "auto" and y.device.type == "cuda"
    ):
        return True
    return track_size < _GATHER_BELOW_TRACK


def padded_width(d: int, device: torch.device | str = "cpu") -> int:
    """``d`` rounded up to :data:`PAD_MULTIPLE` when padding is on (``padded``, or ``auto`` on
    CUDA), else ``d``."""
    on = _rotation_impl == "padded" or (
        _rotation_impl == "auto" and torch.device(device).type == "cuda"
    )
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


def _roll_tracks(y: Tensor, track_size: int, direction: int) -> Tensor:
    """Roll track k by ``-direction * shift_k`` along the token axis, into one new tensor.

    Wide tracks on the CPU: two slice copies per track into a preallocated output (no per-track
    ``roll`` + ``cat`` temporaries; 15-30% faster, docs/performance.md). Narrow tracks, and
    every width on CUDA: one gather.
    """
    n, d = y.shape[-2], y.shape[-1]
    if _use_gather(y, track_size):
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
    def forward(ctx, y: Tensor, track_size: int) -> Tensor:  # type: ignore[override]
        ctx.track_size = track_size
        return _roll_tracks(y, track_size, 1)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return _roll_tracks(grad, ctx.track_size, -1), None


def rotate_fixed(y: Tensor, track_size: int) -> Tensor:
    """Rotate every track modulo the tensor length ``L`` (the paper's equal-length mode).

    Args:
        y: (B, L, d) activations.
        track_size: channels per track.

    Returns:
        (B, L, d): ``out[:, j, c] = y[:, (j + shift(c)) % L, c]``.
    """
    return _RotateFixed.apply(y, track_size)


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
    mode: str, track_size: int, shape: torch.Size, lengths: Tensor | None, device: torch.device
) -> Rotate:
    """The rotation every block of one forward pass applies (its index built only once).

    Args:
        mode: ``"fixed"`` or ``"length_aware"``; the latter without ``lengths`` is ``fixed``.
        track_size: channels per track.
        shape: (B, L, d) of the activations.
        lengths: (B,) real lengths, or None.
        device: where the activations live.
    """
    if mode == "fixed" or lengths is None:
        return lambda y: rotate_fixed(y, track_size)
    _, seq_len, d = shape
    perm = length_aware_index(lengths.to(device), seq_len, d, track_size)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel(), device=device)
    return lambda y: _Permute.apply(y, perm, inverse)


class ChordMixerMLP(nn.Module):
    """Linear(d -> h) -> GELU (exact) -> Dropout -> Linear(h -> d) -> the same Dropout."""

    def __init__(self, d: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x: Tensor) -> Tensor:
        """(..., d) -> (..., d)."""
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class ChordMixerBlock(nn.Module):
    """One block: ``x + rotate(layer_dropout(MLP(prenorm(x))))``; the residual is not rotated."""

    def __init__(
        self,
        d: int,
        hidden: int,
        mlp_dropout: float = 0.0,
        layer_dropout: float = 0.0,
        prenorm: str = "none",
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d) if prenorm == "layernorm" else nn.Identity()
        self.mlp = ChordMixerMLP(d, hidden, mlp_dropout)
        self.drop = nn.Dropout(layer_dropout) if layer_dropout > 0 else nn.Identity()

    def forward(self, x: Tensor, rotate: Rotate) -> Tensor:
        """(B, L, d) -> (B, L, d)."""
        return x + rotate(self.drop(self.mlp(self.norm(x))))


class ChordMixerLayer(nn.Module):
    """``n_blocks`` blocks with their own weights (one ChordMixer "encoder")."""

    def __init__(self, n_blocks: int, **block_kwargs: object) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ChordMixerBlock(**block_kwargs) for _ in range(n_blocks))

    def forward(self, x: Tensor, rotate: Rotate) -> Tensor:
        """(B, L, d) -> (B, L, d)."""
        for block in self.blocks:
            x = block(x, rotate)
        return x


class ChordMixer(nn.Module):
    """``n_layers`` ChordMixer layers of ``ceil(log2 max_len)`` blocks each.

    Parameter names are ``layers.{i}.blocks.{j}.mlp.fc{1,2}.{weight,bias}``: a network built for
    longer inputs has the same names plus extra blocks, so it can load a shorter one's weights
    by name (see ``findna.model.network.load_pretrained_backbone_``).
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.track_size = config.track_size
        self.length_mode = config.length_mode
        block_kwargs = dict(
            d=config.width,
            hidden=config.hidden,
            mlp_dropout=config.mlp_dropout,
            layer_dropout=config.layer_dropout,
            prenorm=config.prenorm,
        )
        self.layers = nn.ModuleList(
            ChordMixerLayer(config.n_blocks_per_layer, **block_kwargs)
            for _ in range(config.n_layers)
        )
        self.plain_blocks = (
            config.mlp_dropout == 0 and config.layer_dropout == 0 and config.prenorm == "none"
        )
        self._compiled: Callable[..., Tensor] | None = None

    def compile_blocks(self, enable: bool = True, **compile_kwargs: object) -> bool:
        """Run every block through one ``torch.compile``d function (``findna.model.compiled``).

        Opt-in and not saved with the weights. Blocks with dropout or a pre-norm stay eager.
        Returns whether the compiled path is now on.
        """
        from findna.model.compiled import compiled_block

        self._compiled = compiled_block(**compile_kwargs) if enable and self.plain_blocks else None
        return self._compiled is not None

    def _rotation_indices(self, x: Tensor, lengths: Tensor | None, d: int) -> tuple[Tensor, Tensor]:
        _, seq_len, width = x.shape
        if self.length_mode == "fixed" or lengths is None:
            return roll_index_pair(seq_len, d, self.track_size, x.device, width)
        perm = length_aware_index(lengths.to(x.device), seq_len, d, self.track_size, width)
        inverse = torch.empty_like(perm)
        inverse[perm] = torch.arange(perm.numel(), device=x.device)
        return perm, inverse

    def _forward_functional(self, x: Tensor, lengths: Tensor | None, pad: int) -> Tensor:
        """Every block through ``block_forward`` (compiled or eager), channels padded by ``pad``."""
        from findna.model.compiled import block_forward

        fn = self._compiled or block_forward
        d = x.shape[-1]
        if pad:
            x = F.pad(x, (0, pad))
        index, inverse = self._rotation_indices(x, lengths, d)
        for layer in self.layers:
            for block in layer.blocks:
                fc1, fc2 = block.mlp.fc1, block.mlp.fc2
                x = fn(x, fc1.weight, fc1.bias, fc2.weight, fc2.bias, index, inverse, pad)
        return x[..., :d] if pad else x

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Mix tokens.

        Args:
            x: (B, L, d) embedded tokens. L may differ from ``max_len``; in ``fixed`` mode the
                rotation is modulo L.
            lengths: (B,) real lengths; used only in ``length_aware`` mode.

        Returns:
            (B, L, d) hidden states.
        """
        pad = padded_width(x.shape[-1], x.device) - x.shape[-1] if self.plain_blocks else 0
        if self._compiled is not None or pad:
            return self._forward_functional(x, lengths, pad)
        rotate = make_rotation(self.length_mode, self.track_size, x.shape, lengths, x.device)
        for layer in self.layers:
            x = layer(x, rotate)
        return x
