"""What ``auto`` precision means on this machine: one choice for pretraining and every
downstream command (docs/performance.md, "auto precision").

- CUDA: ``bf16-mixed`` (autocast over float32 weights), as before.
- CPU with AMX (``amx_bf16`` / ``amx_tile`` in ``/proc/cpuinfo``, or a torch CPU capability that
  names AMX): ``bf16-mixed``; AMX runs bf16 matmuls several times faster than float32.
- any other CPU: a one-off micro-benchmark of a few ``F.linear`` calls at the model's GEMM shapes,
  float32 against bf16 autocast (under a second), cached per machine in a small JSON file (keyed
  by CPU model, CPU flags, torch version and threads). ``bf16-mixed`` when bf16 took at most
  1/:data:`BF16_MIN_SPEEDUP` of the float32 time, else ``32-true``.

Named precisions (``32-true``, ``bf16-mixed``, ``16-mixed``) are returned as given on any device.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from findna.config import PRECISIONS
from findna.logs import log_once

log = logging.getLogger(__name__)

Shape = tuple[int, int, int]
"""One GEMM as (M, K, N): ``F.linear`` of an (M, K) input with an (N, K) weight."""

BF16_MIN_SPEEDUP = 1.15
"""bf16 is chosen on a CPU without AMX only when it is at least this much faster than float32."""

MAX_ROWS = 2048
"""Rows (tokens) of each micro-benchmark GEMM: enough to reach the matmul rate, quick to time."""

DEFAULT_SHAPES: tuple[Shape, ...] = ((MAX_ROWS, 80, 64), (MAX_ROWS, 64, 80), (MAX_ROWS, 308, 512))
"""The shapes measured when the caller names none: the block GEMMs of the tiny (d = 80,
h = 64) and paper (d = 308, h = 512) networks. Downstream commands use these, so the choice
(and the feature-cache keys that name it) does not depend on the model."""

CACHE_ENV = "FINDNA_CACHE_DIR"
"""Environment variable naming findna's cache folder (default ``$XDG_CACHE_HOME/findna`` or
``~/.cache/findna``)."""

CPU_PRECISION_ENV = "FINDNA_CPU_PRECISION"
"""Environment variable that fixes what ``auto`` means on a CPU (``32-true`` or
``bf16-mixed``), skipping the AMX check and the micro-benchmark (the test suite sets it so that
results do not depend on the machine)."""

AMX_FLAGS = ("amx_bf16", "amx_tile")

Measure = Callable[[Sequence[Shape]], tuple[float, float]]
"""Times the shapes: (float32 seconds, bf16 autocast seconds) for one call of each."""


@dataclass(frozen=True)
class CpuInfo:
    """What the choice reads about the CPU: ``lscpu``'s model name, its flags and the CPU
    capability torch dispatches to (``torch.backends.cpu.get_cpu_capability()``)."""

    model: str
    flags: frozenset[str]
    capability: str

    @property
    def has_amx(self) -> bool:
        """Whether the CPU exposes AMX for bf16 (by its flags or torch's capability)."""
        return any(f in self.flags for f in AMX_FLAGS) or "AMX" in self.capability.upper()


@dataclass(frozen=True)
class PrecisionChoice:
    """A resolved precision and why it was chosen.

    Attributes:
        requested: the setting (``auto`` or a named precision).
        precision: what runs: ``32-true``, ``bf16-mixed`` or ``16-mixed``.
        reason: one line for the log and the run's records.
    """

    requested: str
    precision: str
    reason: str

    def record(self) -> dict[str, str]:
        """The choice as a flat mapping for run metadata."""
        return {
            "precision_requested": self.requested,
            "precision": self.precision,
            "precision_reason": self.reason,
        }


def read_cpu_info() -> CpuInfo:
    """This machine's CPU model name and flags (``/proc/cpuinfo``; empty where it is not
    readable, e.g. on macOS) and torch's CPU capability."""
    import torch

    model, flags = platform.processor() or platform.machine(), frozenset[str]()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and value.strip():
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
    capability = torch.backends.cpu.get_cpu_capability()
    return CpuInfo(model, flags, str(capability))


def cache_dir() -> Path:
    """findna's cache folder: ``$FINDNA_CACHE_DIR``, else ``$XDG_CACHE_HOME/findna``, else
    ``~/.cache/findna``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "findna"


def machine_key(cpu: CpuInfo, threads: int) -> str:
    """The cache key of a measurement: CPU model, flags, torch version and thread count."""
    import torch

    text = "|".join([cpu.model, " ".join(sorted(cpu.flags)), torch.__version__, str(threads)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def model_shapes(width: int, hidden: int, tokens: int) -> tuple[Shape, ...]:
    """The two block GEMMs of a ChordMixer (``fc1``: d -> h, ``fc2``: h -> d) at ``tokens``
    rows, capped at :data:`MAX_ROWS`."""
    m = max(1, min(int(tokens), MAX_ROWS))
    return ((m, width, hidden), (m, hidden, width))


def time_linears(
    shapes: Sequence[Shape], min_time_s: float = 0.02, rounds: int = 3
) -> tuple[float, float]:
    """Seconds of one ``F.linear`` per shape, summed over ``shapes``: float32, then under bf16
    autocast (float32 inputs and weights, as the models run). Each is the best of ``rounds``
    loops of at least ``min_time_s``, float32 and bf16 interleaved so that a burst of load from
    other processes does not fall on one of them only; a warm-up call first; fixed-seed inputs."""
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(0)
    totals = [0.0, 0.0]
    for m, k, n in shapes:
        x, w = torch.randn(m, k, generator=gen), torch.randn(n, k, generator=gen)
        best = [float("inf"), float("inf")]
        for round_ in range(rounds + 1):  # round 0 warms up (oneDNN builds its kernels)
            for i, bf16 in enumerate((False, True)):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    calls, start = 0, time.perf_counter()
                    while (elapsed := time.perf_counter() - start) < min_time_s * (round_ > 0):
                        F.linear(x, w)
                        calls += 1
                    if round_ == 0:
                        F.linear(x, w)
                    else:
                        best[i] = min(best[i], elapsed / calls)
        totals[0] += best[0]
        totals[1] += best[1]
    return totals[0], totals[1]


_MEMO: dict[tuple[str, str], float] = {}


def _read_cache(path: Path) -> dict[str, Any]:
    """The cache file's entries; {} with a warning when it is unreadable or malformed."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["shapes"]
        if not isinstance(entries, dict) or not all(
            isinstance(v, dict) and float(v["speedup"]) > 0 for v in entries.values()
        ):
            raise ValueError("'shapes' must map shape keys to records with a positive 'speedup'")
        return data
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning(
            "ignoring the precision cache %s (%s: %s); measuring again and rewriting it",
            path,
            type(err).__name__,
            err,
        )
        return {}


def bf16_speedup(
    shapes: Sequence[Shape] = DEFAULT_SHAPES,
    *,
    cpu: CpuInfo | None = None,
    folder: Path | None = None,
    measure: Measure | None = None,
) -> float:
    """float32 time / bf16 autocast time of ``shapes`` on this CPU (> 1: bf16 is faster).

    Read from the cache file ``folder/precision-<machine key>.json`` (default folder:
    :func:`cache_dir`) when it holds these shapes; otherwise measured once with ``measure``
    (default :func:`time_linears`) and written there. A corrupt cache file is ignored with a
    warning and rewritten; an unwritable folder only costs a warning.
    """
    import torch

    cpu = cpu or read_cpu_info()
    threads = torch.get_num_threads()
    key = machine_key(cpu, threads)
    shape_key = ",".join(f"{m}x{k}x{n}" for m, k, n in shapes)
    path = (folder or cache_dir()) / f"precision-{key}.json"
    if (key, shape_key) in _MEMO and folder is None and measure is None:
        return _MEMO[(key, shape_key)]
    data = _read_cache(path)
    entry = data.get("shapes", {}).get(shape_key)
    if entry is not None:
        speedup = float(entry["speedup"])
    else:
        fp32_s, bf16_s = (measure or time_linears)(shapes)
        speedup = fp32_s / bf16_s
        data = {
            "cpu_model": cpu.model,
            "cpu_capability": cpu.capability,
            "torch": torch.__version__,
            "threads": threads,
            "shapes": {
                **data.get("shapes", {}),
                shape_key: {"fp32_s": fp32_s, "bf16_s": bf16_s, "speedup": speedup},
            },
        }
        log.info(
            "measured bf16 autocast against float32 at GEMMs %s on %d thread(s): %.2fx; cached "
            "in %s (delete it to measure again)",
            shape_key,
            threads,
            speedup,
            path,
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
            tmp.replace(path)
        except OSError as err:
            log.warning("could not write the precision cache %s: %s", path, err)
    _MEMO[(key, shape_key)] = speedup
    return speedup


def choose_precision(
    requested: str,
    device: Any,
    shapes: Sequence[Shape] | None = None,
    *,
    cpu: CpuInfo | None = None,
    folder: Path | None = None,
    measure: Measure | None = None,
) -> PrecisionChoice:
    """Resolve ``requested`` on ``device`` (a ``torch.device`` or its type name).

    ``auto``: ``bf16-mixed`` on CUDA; on a CPU the value of ``$FINDNA_CPU_PRECISION`` when it
    is set, else ``bf16-mixed`` with AMX, else by
    :func:`bf16_speedup` of ``shapes`` (default :data:`DEFAULT_SHAPES`) against
    :data:`BF16_MIN_SPEEDUP`, else ``32-true``. The choice is logged once per process.
    ``cpu``, ``folder`` and ``measure`` replace the machine's CPU, the cache folder and the
    timing (tests force each path with them).

    Raises:
        ValueError: ``requested`` is not one of :data:`findna.config.PRECISIONS`.
    """
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {requested!r}")
    kind = getattr(device, "type", str(device).split(":")[0])
    if requested != "auto":
        return PrecisionChoice(requested, requested, f"{requested} was requested")
    if kind == "cuda":
        choice = PrecisionChoice("auto", "bf16-mixed", "auto on CUDA: bf16 autocast")
    elif kind != "cpu":
        choice = PrecisionChoice("auto", "32-true", f"auto on {kind}: float32")
    elif os.environ.get(CPU_PRECISION_ENV):
        fixed = os.environ[CPU_PRECISION_ENV]
        if fixed not in ("32-true", "bf16-mixed"):
            raise ValueError(
                f"{CPU_PRECISION_ENV}={fixed!r}: use 32-true or bf16-mixed, or unset it to let "
                "auto choose by the CPU"
            )
        choice = PrecisionChoice("auto", fixed, f"auto on a CPU: {CPU_PRECISION_ENV}={fixed}")
    else:
        cpu = cpu or read_cpu_info()
        if cpu.has_amx:
            choice = PrecisionChoice(
                "auto", "bf16-mixed", f"auto on a CPU with AMX ({cpu.model}): bf16 autocast"
            )
        else:
            speedup = bf16_speedup(
                shapes or DEFAULT_SHAPES, cpu=cpu, folder=folder, measure=measure
            )
            faster = speedup >= BF16_MIN_SPEEDUP
            choice = PrecisionChoice(
                "auto",
                "bf16-mixed" if faster else "32-true",
                f"auto on a CPU without AMX ({cpu.model}): bf16 matmuls measured {speedup:.2f}x "
                f"the float32 speed ({'>=' if faster else '<'} {BF16_MIN_SPEEDUP}x)",
            )
    key = (choice.precision, choice.reason)
    log_once(log, logging.INFO, key, "precision %s: %s", choice.precision, choice.reason)
    return choice


def resolve_precision(precision: str, device: Any, shapes: Sequence[Shape] | None = None) -> str:
    """The precision that runs for ``precision`` on ``device`` (:func:`choose_precision`)."""
    return choose_precision(precision, device, shapes).precision


__all__ = [
    "BF16_MIN_SPEEDUP",
    "CPU_PRECISION_ENV",
    "DEFAULT_SHAPES",
    "CpuInfo",
    "PrecisionChoice",
    "bf16_speedup",
    "cache_dir",
    "choose_precision",
    "model_shapes",
    "read_cpu_info",
    "resolve_precision",
    "time_linears",
]
