#!/usr/bin/env bash
# A short GPU check of the pretraining path as users run it (about 4 minutes on an H100), from a
# plain copy of the repository: `GENOME=path/to/chrX.fa.gz PYTHONPATH=src bash perf/gpu_pretrain_check.sh`.
# Stages, each under its own timeout, results under $OUT (default ./gpu_out):
#   tests     the CUDA-marked tests of the ChordMixer fast paths
#   model     `findna bench model --device cuda` on the paper step: the default rotation
#             (padded on CUDA) and the one-gather rotation
#   pretrain  `findna pretrain --config paper` for 300 steps on $GENOME: windows/s end to end
#             (data loading, views, both networks, optimiser, EMA, logging), summary + metrics
set -u
OUT="${OUT:-gpu_out}"
source "$(dirname "$0")/stages.sh"

stage env 20 bash -c "date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; \
  $PY -c 'import torch, sys; print(sys.version.split()[0], torch.__version__, torch.version.cuda)'"
stage tests 50 $PY -m pytest -q -p no:cacheprovider -m gpu tests/model/test_chordmixer.py \
  -k "not inductor" -o addopts="" --junitxml="$OUT/pytest.xml"
stage model 45 $PY -m findna.cli bench model --device cuda --configs paper --batch 64 --steps 5 \
  --dtypes bf16 --rotation-repeats 0 --json "$OUT/model_default.json"
stage model_gather 45 $PY -m findna.cli bench model --device cuda --configs paper --batch 64 \
  --steps 5 --dtypes bf16 --rotation-repeats 0 --rotation gather --json "$OUT/model_gather.json"
stage pretrain 110 $PY -m findna.cli pretrain --config paper --out "$OUT/run" \
  --set "data.genome=$GENOME" --set optim.max_steps=300 --set data.val_windows=256 \
  --set run.val_every_n_steps=300 --set run.ckpt_every_n_steps=300 --set run.log_every_n_steps=25 \
  --set run.progress_bar=false
cp "$OUT/run/summary.json" "$OUT/pretrain_summary.json" 2>/dev/null
cp "$OUT/run/logs/metrics.csv" "$OUT/pretrain_metrics.csv" 2>/dev/null
rm -rf "$OUT/run"
