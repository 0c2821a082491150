#!/usr/bin/env bash
# On 2 cores, do two pretraining runs of 1 thread at once finish sooner than the same runs one
# after another with 2 threads (a study's runs in parallel processes)? The fp32 pretraining
# step of tiny and small (the findna objective, the presets' batch) timed 3 ways:
#   1. one run, 2 threads, alone
#   2. one run, 1 thread, alone
#   3. two runs of 1 thread at the same time
# Runs per hour, parallel against sequential: 2 / step(3) against 1 / step(1). Run it on a
# quiet 2-core machine (pause other jobs first: kill -STOP, then kill -CONT).
# Usage: perf/bench_jobs.sh [OUT_DIR]; docs/performance.md section 3 has the figures.
set -euo pipefail
out=${1:-perf/results/jobs}
mkdir -p "$out"
args=(--configs tiny,small --dtypes fp32 --steps 5 --warmup 1 --rotation-repeats 0 --device cpu)
lscpu | grep -E "Model name|^CPU\(s\)" > "$out/machine.txt"
lscpu | grep -oE "amx[a-z_0-9]*|avx512_bf16|avx512f|avx2" | sort -u | tr '\n' ' ' >> "$out/machine.txt"
OMP_NUM_THREADS=2 findna bench model "${args[@]}" --threads 2 --json "$out/alone-2threads.json"
OMP_NUM_THREADS=1 findna bench model "${args[@]}" --threads 1 --json "$out/alone-1thread.json"
for side in a b; do
  OMP_NUM_THREADS=1 findna bench model "${args[@]}" --threads 1 --max-other-cpu 99 \
    --json "$out/pair-$side.json" > "$out/pair-$side.txt" 2>&1 &
done
wait
cat "$out/pair-a.txt"
python - "$out" <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
def steps(name):
    data = json.loads((out / name).read_text())
    return {r["config"]: r["step_s"] for r in data["steps"]}
alone2, alone1 = steps("alone-2threads.json"), steps("alone-1thread.json")
pair = [steps(f"pair-{s}.json") for s in "ab"]
print("config | 1 run, 2 threads (s/step) | 1 run, 1 thread | 2 runs of 1 thread at once | runs/hour, 2 at once / one after another")
for c in alone2:
    both = max(p[c] for p in pair)
    print(f"{c} | {alone2[c]:.3f} | {alone1[c]:.3f} | {pair[0][c]:.3f}, {pair[1][c]:.3f} | {2 * alone2[c] / both:.2f}x")
PY
