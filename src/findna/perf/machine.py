"""Machine side of ``findna bench``: matmul peaks, CPU description, load and thread control.

The pretraining-step benchmark (``findna.perf.step``) compares its achieved FLOP rate with the
matmul rate measured here for the same dtype and thread count, on the same machine and in the
same process, so that "share of peak" means "share of what this PyTorch build's GEMM reaches".

Load accounting: a shared machine makes timings noisy, so every measurement records the 1-minute
load average before it starts and ``other_cpu``, the average number of cores busy with *other*
processes while it ran (``/proc/stat`` busy time minus this process's own CPU time; Linux only).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

logger = logging.getLogger(__name__)

DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}
"""Names accepted by ``--dtypes``; bf16/fp16 mean autocast in the step benchmark."""

_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "amx_tile", "amx_int8", "avx512_fp16", "avx512f")


def parse_dtypes(text: str | Sequence[str]) -> list[str]:
    """``"fp32,bf16"`` -> ``["fp32", "bf16"]``, checked against :data:`DTYPES`."""
    names = [t.strip() for t in text.split(",")] if isinstance(text, str) else list(text)
    bad = [n for n in names if n not in DTYPES]
    if bad or not names:
        raise ValueError(f"unknown dtype(s) {bad}; choose from {', '.join(DTYPES)}")
    return names


def parse_threads(text: str | int | Sequence[int]) -> list[int]:
    """``"2,1"`` -> ``[2, 1]``; ``"all"`` means ``os.cpu_count()``."""
    if isinstance(text, int):
        items: list[str | int] = [text]
    elif isinstance(text, str):
        items = [t.strip() for t in text.split(",")]
    else:
        items = list(text)
    out: list[int] = []
    for item in items:
        n = (os.cpu_count() or 1) if item == "all" else int(item)
        if n < 1:
            raise ValueError(f"thread counts must be >= 1 or 'all', got {text!r}")
        if n not in out:
            out.append(n)
    return out


def parse_shapes(text: str | Sequence[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """``"2048x2048x2048,8080x308x512"`` -> ``[(2048, 2048, 2048), (8080, 308, 512)]``."""
    if not isinstance(text, str):
        return [tuple(s) for s in text]  # type: ignore[misc]
    shapes = []
    for item in text.split(","):
        parts = item.strip().lower().split("x")
        if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError(f"matmul shape {item!r} is not MxKxN with positive integers")
        shapes.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return shapes


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[None]:
    """Temporarily ``torch.set_num_threads(n)``."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def cpu_description() -> dict[str, str]:
    """``lscpu`` model name, CPU count, torch's CPU capability and the bf16-relevant flags."""
    model, flags = "unknown", ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "Flags":
                flags = value
    present = set(flags.split())
    return {
        "cpu_model": model,
        "cpu_count": str(os.cpu_count()),
        "torch": torch.__version__,
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "bf16_flags": " ".join(f for f in _BF16_FLAGS if f in present) or "none",
        "missing_flags": " ".join(f for f in _BF16_FLAGS if f not in present) or "none",
    }


