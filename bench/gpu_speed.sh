#!/usr/bin/env bash
# GPU drafting speed: Gemma 3 270M fine-tuned (gemma3-270m-full), beam 4, on one GPU against the
# same model on the CPU. For a session with a CUDA GPU; nothing here runs without one.
#
#   CSV=path/reports.csv OUT=dir [GGUF=path/gemma-3-270m-q4_k_m.gguf] bash bench/gpu_speed.sh [MINUTES] [REPORTS] [CPU_REPORTS]
#
# 1. ingest + dataset build (default split) of CSV; 2. fine-tune gemma3-270m-full for MINUTES
# minutes on the GPU (bf16); 3. check that generation runs on the GPU (tests/models/
# test_generation_device.py, whose CUDA test runs only here); 4. `radimpress generate` of the first
# REPORTS test reports on the GPU (--backend hf: bf16, device-sized batches, KV cache, stop on
# token ids), beam 4; 5. the first CPU_REPORTS of them on 2 CPU threads, transformers and the
# CTranslate2 int8 copy. Writes OUT/gpu_speed.json (reports/s of each, the GPU/CPU ratios) and the
# logs; paste the numbers into BENCHMARKS.md "## Speed" (GPU).
set -euo pipefail
MINUTES=${1:-5}
REPORTS=${2:-200}
CPU_REPORTS=${3:-32}
W=${WORK:-/tmp/gpu-speed}
BASE=${GGUF:-gemma3-270m}
mkdir -p "$W" "$OUT"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
nvidia-smi -L | tee "$OUT/gpu.txt"
python3 -m radimpress ingest "$CSV" --out "$W/ingest" > /dev/null
python3 -m radimpress dataset build --input "$W/ingest/reports.jsonl" --out "$W/data" > /dev/null
head -n "$REPORTS" "$W/data/test.jsonl" > "$W/gpu_reports.jsonl"
head -n "$CPU_REPORTS" "$W/data/test.jsonl" > "$W/cpu_reports.jsonl"
python3 -m radimpress train --recipe gemma3-270m-full --set "base=$BASE" --max-minutes "$MINUTES" \
  --data "$W/data" --out "$W/model" 2>&1 | tr '\r' '\n' | grep -v '^\s*$' | tail -n 20 | tee "$OUT/train.log"
python3 -m pytest -q -p no:cacheprovider tests/models/test_generation_device.py 2>&1 | tail -n 5 | tee "$OUT/device_test.log"

draft() {  # label, device, threads, input, extra flags...
  local label=$1 device=$2 threads=$3 input=$4; shift 4
  RADIMPRESS_DEVICE=$device python3 -m radimpress --threads "$threads" generate --model "$W/model" \
    --input "$input" --output "$OUT/$label.jsonl" --num-beams 4 "$@" 2>&1 | tr '\r' '\n' \
    | grep '^generated' | tee "$OUT/$label.log"
}
draft gpu cuda 2 "$W/gpu_reports.jsonl" --backend hf
draft cpu-hf cpu 2 "$W/cpu_reports.jsonl" --backend hf
python3 -m radimpress export --model "$W/model" --format ctranslate2 --quantization int8 --vocabulary-shortlist | tee "$OUT/export.log"
draft cpu-ct2 cpu 2 "$W/cpu_reports.jsonl" --backend ctranslate2

python3 - "$OUT" <<'PY'
import json, re, sys
from pathlib import Path
out = Path(sys.argv[1])
rate = {}
for label in ("gpu", "cpu-hf", "cpu-ct2"):
    text = (out / f"{label}.log").read_text()
    rate[label] = float(re.search(r"\(([\d.]+) reports/s", text).group(1))
result = {
    "reports_per_s": rate,
    "gpu_over_cpu_hf": round(rate["gpu"] / rate["cpu-hf"], 1),
    "gpu_over_cpu_ct2": round(rate["gpu"] / rate["cpu-ct2"], 1),
    "gpu": (out / "gpu.txt").read_text().strip(),
}
(out / "gpu_speed.json").write_text(json.dumps(result, indent=2))
print(json.dumps(result, indent=2))
PY
