"""Presentation of ``findna bench`` results: Markdown tables and a JSON dump with the machine."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

from findna.perf.device import device_description
from findna.perf.machine import MatmulResult, cpu_description
from findna.perf.step import StepResult


def _fmt_other(value: float | None) -> str:
    return "?" if value is None else f"{value:.2f}"


def matmul_markdown(results: Sequence[MatmulResult]) -> str:
    """Markdown table: one row per (threads, shape), one GFLOP/s column per dtype."""
    dtypes = list(dict.fromkeys(r.dtype for r in results))
    rows: dict[tuple[int, int, int, int, str], dict[str, MatmulResult]] = {}
    for r in results:
        rows.setdefault((r.threads, r.m, r.k, r.n, r.layout), {})[r.dtype] = r
    head = "| threads | M x K x N | " + " | ".join(f"{d} GFLOP/s" for d in dtypes)
    lines = [head + " | load 1 min | other CPU |", "|---" * (len(dtypes) + 4) + "|"]
    for (threads, m, k, n, layout), cells in rows.items():
        rates = " | ".join(f"{cells[d].gflops:.0f}" if d in cells else "-" for d in dtypes)
        first = next(iter(cells.values()))
        others = max((c.other_cpu or 0.0) for c in cells.values())
        shape = f"{m} x {k} x {n}" + ("" if layout == "nn" else f" ({layout})")
        lines.append(
            f"| {threads} | {shape} | {rates} | {first.load_1min:.2f} | "
            f"{_fmt_other(others if first.other_cpu is not None else None)} |"
        )
    return "\n".join(lines)


def results_json(results: Sequence[StepResult], matmul: Sequence[MatmulResult]) -> dict:
    """Plain-data form of a benchmark run (machine description included), for ``--json``."""
    machine = cpu_description()
    if any(r.device == "cuda" for r in [*results, *matmul]):
        import torch

        machine.update(device_description(torch.device("cuda")))
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "steps": [dataclasses.asdict(r) for r in results],
        "matmul": [dataclasses.asdict(r) for r in matmul],
    }


def render_report(
    results: Sequence[StepResult], matmul: Sequence[MatmulResult], json_path: str | None = None
) -> str:
    """Markdown (machine line, step table if any, matmul table); also writes ``json_path``."""
    data = results_json(results, matmul)
    if json_path:
        Path(json_path).write_text(json.dumps(data, indent=1) + "\n")
    parts = [machine_line(data)]
    if results:
        parts.append(step_markdown(results))
    if matmul:
        parts.append(matmul_markdown(matmul))
    return "\n\n".join(parts)


def machine_line(data: dict) -> str:
    """One line: date, CPU, torch, bf16 flags, and the GPU when one was used."""
    m = data["machine"]
    line = (
        f"{data['date']}, {m['cpu_model']}, {m['cpu_count']} CPUs, torch {m['torch']} "
        f"({m['torch_cpu_capability']}); flags: {m['bf16_flags']}; absent: {m['missing_flags']}"
    )
    if "gpu" in m:
        line += (
            f"; GPU {m['gpu']} ({m['gpu_memory_gib']} GiB, sm {m['gpu_capability']}, "
            f"CUDA {m['cuda']})"
        )
    return line


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def step_markdown(results: Sequence[StepResult]) -> str:
    """Markdown table of :class:`StepResult` rows (targets: peak >= 60%, rotation <= 15%,
    views <= 5%)."""
    head = (
        "| config | dtype | threads | batch x tokens | s/step | tokens/s | GFLOP/step | GFLOP/s "
        "| matmul peak | of peak | views | fwd | bwd | opt+EMA | rotation (direct) | load "
        "| other CPU | device | peak mem MiB |"
    )
    lines = [head, "|---" * 19 + "|"]
    for r in results:
        p = r.phases
        other = "?" if r.other_cpu is None else f"{r.other_cpu:.2f}"
        peak = "-" if r.peak_gflops is None else f"{r.peak_gflops:.0f}"
        lines.append(
            f"| {r.config} | {r.dtype} | {r.threads} | {r.batch} x {r.tokens} | {r.step_s:.3f} | "
            f"{r.tokens_per_s:,.0f} | {r.gflop_per_step:.1f} | {r.gflops:.0f} | {peak} | "
            f"{_pct(r.peak_share)} | {_pct(r.views_share)} | "
            f"{_pct(p['forward'] / r.step_s)} | {_pct(p['backward'] / r.step_s)} | "
            f"{_pct((p['optimizer'] + p['ema']) / r.step_s)} | "
            f"{_pct(r.rotation_share)} ({_pct(r.rotation_direct_share)}) | "
            f"{r.load_1min:.2f} | {other} | {r.device} | "
            f"{'-' if r.peak_mem_mib is None else f'{r.peak_mem_mib:.0f}'} |"
        )
    return "\n".join(lines)
