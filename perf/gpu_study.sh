#!/usr/bin/env bash
# The study finalists at the paper's architecture on one GPU (issue 9 §4): `findna study
# paper_gpu` (src/findna/configs/study/paper_gpu.yaml), about 10 minutes on an H100.
# The device copy holds the repository only, so first copy the data it reads into the
# git-ignored .gpu_data (about 43 MB, under the 64 MiB carry limit) and carry that folder:
#   mkdir -p .gpu_data/genomes .gpu_data/benchmarks/gue .gpu_data/benchmarks/genomic_benchmarks
#   cp ../shared/data/genomes/hg19_chrX_1-70Mb.fa.gz .gpu_data/genomes/
#   cp -r ../shared/data/benchmarks/gue/EMP .gpu_data/benchmarks/gue/
#   cp -r ../shared/data/benchmarks/genomic_benchmarks/human_{enhancers_cohn,nontata_promoters} \
#     .gpu_data/benchmarks/genomic_benchmarks/
# then run `OUT=$OUT bash perf/gpu_study.sh` with carry [".gpu_data"].
# Stages, each under its own timeout; results (study.md/json/png, every run's summary and
# curves) under $OUT (default ./gpu_out).
set -u
OUT="${OUT:-gpu_out}"
source "$(dirname "$0")/stages.sh"
export FINDNA_DATA="${FINDNA_DATA:-.gpu_data}"

stage env 20 bash -c "date -u; nvidia-smi --query-gpu=name,memory.total --format=csv"
stage study 540 $PY -m findna.cli study paper_gpu --out "$OUT/study"
find "$OUT/study/runs" \( -name '*.ckpt' -o -name 'model.safetensors' \) -delete 2>/dev/null
rm -rf "$OUT/study/genome" "$OUT/study/benchmark/cache"
