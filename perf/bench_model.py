"""Speed of a full FinDNA pretraining step and the matmul peaks (a thin wrapper of the CLI).

Usage::

    .venv/bin/python perf/bench_model.py [findna bench model options]
    # same as: findna bench model --configs tiny,paper --dtypes fp32,bf16 ...

See ``findna.perf.step`` for what is timed and how FLOPs are counted, and docs/performance.md
for the figures measured on the development machine.
"""

from __future__ import annotations

import sys

from findna.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "model", *sys.argv[1:]]))
