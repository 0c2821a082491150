"""Fixed-mode rotation: slice copies vs one gather, per track width (docs/performance.md).

Run: .venv/bin/python benchmarks/bench_rotation.py
"""

import time

import torch

from findna.model.chordmixer import _flat_roll_index, track_bounds, track_shifts

torch.set_num_threads(2)


def slice_roll(y, t):
    """The slice-copy path of findna.model.chordmixer._roll_tracks, forced for every width."""
    n, d = y.shape[-2:]
    out = torch.empty_like(y)
    bounds = track_bounds(d, t)
    for (a, b), shift in zip(bounds, track_shifts(len(bounds)), strict=True):
        s = shift % n
        out[..., : n - s, a:b] = y[..., s:, a:b]
        if s:
            out[..., n - s :, a:b] = y[..., :s, a:b]
    return out


def bench(f, n=50):
    """Median milliseconds of ``n`` calls after one warm-up call."""
    f()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[n // 2] * 1e3


def measure(B, L, d, t):
    y = torch.randn(B, L, d)
    idx = _flat_roll_index(L, d, t, 1, "cpu")
    gathered = y.reshape(B, L * d).index_select(1, idx).view(B, L, d)
    assert torch.equal(gathered, slice_roll(y, t))
    a = bench(lambda: slice_roll(y, t))
    g = bench(lambda: y.reshape(B, L * d).index_select(1, idx).view(B, L, d))
    c = bench(lambda: y.clone())
    print((B, L, d, t), f"slice {a:.2f} ms  gather {g:.2f} ms  clone {c:.2f} ms")


if __name__ == "__main__":
    for shape in [(32, 266, 80, 8), (2, 1010, 308, 28), (32, 522, 132, 12)]:
        measure(*shape)
