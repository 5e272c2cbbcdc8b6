"""The one training loop for every neural recipe, on accelerate.

Read top to bottom: `Trainer.__init__` sets up optimizer, schedule and the
data order; `fit` repeats `step` (accumulate gradients, clip, step the
optimizer) and after each step `maybe_evaluate`, `maybe_checkpoint` and the
stop rules. The same code runs as one process or under ``accelerate launch``
(DDP over NCCL on GPUs, gloo on CPUs; DeepSpeed or FSDP by accelerate config).

Resuming is exact: the data order of each epoch is a permutation seeded by
(seed, epoch), the position in it is derived from the optimizer step, and
model, optimizer, scheduler and every RNG are restored from the checkpoint,
so an interrupted and resumed run follows the same loss trajectory as an
uninterrupted one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list
from rouge_score import rouge_scorer
from tqdm.auto import tqdm
from transformers import get_scheduler
from transformers.trainer_pt_utils import get_length_grouped_indices

from radimpress.models.base import trainable
from radimpress.models.neural import NeuralImpressionModel
from radimpress.models.training import checkpoints
from radimpress.records import InputError, Report

log = logging.getLogger(__name__)


class Trainer:
    """Optimise a built NeuralImpressionModel on its training pairs."""

    def __init__(
        self,
        model: NeuralImpressionModel,
        accelerator: Accelerator,
        train: list[Report],
        validation: list[Report],
        work_dir: Path,
    ) -> None:
        self.model = model
        self.acc = accelerator
        self.opts = opts = model.train_options
        self.work_dir = work_dir
        self.main = accelerator.is_main_process
        self.rank, self.world = accelerator.process_index, accelerator.num_processes

        self.prompts, self.targets = model.training_pairs(train)
        # Token length of every pair, for the length-grouped order and the padding share.
        self.lengths = model.pair_lengths(self.prompts, self.targets)
        self.val = trainable(validation)[: opts.eval_samples] if opts.eval_samples > 0 else []
        self.n = len(self.prompts)
        self.per_rank = math.ceil(self.n / self.world)
        self.batches_per_epoch = math.ceil(self.per_rank / opts.batch_size)
        self.steps_per_epoch = max(1, self.batches_per_epoch // opts.grad_accum)
        self.total_steps = opts.max_steps or max(1, math.ceil(opts.epochs * self.steps_per_epoch))
        self.eval_every = opts.eval_every or self.steps_per_epoch

        loss_module = model.loss_module()
        self.params = [p for p in loss_module.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            [
                {
                    "params": [p for p in self.params if p.ndim >= 2],
                    "weight_decay": opts.weight_decay,
                },
                {"params": [p for p in self.params if p.ndim < 2], "weight_decay": 0.0},
            ],
            lr=opts.lr,
        )
        # Not passed to accelerator.prepare: it would step the schedule once per process.
        self.scheduler = get_scheduler(
            "constant_with_warmup" if opts.schedule == "constant" else opts.schedule,
            optimizer,
            num_warmup_steps=int(opts.warmup_ratio * self.total_steps),
            num_training_steps=self.total_steps,
        )
        self.loss_module, self.optimizer = accelerator.prepare(loss_module, optimizer)
        self.trainable_names = {n for n, p in model.model.named_parameters() if p.requires_grad}
        self.state: dict[str, Any] = {
            "step": 0,
            "best": None,
            "bad_evals": 0,
            "history": [],
            "evals": [],
            "seconds": 0.0,
        }
        self._orders: dict[int, list[int]] = {}
        self.examples_seen = 0
        self.tokens = {"computed": 0, "pairs": 0}  # padded batch widths against the pairs

    # -- state ---------------------------------------------------------------

    def weights(self) -> dict[str, torch.Tensor]:
        sd = {k: v.detach().cpu() for k, v in self.model.model.state_dict().items()}
        if self.model.recipe.lora.enabled:  # the frozen base is rebuilt from the base model
            sd = {k: v for k, v in sd.items() if k in self.trainable_names}
        return sd

    def resume(self) -> None:
        folder = checkpoints.latest(self.work_dir)
        if folder is None:
            raise InputError(f"{self.work_dir}: no checkpoint to resume from")
        self.model.model.load_state_dict(
            torch.load(folder / "model.pt", weights_only=True), strict=False
        )
        self.optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=False))
        self.scheduler.load_state_dict(torch.load(folder / "scheduler.pt", weights_only=False))
        rng = folder / f"rng-{self.rank}.pt"
        if rng.exists():
            checkpoints.restore_rng(torch.load(rng, weights_only=False))
        self.state = checkpoints.load_state(folder)
        log.info("resumed at step %d of %d", self.state["step"], self.total_steps)

    def checkpoint(self) -> None:
        """Every rank's RNG plus the main rank's weights, optimizer and schedule, atomically."""
        step = self.state["step"]
        tmp = self.work_dir / f".checkpoint-{step}.tmp"
        if self.main:
            tmp = checkpoints.staging(self.work_dir, step)
            torch.save(self.weights(), tmp / "model.pt")
            torch.save(self.optimizer.state_dict(), tmp / "optimizer.pt")
            torch.save(self.scheduler.state_dict(), tmp / "scheduler.pt")
            (tmp / "state.json").write_text(json.dumps(self.state, indent=1))
        self.acc.wait_for_everyone()
        torch.save(checkpoints.rng_state(), tmp / f"rng-{self.rank}.pt")
        self.acc.wait_for_everyone()
        if self.main:
            checkpoints.publish(self.work_dir, tmp, step)
        self.acc.wait_for_everyone()

    # -- data ------------------------------------------------------------------

    def shard(self, epoch: int) -> list[int]:
        """This rank's share of the epoch's seeded permutation (equal sizes on every rank).

        With group_by_length the permutation is transformers' length-grouped one:
        a random batch pads every pair to its longest, and on the Open-i training
        pairs of the Gemma LoRA recipe (icl_k 1) a third of the tokens a random
        epoch computes is padding; grouped, 2 %.
        """
        if epoch not in self._orders:
            g = torch.Generator().manual_seed(self.opts.seed * 1000 + epoch)
            if self.opts.group_by_length:
                # Grouped for the global batch: rank r takes every world-th pair of it.
                perm = get_length_grouped_indices(
                    self.lengths, self.opts.batch_size * self.world, generator=g
                )
            else:
                perm = torch.randperm(self.n, generator=g).tolist()
            perm += perm[: self.per_rank * self.world - self.n]
            self._orders = {epoch: perm[self.rank :: self.world]}
        return self._orders[epoch]

    def batch(self, micro: int) -> dict[str, torch.Tensor]:
        epoch, b = divmod(micro, self.batches_per_epoch)
        rows = self.shard(epoch)[b * self.opts.batch_size : (b + 1) * self.opts.batch_size]
        self.examples_seen += len(rows)
        width = max(self.lengths[i] for i in rows)
        self.tokens["computed"] += width * len(rows)
        self.tokens["pairs"] += sum(self.lengths[i] for i in rows)
        batch = self.model.encode([self.prompts[i] for i in rows], [self.targets[i] for i in rows])
        return {k: v.to(self.acc.device) for k, v in batch.items()}

    # -- one optimizer step ----------------------------------------------------

    def step(self) -> float:
        opts = self.opts
        step_loss = 0.0
        for a in range(opts.grad_accum):
            batch = self.batch(self.state["step"] * opts.grad_accum + a)
            last = a == opts.grad_accum - 1
            sync = contextlib.nullcontext() if last else self.acc.no_sync(self.loss_module)
            with sync, self.acc.autocast():
                loss = self.loss_module(**batch) / opts.grad_accum
                self.acc.backward(loss)
            step_loss += float(loss.detach())
        if opts.max_grad_norm > 0:
            self.acc.clip_grad_norm_(self.params, opts.max_grad_norm)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state["step"] += 1
        self.state["history"].append(round(step_loss, 5))
        return step_loss

    def evaluate(self) -> float:
        """Validation ROUGE-L on the main rank, the same number on every rank."""
        score = validation_rouge_l(self.model, self.val) if self.main else None
        score = broadcast_object_list([score])[0]
        step = self.state["step"]
        self.state["evals"].append({"step": step, "rougeL": score})
        if self.state["best"] is None or score > self.state["best"]["rougeL"]:
            self.state["best"], self.state["bad_evals"] = {"step": step, "rougeL": score}, 0
            if self.main:
                checkpoints.atomic_torch_save(self.weights(), self.work_dir / "best.pt")
        else:
            self.state["bad_evals"] += 1
        self.loss_module.train()
        return score

    def stop_reason(self, out_of_time: bool) -> str | None:
        step, opts = self.state["step"], self.opts
        if opts.patience and self.state["bad_evals"] >= opts.patience:
            return f"early stop: no validation improvement in {opts.patience} evaluations"
        if out_of_time:
            return f"time budget of {opts.max_minutes} min reached"
        if opts.stop_after and opts.stop_after <= step < self.total_steps:
            return f"paused after step {step} (--resume continues)"
        return None

    # -- the loop ---------------------------------------------------------------

    def fit(self) -> dict[str, Any]:
        opts = self.opts
        start = time.perf_counter() - self.state["seconds"]
        stopped = "completed"
        bar = tqdm(
            total=self.total_steps,
            initial=self.state["step"],
            desc="train",
            unit="step",
            disable=not self.main,
            dynamic_ncols=True,
        )
        self.loss_module.train()
        while self.state["step"] < self.total_steps:
            loss = self.step()
            step = self.state["step"]
            bar.update(1)
            if step % opts.log_every == 0 or step == self.total_steps:
                bar.set_postfix(loss=f"{loss:.3f}", lr=f"{self.scheduler.get_last_lr()[0]:.1e}")
            self.state["seconds"] = time.perf_counter() - start
            out_of_time = opts.max_minutes > 0 and self.state["seconds"] > opts.max_minutes * 60
            out_of_time = broadcast_object_list([out_of_time])[0]  # every rank stops together
            evaluated = bool(self.val) and (
                step % self.eval_every == 0 or step == self.total_steps or out_of_time
            )
            if evaluated:
                score = self.evaluate()
                if self.main:
                    best = self.state["best"]["rougeL"]
                    bar.write(f"step {step}: validation ROUGE-L {score:.2f} (best {best:.2f})")
            reason = self.stop_reason(out_of_time)
            if evaluated or reason or (opts.save_every and step % opts.save_every == 0):
                self.checkpoint()
            if reason:
                stopped = reason
                break
        bar.close()
        self.restore_best()
        self.write_rank_report()
        seconds = time.perf_counter() - start
        self.model.model.eval()
        return self.metrics(stopped, seconds)

    def restore_best(self) -> None:
        best = self.state["best"]
        if best is not None and best["step"] != self.state["step"]:
            self.acc.wait_for_everyone()
            self.model.model.load_state_dict(
                torch.load(self.work_dir / "best.pt", weights_only=True), strict=False
            )

    def write_rank_report(self) -> None:
        """What this rank did, for the multi-process test (replicas must agree)."""
        (self.work_dir / f"rank-{self.rank}.json").write_text(
            json.dumps(
                {
                    "params_sha256": params_digest(self.model.model),
                    "rank": self.rank,
                    "world_size": self.world,
                    "steps": self.state["step"],
                    "examples_seen": self.examples_seen,
                    "shard_size": len(self.shard(0)),
                }
            )
        )
        self.acc.wait_for_everyone()

    def metrics(self, stopped: str, seconds: float) -> dict[str, Any]:
        s = self.state
        return {
            "train_pairs": self.n,
            "world_size": self.world,
            "device": str(self.acc.device),
            "steps": s["step"],
            "total_steps": self.total_steps,
            "epochs": round(s["step"] * self.opts.grad_accum / self.batches_per_epoch, 3),
            "train_seconds": round(seconds, 1),
            "steps_per_second": round(s["step"] / seconds, 3) if seconds > 0 else None,
            # The share of the computed tokens that was padding (this process, this run;
            # exact for causal models, an estimate for seq2seq, whose encoder and decoder
            # sides are padded apart).
            "padding_share": round(1 - self.tokens["pairs"] / self.tokens["computed"], 3)
            if self.tokens["computed"]
            else None,
            "group_by_length": self.opts.group_by_length,
            "final_loss": s["history"][-1] if s["history"] else None,
            "best_validation_rougeL": s["best"]["rougeL"] if s["best"] else None,
            "best_step": s["best"]["step"] if s["best"] else None,
            "validation": s["evals"],
            "stopped": stopped,
            "loss_history": s["history"],
        }


def validation_rouge_l(model: NeuralImpressionModel, reports: list[Report]) -> float:
    """Mean ROUGE-L F1 (x100) of greedy drafts on a validation subset.

    Greedy rather than the recipe's beams keeps validation cheap; the RNG is
    forked so validating does not change the training trajectory.
    """
    with torch.random.fork_rng(devices=[]):
        drafts = model.generate(reports, 1, num_beams=1, mbr=False, do_sample=False, progress=False)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    scores = [
        scorer.score(r.impression or "", c[0])["rougeL"].fmeasure
        for r, c in zip(reports, drafts, strict=True)
    ]
    return round(100 * sum(scores) / len(scores), 3)


def params_digest(net: Any) -> str:
    """Identical on every rank when DDP kept the replicas in sync (checked by the 2-process test)."""
    h = hashlib.sha256()
    for name, p in sorted(net.named_parameters()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()
