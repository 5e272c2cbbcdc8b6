#!/usr/bin/env bash
# Gemma 3 270M full fine-tune (recipe gemma3-270m-full, neighbours' impressions in the
# prompt) on Open-i, on one GPU. Used through the device tool; runs anywhere with a GPU:
#
#   GGUF=path/gemma-3-270m-q4_k_m.gguf CSV=path/reports.csv OUT=dir bash bench/gpu_gemma_full.sh [MINUTES] [TEST_LIMIT]
#
# Writes OUT/predictions.jsonl (first TEST_LIMIT test reports of the default split),
# OUT/train.log, OUT/generate.log and OUT/radimpress.json; score them against the CPU
# systems on the same subset with `radimpress evaluate` (the split is deterministic).
set -euo pipefail
MINUTES=${1:-3}
LIMIT=${2:-100}
W=${WORK:-/tmp/gemma-gpu}
EXTRA=${EXTRA:-}   # e.g. "--precision fp32 --max-steps 1 --set train.eval_samples=2" for a CPU smoke run
mkdir -p "$W" "$OUT"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
python3 -m radimpress ingest "$CSV" --out "$W/ingest" > /dev/null
python3 -m radimpress dataset build --input "$W/ingest/reports.jsonl" --out "$W/data" > /dev/null
head -n "$LIMIT" "$W/data/test.jsonl" > "$W/test_subset.jsonl"
start=$(date +%s)
python3 -m radimpress train --recipe gemma3-270m-full --set "base=$GGUF" --max-minutes "$MINUTES" \
  $EXTRA --data "$W/data" --out "$W/model" 2>&1 | tr '\r' '\n' | grep -v '^\s*$' | tail -n 40 | tee "$OUT/train.log"
echo "train wall seconds: $(( $(date +%s) - start ))" | tee -a "$OUT/train.log"
python3 -m radimpress generate --model "$W/model" --input "$W/test_subset.jsonl" \
  --output "$OUT/predictions.jsonl" 2>&1 | tr '\r' '\n' | tail -n 5 | tee "$OUT/generate.log"
cp "$W/model/radimpress.json" "$OUT/radimpress.json"
(nvidia-smi -L 2>/dev/null || echo "no GPU") | tee -a "$OUT/generate.log"