def _busy_seconds() -> float | None:
    """Busy CPU seconds of the whole machine since boot (``/proc/stat``), None if unknown."""
    try:
        with open("/proc/stat") as fh:
            fields = fh.readline().split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal: everything except idle and iowait.
    ticks = [int(v) for v in fields[:8]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


@dataclass
class LoadSample:
    """Machine load around one measurement.

    Attributes:
        load_1min: ``os.getloadavg()[0]`` just before the measurement.
        other_cpu: average cores used by other processes during it (None when unknown).
    """

    load_1min: float
    other_cpu: float | None


MIN_WATCH_S = 0.5
"""``other_cpu`` needs at least this long a window: ``/proc/stat`` counts 10 ms ticks."""


@contextlib.contextmanager
def watch_load() -> Iterator[LoadSample]:
    """Yield a :class:`LoadSample` whose ``other_cpu`` is filled in when the block ends.

    ``other_cpu`` stays None for blocks shorter than :data:`MIN_WATCH_S`.
    """
    sample = LoadSample(load_1min=os.getloadavg()[0], other_cpu=None)
    busy0, own0, wall0 = _busy_seconds(), time.process_time(), time.perf_counter()
    yield sample
    busy1, own1, wall = _busy_seconds(), time.process_time(), time.perf_counter() - wall0
    if busy0 is not None and busy1 is not None and wall >= MIN_WATCH_S:
        sample.other_cpu = max(0.0, ((busy1 - busy0) - (own1 - own0)) / wall)


def other_cpu_now(window_s: float = 3.0) -> float | None:
    """Cores busy with other processes over the next ``window_s`` seconds (this one sleeps)."""
    with watch_load() as sample:
        time.sleep(window_s)
    return sample.other_cpu


def wait_for_quiet(
    max_other_cpu: float | None, timeout_s: float = 180.0, window_s: float = 3.0
) -> float | None:
    """Wait until other processes use fewer than ``max_other_cpu`` cores (``window_s`` samples).

    Returns the last sample (None when ``max_other_cpu`` is None or ``/proc/stat`` is
    missing). Gives up after ``timeout_s``; the measurement then records the load it ran
    under. A short sample is used rather than the 1-minute load average because the latter
    still counts this benchmark's own previous case for a minute or more.
    """
    if max_other_cpu is None:
        return None
    deadline = time.monotonic() + timeout_s
    busy = other_cpu_now(window_s)
    while busy is not None and busy >= max_other_cpu and time.monotonic() < deadline:
        logger.info("other processes use %.2f cores >= %.2f, waiting", busy, max_other_cpu)
        busy = other_cpu_now(window_s)
    return busy


def best_seconds(
    fn: Callable[[], object], repeats: int, warmup: int = 1, min_total_s: float = 0.0
) -> float:
    """Fastest of at least ``repeats`` timed calls of ``fn`` after ``warmup`` untimed ones.

    Calls continue past ``repeats`` until the timed calls add up to ``min_total_s``.
    """
    for _ in range(warmup):
        fn()
    best, total, n = float("inf"), 0.0, 0
    while n < repeats or total < min_total_s:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, total, n = min(best, dt), total + dt, n + 1
    return best


DEFAULT_SHAPES: tuple[tuple[int, int, int], ...] = (
    (2048, 2048, 2048),
    (8080, 308, 512),
    (8080, 512, 308),
    (512, 8080, 308),
)
"""(M, K, N): a large square GEMM, and the paper block's fc1, fc2 and fc1-weight-gradient
GEMMs at B*L = 8 x 1010 tokens."""


@dataclass
class MatmulResult:
    """One (M, K) x (K, N) matmul timing: ``2*M*K*N / seconds`` FLOP/s."""

    m: int
    k: int
    n: int
    dtype: str
    threads: int
    seconds: float
    gflops: float
    load_1min: float
    other_cpu: float | None
    device: str = "cpu"
    layout: str = "nn"


LAYOUTS = ("nn", "nt", "tn", "tt")
"""Memory layouts of ``a @ b``: ``n`` = the operand is contiguous as used, ``t`` = a transposed
view of a contiguous tensor. ``nt`` is ``F.linear``'s forward (x @ W.T), ``nn`` its input
gradient (dY @ W), ``tn`` its weight gradient (dY.T @ x)."""


def parse_layouts(text: str | Sequence[str]) -> list[str]:
    """``"nn,nt"`` -> ``["nn", "nt"]``, checked against :data:`LAYOUTS`."""
    names = [t.strip() for t in text.split(",")] if isinstance(text, str) else list(text)
    bad = [n for n in names if n not in LAYOUTS]
    if bad or not names:
        raise ValueError(f"unknown matmul layout(s) {bad}; choose from {', '.join(LAYOUTS)}")
    return names


def _operand(rows: int, cols: int, transposed: bool, gen: torch.Generator) -> torch.Tensor:
    """A (rows, cols) float32 operand: contiguous, or the transposed view of a (cols, rows)."""
    if transposed:
        return torch.randn(cols, rows, generator=gen).t()
    return torch.randn(rows, cols, generator=gen)


def bench_matmul(
    shapes: str | Sequence[tuple[int, int, int]] = DEFAULT_SHAPES,
    dtypes: str | Sequence[str] = ("fp32", "bf16"),
    threads: str | int | Sequence[int] = "all,1",
    repeats: int = 5,
    seed: int = 0,
    min_total_s: float = MIN_WATCH_S,
    device: str | torch.device = "cpu",
    layouts: str | Sequence[str] = ("nn",),
) -> list[MatmulResult]:
    """Best-of-``repeats`` GFLOP/s of plain ``a @ b`` (inputs already in the dtype).

    Args:
        shapes: (M, K, N) triples (or ``"2048x2048x2048,8080x308x512"``).
        dtypes: keys of :data:`DTYPES` (or ``"fp32,bf16"``).
        threads: ``torch.set_num_threads`` values, each measured separately (or ``"2,1"``,
            ``"all"`` meaning every CPU).
        repeats: timed calls per case (after one warm-up call that also builds oneDNN kernels).
        min_total_s: more calls until they add up to this, so that small GEMMs are timed
            often enough and the load of the case can be measured.
        seed: seeds the random inputs.
        device: ``cpu`` or ``cuda`` (each call then synchronises the device; ``threads`` only
            sets the host threads).
        layouts: keys of :data:`LAYOUTS` (or ``"nn,nt,tn"``): each shape in each layout.

    Returns:
        One :class:`MatmulResult` per (threads, shape, layout, dtype).
    """
    dtypes, threads = parse_dtypes(dtypes), parse_threads(threads)
    shapes, layouts = parse_shapes(shapes), parse_layouts(layouts)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    from findna.devices import resolve_device
    from findna.perf.device import synchronize

    dev = resolve_device(device)
    gen = torch.Generator().manual_seed(seed)
    results = []

    def call(a: torch.Tensor, b: torch.Tensor) -> None:
        a @ b
        synchronize(dev)

    for n_threads in threads:
        with num_threads(n_threads):
            for (m, k, n), layout in ((s, lay) for s in shapes for lay in layouts):
                a32 = _operand(m, k, layout[0] == "t", gen)
                b32 = _operand(k, n, layout[1] == "t", gen)
                for name in dtypes:
                    a, b = a32.to(dev, DTYPES[name]), b32.to(dev, DTYPES[name])
                    with watch_load() as load:
                        sec = best_seconds(lambda a=a, b=b: call(a, b), repeats, 2, min_total_s)
                    flops = 2.0 * m * k * n
                    results.append(
                        MatmulResult(
                            m,
                            k,
                            n,
                            name,
                            n_threads,
                            sec,
                            flops / sec / 1e9,
                            **vars(load),
                            device=dev.type,
                            layout=layout,
                        )
                    )
                    del a, b
    return results


def peak_gflops(
    results: Sequence[MatmulResult], dtype: str, threads: int, device: str = "cpu"
) -> float | None:
    """Best measured GFLOP/s for ``dtype`` at ``threads`` (any threads on CUDA) on ``device``."""
    rates = [
        r.gflops
        for r in results
        if r.dtype == dtype and r.device == device and (device != "cpu" or r.threads == threads)
    ]
    return max(rates) if rates else None
