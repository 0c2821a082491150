"""Device side of ``findna bench``: synchronised timing and peak memory (devices are chosen by
:func:`findna.devices.resolve_device`).

CUDA work is asynchronous, so every timing here synchronises the device before reading the host
clock (``synchronize``), and ``cuda_event_ms`` times a region with CUDA events. Peak memory is
``torch.cuda.max_memory_allocated`` since the last ``reset_peak_memory`` (None on the CPU).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def synchronize(device: torch.device) -> None:
    """Wait for queued work on ``device`` (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    """Start a new peak-memory window (CUDA only)."""
    if device.type == "cuda":
        synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mib(device: torch.device) -> float | None:
    """``torch.cuda.max_memory_allocated`` in MiB since :func:`reset_peak_memory`; None on CPU."""
    if device.type != "cuda":
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def median_seconds(
    fn: Callable[[], object], device: torch.device, repeats: int = 5, warmup: int = 2
) -> tuple[float, list[float]]:
    """Median wall seconds of ``repeats`` calls after ``warmup``, synchronised around each call."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def cuda_event_ms(fn: Callable[[], object], repeats: int = 5) -> float:
    """Median milliseconds of ``fn`` between CUDA events (the device's own clock)."""
    out = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        out.append(start.elapsed_time(end))
    return statistics.median(out)


def device_description(device: torch.device) -> dict[str, str]:
    """Name, torch/CUDA versions, capability and memory of a CUDA device (empty for the CPU)."""
    if device.type != "cuda":
        return {}
    props = torch.cuda.get_device_properties(device)
    return {
        "gpu": props.name,
        "gpu_memory_gib": f"{props.total_memory / 2**30:.1f}",
        "gpu_capability": f"{props.major}.{props.minor}",
        "gpu_multiprocessors": str(props.multi_processor_count),
        "cuda": str(torch.version.cuda),
    }
