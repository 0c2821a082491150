#!/usr/bin/env bash
# Every GPU case of issue 10 in one short run (about 5 minutes on an H100), from a plain copy of
# the repository: `PYTHONPATH=src bash perf/gpu_check.sh`. Needs python3 with torch + CUDA
# (transformers optional: the peer cases are skipped without it). Each stage runs under its own
# `timeout`, so one slow or failing stage cannot take the others with it. Results go to $OUT
# (default ./gpu_out): matmul.json (GEMM rates at d = 308 and padded widths), compare.json
# (rotation variants, peers, sweep, kernel counts), compare_compile.json (torch.compile variants),
# model.json (`findna bench model --device cuda`), rotation.txt, pytest.xml and log.txt.
# Dry run of the plumbing on a CPU (tiny sizes, seconds per stage):
#   DEVICE=cpu SMOKE=1 OUT=/tmp/gpu_dry PYTHONPATH=src bash perf/gpu_check.sh
set -u
OUT="${OUT:-gpu_out}"
DEVICE="${DEVICE:-cuda}"
if [ "${SMOKE:-0}" = 1 ]; then
  SIZES="--smoke"; MODEL="--configs tiny --batch 2 --steps 1"
else
  SIZES=""; MODEL="--configs paper --batch 64 --steps 5"
fi
source "$(dirname "$0")/stages.sh"

stage env 20 bash -c "date -u; nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv; \
  $PY -c 'import torch, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name(0))'; \
  $PY -c 'import transformers; print(\"transformers\", transformers.__version__)' || echo 'transformers: missing'"

# Fast paths against the reference on CUDA (gather in fp32/bf16, aot_eager compile); no inductor.
stage tests 45 $PY -m pytest -q -p no:cacheprovider -m gpu tests/model/test_chordmixer.py \
  -k "not inductor" -o addopts="" --junitxml="$OUT/pytest.xml"

# GEMM rates of the block's shapes at d = 308 (the paper; 616-byte bf16 rows) and padded widths.
M=64640  # 64 x 1010 tokens
SHAPES="${M}x308x512,${M}x312x512,${M}x320x512,${M}x512x308,${M}x512x320,512x${M}x308,512x${M}x320,308x${M}x512,320x${M}x512"
[ "${SMOKE:-0}" = 1 ] && SHAPES="256x308x512,256x320x512"
stage matmul 40 $PY -m findna.cli bench matmul --device "$DEVICE" --dtypes bf16 --threads 1 \
  --shapes "$SHAPES" --repeats 20 --min-time 0.2 --json "$OUT/matmul.json"

# The side-by-side table: step, network, peers, sweep and kernel counts per rotation variant.
stage compare 150 $PY -m findna.cli bench compare --device "$DEVICE" $SIZES \
  --variants reference,gather,padded --sweep-variants gather,padded --json "$OUT/compare.json"

# Opt-in torch.compile of the blocks: compile time and steady-state step / network times.
stage compile 150 $PY -m findna.cli bench compare --device "$DEVICE" $SIZES \
  --cases step,network,kernels --variants padded,gather+compile,padded+compile \
  --json "$OUT/compare_compile.json"

# findna bench model on CUDA (the default rotation): phases, rotation share, TFLOP/s vs the peak.
stage model 50 $PY -m findna.cli bench model --device "$DEVICE" $MODEL --dtypes bf16 \
  --rotation-repeats 2 --json "$OUT/model.json"

stage inductor_tests 70 $PY -m pytest -q -p no:cacheprovider -m gpu tests/model/test_chordmixer.py \
  -k inductor -o addopts=""

stage rotation 25 bash -c "$PY perf/bench_rotation.py --device $DEVICE --dtype bf16 > '$OUT/rotation.txt'; cat '$OUT/rotation.txt'"
echo "=== done $(date -u +%H:%M:%S), total ${SECONDS} s"
