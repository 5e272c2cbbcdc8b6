"""Per-step time of the causal loss: vocabulary projection at impression positions only vs full logits.

    OMP_NUM_THREADS=2 .venv/bin/python bench/causal_projection.py [--model shape|tiny|real] [--lora]

shape (default): Gemma 3 270M's exact shape (18 layers, 640 wide, 262,144-token
vocabulary) with random weights -- timing does not depend on the weights, and it
needs no download. real: the built-in GGUF Gemma 3 270M. tiny: 2 layers, 128
wide, same vocabulary. Steps (forward + backward + AdamW) alternate between the
two losses so that load from other processes hits both alike; the median is printed.
Runs on CUDA when available.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from radimpress.models.recipes import build_model  # noqa: E402
from radimpress.models.torch_modules import CompletionLoss  # noqa: E402
from support import synthetic_reports  # noqa: E402

GEMMA3_270M_SHAPE = {"hidden_size": 640, "intermediate_size": 2048, "num_hidden_layers": 18, "num_attention_heads": 4,
                     "num_key_value_heads": 1, "head_dim": 256, "sliding_window": 512}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["shape", "tiny", "real"], default="shape")
    ap.add_argument(
        "--lora", action="store_true", help="LoRA r16 on all linear layers (else full fine-tune)"
    )
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4)
    args = ap.parse_args()
    train = synthetic_reports(64, 1, "tr")
    recipe = {
        "kind": "causal",
        "prompt": {"rag_k": 4},
        "lora": {"enabled": args.lora, "r": 16, "target_modules": "all-linear"},
    }
    if args.model == "real":
        recipe["base"] = "gemma3-270m"
    else:
        overrides = GEMMA3_270M_SHAPE if args.model == "shape" else {}
        recipe["scratch"] = {"size": "gemma3-tiny", "vocab_size": 300, "overrides": overrides}
    model = build_model(recipe)
    model.builder.fit(train)
    model.build(train)
    net = model.model.get_base_model() if args.lora else model.model
    if args.model != "real":  # Gemma's vocabulary size
        net.resize_token_embeddings(262144, mean_resizing=False)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.model.to(device).train()
    batch = {
        k: v.to(device) for k, v in model.encode(*model.training_pairs(train[: args.batch])).items()
    }
    params = [p for p in model.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-5)
    losses = {
        "completion-only": CompletionLoss(model.model),
        "full logits": CompletionLoss(model.model, full_logits=True),
    }
    times: dict[str, list[float]] = {k: [] for k in losses}
    for i in range(args.steps + 1):
        for name, fn in losses.items():
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn(**batch).backward()
            opt.step()
            opt.zero_grad()
            if device == "cuda":
                torch.cuda.synchronize()
            if i:  # step 0 warms up
                times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    n_tokens = int(batch["attention_mask"].sum())
    n_targets = int((batch["labels"] != -100).sum())
    where = (
        torch.cuda.get_device_name()
        if device == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    print(f"{args.model} ({'LoRA r16' if args.lora else 'full'}), batch {args.batch}: {n_tokens} tokens, "
          f"{n_targets} impression tokens, {where}")  # fmt: skip
    print(f"completion-only projection {med['completion-only']:.3f} s/step; full logits {med['full logits']:.3f} s/step; "
          f"speed-up {med['full logits'] / med['completion-only']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
