"""The ``findna bench compare`` handler: arguments -> ``run_compare`` -> Markdown + JSON."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from findna.devices import resolve_device
from findna.perf.compare import CASES, CompareSizes, run_compare
from findna.perf.compare_report import compare_markdown, ratios
from findna.perf.device import device_description
from findna.perf.machine import cpu_description, parse_dtypes
from findna.perf.report import machine_line


def _csv(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def sizes_from_args(args: argparse.Namespace) -> CompareSizes:
    """The default (issue) sizes or ``--smoke``, with the explicit options applied."""
    sizes = CompareSizes.smoke() if args.smoke else CompareSizes()
    changes: dict[str, object] = {}
    for name in ("batch", "sweep_tokens", "repeats", "warmup", "kernel_batch"):
        value = getattr(args, name)
        if value is not None:
            if value < (0 if name == "warmup" else 1):
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value}")
            changes[name] = value
    if args.sweep_lengths:
        changes["sweep_lengths"] = tuple(int(v) for v in _csv(args.sweep_lengths))
    return replace(sizes, **changes)


def compare_command(args: argparse.Namespace) -> dict:
    """Run ``findna bench compare``; prints the tables and writes ``--json``."""
    device = resolve_device(args.device)
    (dtype,) = parse_dtypes(args.dtype)
    cases = _csv(args.cases)
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        raise ValueError(f"unknown case(s) {unknown}; choose from {', '.join(CASES)}")
    variants = _csv(args.variants) + (("compile",) if args.compile else ())
    sizes = sizes_from_args(args)
    started = time.perf_counter()
    sweep = _csv(args.sweep_variants) if args.sweep_variants else None
    data = run_compare(device, cases, tuple(dict.fromkeys(variants)), dtype, sizes, sweep)
    machine = cpu_description()
    machine.update(device_description(device))
    data = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "device": device.type,
        "seconds": round(time.perf_counter() - started, 1),
        **data,
    }
    data["ratios"] = ratios(data)
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
    print(machine_line(data) + f"; device {device.type}, {dtype}\n")
    print(compare_markdown(data))
    return data
