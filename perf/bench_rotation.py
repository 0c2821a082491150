"""Fixed-mode rotation: slice copies vs one gather, per track width (docs/performance.md).

Run: .venv/bin/python perf/bench_rotation.py [--device cpu|cuda] [--dtype fp32|bf16]

CPU: the shapes of the tiny, paper (batch 2) and small presets, with torch's default threads
(set OMP_NUM_THREADS=1 next to other jobs). CUDA: the paper shape at batch
64 as well; times are synchronised medians (forward only, and forward + backward through
``rotate_fixed``).
"""

import argparse

import torch

from findna.devices import resolve_device
from findna.model.rotation import _flat_roll_index, rotate_fixed, track_bounds
from findna.model.rotation import track_shifts as _shifts
from findna.perf.device import median_seconds


def slice_roll(y, t):
    """The slice-copy path of findna.model.rotation._roll_tracks, forced for every width."""
    n, d = y.shape[-2:]
    out = torch.empty_like(y)
    bounds = track_bounds(d, t)
    for (a, b), shift in zip(bounds, _shifts(len(bounds)), strict=True):
        s = shift % n
        out[..., : n - s, a:b] = y[..., s:, a:b]
        if s:
            out[..., n - s :, a:b] = y[..., :s, a:b]
    return out


def bench(f, device, n=50):
    """Median milliseconds of ``n`` synchronised calls after three warm-up calls."""
    return median_seconds(f, device, repeats=n, warmup=3)[0] * 1e3


def fwd_bwd(y, grad, t, impl):
    rotate_fixed(y, t, impl).backward(grad)


def measure(B, L, d, t, device, dtype):
    y = torch.randn(B, L, d, device=device, dtype=dtype)
    idx = _flat_roll_index(L, d, t, 1, str(device))
    gathered = y.reshape(B, L * d).index_select(1, idx).view(B, L, d)
    assert torch.equal(gathered, slice_roll(y, t))
    a = bench(lambda: slice_roll(y, t), device)
    g = bench(lambda: y.reshape(B, L * d).index_select(1, idx).view(B, L, d), device)
    c = bench(lambda: y.clone(), device)
    yg, grad = y.detach().requires_grad_(True), torch.randn_like(y)
    fa = bench(lambda: fwd_bwd(yg, grad, t, "reference"), device, 20)
    fg = bench(lambda: fwd_bwd(yg, grad, t, "gather"), device, 20)
    print(
        f"{(B, L, d, t)} {dtype}: fwd slices {a:.3f} ms, gather {g:.3f} ms, clone {c:.3f} ms; "
        f"fwd+bwd reference {fa:.3f} ms, gather {fg:.3f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    args = parser.parse_args()
    device = resolve_device(args.device)
    dtype = torch.float32 if args.dtype == "fp32" else torch.bfloat16
    shapes = [(32, 266, 80, 8), (2, 1010, 308, 28), (32, 522, 132, 12)]
    if device.type == "cuda":
        shapes += [(64, 1010, 308, 28), (4, 16384, 420, 28)]
    for shape in shapes:
        measure(*shape, device, dtype)
