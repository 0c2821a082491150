"""Benchmark genome preparation and the pretraining window sampler; prints a Markdown snippet.

Usage::

    .venv/bin/python perf/bench_data.py [--fasta FASTA] [--out DIR] [--windows N]

``prepare`` runs in a fresh subprocess so that its peak RSS (``ru_maxrss`` of the child) is
measured alone. The sampler is timed in this process on one thread: sampling + encoding to
uint8 codes (``fetch``), the DataLoader path (``__getitems__`` + ``default_collate``), and the
extra cost of one-hot conversion.
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from findna.data.alphabet import one_hot
from findna.data.genome import load_genome
from findna.data.root import data_root
from findna.data.windows import GenomeWindows, WindowConfig

_PREPARE = (
    "import sys, time; from findna.data.genome import prepare_genome; t = time.perf_counter(); "
    "prepare_genome([sys.argv[1]], sys.argv[2], force=True); print(time.perf_counter() - t)"
)


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def bench_prepare(fasta: Path, out: Path) -> tuple[float, float, float]:
    """Seconds inside prepare_genome, wall seconds of the subprocess, peak RSS in MiB."""
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-c", _PREPARE, str(fasta), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return float(res.stdout.strip().splitlines()[-1]), wall, peak_kib / 1024


def _rate(fn, n_items: int, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n_items / best


def bench_sampler(genome_dir: Path, n: int) -> list[tuple[str, float]]:
    torch.set_num_threads(1)
    ds = GenomeWindows(load_genome(genome_dir), WindowConfig(num_windows=n, seed=0))
    idx = np.arange(n)
    rows = []
    for bs in (256, 1024):
        batches = [idx[i : i + bs] for i in range(0, n, bs)]
        rows.append(
            (
                f"fetch (B={bs}): sample + codes",
                _rate(lambda b=batches: [ds.fetch(x) for x in b], n),
            )
        )
    loader = DataLoader(ds, batch_size=256, num_workers=0)
    rows.append(("DataLoader B=256, 0 workers (uint8 batch)", _rate(lambda: list(loader), n)))
    batches = [idx[i : i + 256] for i in range(0, n, 256)]
    rows.append(
        (
            "fetch + alphabet.one_hot (B=256, float32)",
            _rate(lambda: [one_hot(ds.fetch(x)) for x in batches], n),
        )
    )
    rows.append(
        (
            "fetch + F.one_hot(long) (B=256, int64)",
            _rate(
                lambda: [
                    torch.nn.functional.one_hot(torch.from_numpy(ds.fetch(x)).long(), 5)
                    for x in batches
                ],
                n,
            ),
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fasta", type=Path, default=None, help="default: hg19 chrX 1-70 Mb")
    parser.add_argument("--out", type=Path, default=None, help="default: a temporary directory")
    parser.add_argument("--windows", type=int, default=100_000, help="windows per timing")
    args = parser.parse_args()
    fasta = args.fasta or data_root() / "genomes" / "hg19_chrX_1-70Mb.fa.gz"
    tmp = Path(tempfile.mkdtemp(prefix="findna-bench-"))
    out = args.out or tmp / "genome"
    try:
        inner, wall, peak = bench_prepare(fasta, out)
        rows = bench_sampler(out, args.windows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(
        f"Machine: {_cpu_model()}, {len(__import__('os').sched_getaffinity(0))} cores, "
        f"load average {' '.join(load)}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, torch {torch.__version__}\n"
    )
    print("| step | figure |\n|---|---|")
    print(f"| prepare `{fasta.name}` (in function) | {inner:.1f} s |")
    print(f"| prepare, whole subprocess incl. imports | {wall:.1f} s, peak RSS {peak:.0f} MiB |")
    for name, rate in rows:
        print(f"| {name} | {rate:,.0f} windows/s |")


if __name__ == "__main__":
    main()
