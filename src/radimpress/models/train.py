"""The one training loop for every neural recipe, on accelerate.

Read top to bottom it is: build the model, shard the data, then repeat
{accumulate gradients, step, maybe validate / checkpoint / stop}. The same
code runs as one process or under ``accelerate launch`` (DDP over NCCL on
GPUs, gloo on CPUs; DeepSpeed or FSDP by accelerate config).

Resuming is exact: the data order of each epoch is a permutation seeded by
(seed, epoch), the position in it is derived from the optimizer step, and
model, optimizer, scheduler and every RNG are restored from the checkpoint,
so an interrupted and resumed run follows the same loss trajectory as an
uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from radimpress.models.base import trainable
from radimpress.records import InputError, Report

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint"


def _accelerator(precision: str):
    import torch
    from accelerate import Accelerator

    # cpu=True when there is no GPU: under `accelerate launch --multi_gpu` this
    # gives DDP over gloo on CPU processes (`--cpu --num_processes N` runs one).
    return Accelerator(
        cpu=not torch.cuda.is_available(), mixed_precision="bf16" if precision == "bf16" else "no"
    )


def train_model(
    model: Any,
    train: list[Report],
    validation: list[Report],
    work_dir: Path | None,
    resume: bool = False,
) -> dict[str, Any]:
    """Train ``model`` (a NeuralImpressionModel) in place; return metrics for its manifest."""
    import torch
    from accelerate.utils import broadcast_object_list, set_seed
    from tqdm.auto import tqdm
    from transformers import get_scheduler

    opts = model.train_options
    if opts.threads > 0:
        torch.set_num_threads(opts.threads)
    accelerator = _accelerator(opts.precision)
    main, rank, world = (
        accelerator.is_main_process,
        accelerator.process_index,
        accelerator.num_processes,
    )
    model.is_main_process = main
    if work_dir is None:
        if world > 1:
            raise InputError(
                "training with several processes needs a shared work directory (--out)"
            )
        work_dir = Path(tempfile.mkdtemp(prefix="radimpress-train-"))
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    set_seed(opts.seed)

    # -- model: the tokenizer is learnt once (main process) and shared through the work dir
    tok_dir = work_dir / "tokenizer"
    if model.scratch and main and not (tok_dir / "tokenizer.json").exists():
        from radimpress.models.scratch import train_tokenizer

        train_tokenizer(
            model.tokenizer_texts(trainable(train)),
            model.scratch.vocab_size,
            add_bos=model.scratch_adds_bos,
        ).save_pretrained(tok_dir)
    accelerator.wait_for_everyone()
    model.build(train, tok_dir if model.scratch else None)

    prompts, targets = model.training_pairs(train)
    val = trainable(validation)[: opts.eval_samples] if opts.eval_samples > 0 else []
    n = len(prompts)
    per_rank = math.ceil(n / world)
    batches_per_epoch = math.ceil(per_rank / opts.batch_size)
    steps_per_epoch = max(1, batches_per_epoch // opts.grad_accum)
    total_steps = opts.max_steps or max(1, math.ceil(opts.epochs * steps_per_epoch))
    eval_every = opts.eval_every or steps_per_epoch

    loss_module = model.loss_module()
    params = [p for p in loss_module.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": opts.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=opts.lr,
    )
    # Not passed to accelerator.prepare: it would step the schedule once per process.
    scheduler = get_scheduler(
        "constant_with_warmup" if opts.schedule == "constant" else opts.schedule,
        optimizer,
        num_warmup_steps=int(opts.warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )
    loss_module, optimizer = accelerator.prepare(loss_module, optimizer)
    trainable_names = {name for name, p in model.model.named_parameters() if p.requires_grad}

    state: dict[str, Any] = {
        "step": 0,
        "best": None,
        "bad_evals": 0,
        "history": [],
        "evals": [],
        "seconds": 0.0,
    }
    ckpt = work_dir / CHECKPOINT
    if resume:
        if not (ckpt / "state.json").exists():
            raise InputError(f"{ckpt}: no checkpoint to resume from")
        state = _load_checkpoint(ckpt, model.model, optimizer, scheduler, rank)
        log.info("resumed at step %d of %d", state["step"], total_steps)

    def save_weights(path: Path) -> None:
        sd = {k: v.detach().cpu() for k, v in model.model.state_dict().items()}
        if model.lora.enabled:  # the frozen base is rebuilt from the base model on resume
            sd = {k: v for k, v in sd.items() if k in trainable_names}
        torch.save(sd, path)

    def checkpoint() -> None:
        accelerator.wait_for_everyone()
        if main:
            tmp = work_dir / (CHECKPOINT + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            save_weights(tmp / "model.pt")
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
            (tmp / "state.json").write_text(json.dumps(state, indent=1))
            if ckpt.exists():
                for rng in ckpt.glob("rng-*.pt"):  # other ranks' RNG files, written below
                    shutil.copy(rng, tmp / rng.name)
                shutil.rmtree(ckpt)
            tmp.rename(ckpt)
        accelerator.wait_for_everyone()
        torch.save(_rng_state(), ckpt / f"rng-{rank}.pt")
        accelerator.wait_for_everyone()

    orders: dict[int, list[int]] = {}

    def shard(epoch: int) -> list[int]:
        if epoch not in orders:
            g = torch.Generator().manual_seed(opts.seed * 1000 + epoch)
            perm = torch.randperm(n, generator=g).tolist()
            perm += perm[: per_rank * world - n]  # every rank gets the same number of batches
            orders.clear()
            orders[epoch] = perm[rank::world]
        return orders[epoch]

    examples_seen = 0
    start = time.perf_counter() - state["seconds"]
    stopped = "completed"
    bar = tqdm(
        total=total_steps,
        initial=state["step"],
        desc="train",
        unit="step",
        disable=not main,
        dynamic_ncols=True,
    )
    loss_module.train()
    while state["step"] < total_steps:
        step_loss = 0.0
        for a in range(opts.grad_accum):
            micro = state["step"] * opts.grad_accum + a
            epoch, b = divmod(micro, batches_per_epoch)
            rows = shard(epoch)[b * opts.batch_size : (b + 1) * opts.batch_size]
            batch = model.encode([prompts[i] for i in rows], [targets[i] for i in rows])
            batch = {k: v.to(accelerator.device) for k, v in batch.items()}
            last = a == opts.grad_accum - 1
            sync = contextlib.nullcontext() if last else accelerator.no_sync(loss_module)
            with sync, accelerator.autocast():
                loss = loss_module(**batch) / opts.grad_accum
                accelerator.backward(loss)
            step_loss += float(loss.detach())
            examples_seen += len(rows)
        if opts.max_grad_norm > 0:
            accelerator.clip_grad_norm_(params, opts.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1
        step = state["step"]
        state["history"].append(round(step_loss, 5))
        bar.update(1)
        if step % max(1, opts.log_every) == 0 or step == total_steps:
            bar.set_postfix(loss=f"{step_loss:.3f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")

        state["seconds"] = time.perf_counter() - start
        out_of_time = opts.max_minutes > 0 and state["seconds"] > opts.max_minutes * 60
        out_of_time = broadcast_object_list([out_of_time])[0]  # every rank stops at the same step
        evaluated = False
        if val and (
            step % eval_every == 0 or step == total_steps or out_of_time
        ):  # out of time: score what we have
            evaluated = True
            score = validation_rouge_l(model, val) if main else None
            score = broadcast_object_list([score])[0]
            state["evals"].append({"step": step, "rougeL": score})
            if state["best"] is None or score > state["best"]["rougeL"]:
                state["best"], state["bad_evals"] = {"step": step, "rougeL": score}, 0
                if main:
                    save_weights(work_dir / "best.pt")
            else:
                state["bad_evals"] += 1
            if main:
                bar.write(
                    f"step {step}: validation ROUGE-L {score:.2f} (best {state['best']['rougeL']:.2f})"
                )
            loss_module.train()
        if opts.patience and state["bad_evals"] >= opts.patience:
            stopped = f"early stop: no validation improvement in {opts.patience} evaluations"
        elif out_of_time:
            stopped = f"time budget of {opts.max_minutes} min reached"
        elif opts.stop_after and step >= opts.stop_after and step < total_steps:
            stopped = f"paused after step {step} (--resume continues)"
        if evaluated or stopped != "completed" or (opts.save_every and step % opts.save_every == 0):
            checkpoint()
        if stopped != "completed":
            break
    bar.close()

    if (
        state["best"] is not None
        and state["best"]["step"] != state["step"]
        and (work_dir / "best.pt").exists()
    ):
        accelerator.wait_for_everyone()
        model.model.load_state_dict(
            torch.load(work_dir / "best.pt", weights_only=True), strict=False
        )
    (work_dir / f"rank-{rank}.json").write_text(
        json.dumps(
            {
                "params_sha256": _params_digest(model.model),
                "rank": rank,
                "world_size": world,
                "steps": state["step"],
                "examples_seen": examples_seen,
                "shard_size": len(shard(0)),
            }
        )
    )
    accelerator.wait_for_everyone()
    seconds = time.perf_counter() - start
    model.model.eval()
    return {
        "train_pairs": n,
        "world_size": world,
        "steps": state["step"],
        "total_steps": total_steps,
        "epochs": round(state["step"] * opts.grad_accum / batches_per_epoch, 3),
        "train_seconds": round(seconds, 1),
        "steps_per_second": round(state["step"] / seconds, 3) if seconds > 0 else None,
        "final_loss": state["history"][-1] if state["history"] else None,
        "best_validation_rougeL": state["best"]["rougeL"] if state["best"] else None,
        "best_step": state["best"]["step"] if state["best"] else None,
        "validation": state["evals"],
        "stopped": stopped,
        "loss_history": state["history"],
    }


def validation_rouge_l(model: Any, reports: list[Report]) -> float:
    """Mean ROUGE-L F1 (x100) of greedy drafts on a validation subset.

    Greedy rather than the recipe's beams keeps validation cheap; the RNG is
    forked so validating does not change the training trajectory.
    """
    import torch
    from rouge_score import rouge_scorer

    g = model.generation
    saved = (g.num_beams, g.progress, g.mbr, g.safe_select, g.do_sample)
    g.num_beams, g.progress, g.mbr, g.safe_select, g.do_sample = 1, False, False, False, False
    try:
        with torch.random.fork_rng(devices=[]):
            preds = [c[0] for c in model.generate(reports, 1)]
    finally:
        g.num_beams, g.progress, g.mbr, g.safe_select, g.do_sample = saved
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scores = [
        scorer.score(r.impression or "", p)["rougeL"].fmeasure
        for r, p in zip(reports, preds, strict=True)
    ]
    return round(100 * sum(scores) / len(scores), 3)


def _params_digest(net: Any) -> str:
    """Identical on every rank when DDP kept the replicas in sync (checked by the 2-process test)."""
    import hashlib

    h = hashlib.sha256()
    for name, p in sorted(net.named_parameters()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


def _rng_state() -> dict[str, Any]:
    import random

    import numpy as np
    import torch

    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _load_checkpoint(
    ckpt: Path, net: Any, optimizer: Any, scheduler: Any, rank: int
) -> dict[str, Any]:
    import random

    import numpy as np
    import torch

    net.load_state_dict(torch.load(ckpt / "model.pt", weights_only=True), strict=False)
    optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=False))
    scheduler.load_state_dict(torch.load(ckpt / "scheduler.pt", weights_only=False))
    rng_file = ckpt / f"rng-{rank}.pt"
    if rng_file.exists():
        rng = torch.load(rng_file, weights_only=False)
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
    return json.loads((ckpt / "state.json").read_text())
