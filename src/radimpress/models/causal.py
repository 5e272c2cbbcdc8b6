"""Decoder-only backend: Gemma 3, Llama, Qwen, Phi... trained on prompt + impression.

The loss covers the impression tokens only (the prompt is context, not
something to learn to write). The vocabulary projection is also computed only
there: the base model gives hidden states for every position, and ``lm_head``
is applied to the few positions whose next token belongs to the impression
(`radimpress.models.torch_modules.CompletionLoss`).
With Gemma 3's 262k-token vocabulary the full logits tensor is most of a
step's cost, so this is what makes CPU fine-tuning practical.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from radimpress.models.neural import NeuralImpressionModel
from radimpress.models.options import GenerationOptions
from radimpress.records import Report

STOP = "\n"  # prompts and targets are one line each: a newline ends the impression


SHORTLIST_FILE = "vocab_shortlist.json"


class CausalModel(NeuralImpressionModel):
    kind = "causal"
    peft_task = "CAUSAL_LM"

    full_logits: bool = False  # True = the ordinary HF loss over all positions (for comparison)

    def __init__(self, recipe) -> None:
        super().__init__(recipe)
        # With train.vocab_shortlist: the token ids an impression may use (those of the
        # training impressions, plus the stop tokens), in training and in generation.
        self.shortlist: list[int] | None = None
        self._stop_token_ids: list[int] | None = None  # found once (see stop_token_ids)

    def fit_vocabulary(self, reports: Sequence[Report]) -> None:
        if not self.train_options.vocab_shortlist:
            return
        _, targets = self.training_pairs(reports)
        ids = {t for c in self.completion_ids(targets) for t in c}
        self.shortlist = sorted(
            ids
            | set(self._stop_ids())
            | {self.tokenizer.encode("\n", add_special_tokens=False)[-1]}
        )

    @property
    def scratch_adds_bos(self) -> bool:
        return True

    def _auto_class(self) -> Any:
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM

    def _scratch_model(self, tokenizer) -> Any:
        from radimpress.models.scratch import architecture, build_config  # model configs: slow

        scratch = self.recipe.scratch
        assert scratch is not None
        if architecture(scratch.size) == "t5":
            raise ValueError(f"causal: scratch size '{scratch.size}' is a T5 (seq2seq) shape")
        return self._auto_class().from_config(
            build_config(scratch.size, tokenizer, scratch.overrides)
        )

    # -- one tokenisation of the prompt for training and generation alike

    def prompt_ids(self, prompts: Sequence[str]) -> list[list[int]]:
        """Token ids of prompts; too long ones lose their beginning (the findings are at the end)."""
        limit = self.train_options.max_source_tokens
        out = []
        for ids in self.tokenizer(list(prompts), add_special_tokens=True)["input_ids"]:
            if len(ids) > limit:
                keep_bos = ids[:1] if ids and ids[0] == self.tokenizer.bos_token_id else []
                ids = keep_bos + ids[len(ids) - (limit - len(keep_bos)) :]
            out.append(ids)
        return out

    def completion_ids(self, targets: Sequence[str]) -> list[list[int]]:
        limit = self.train_options.max_target_tokens
        eos = self.tokenizer.eos_token_id
        encoded = self.tokenizer([" " + t for t in targets], add_special_tokens=False)["input_ids"]
        return [ids[: limit - 1] + [eos] for ids in encoded]

    def pair_lengths(self, prompts: Sequence[str], targets: Sequence[str]) -> list[int]:
        # The same token lists `encode` concatenates (prompt, then completion).
        return [
            len(p) + len(c)
            for p, c in zip(self.prompt_ids(prompts), self.completion_ids(targets), strict=True)
        ]

    def encode(self, prompts: Sequence[str], targets: Sequence[str]) -> dict[str, Any]:
        import torch

        seqs, labels = [], []
        for p, c in zip(self.prompt_ids(prompts), self.completion_ids(targets), strict=True):
            seqs.append(p + c)
            labels.append([-100] * len(p) + c)
        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        lab = torch.full((len(seqs), width), -100, dtype=torch.long)
        for i, (s, lbl) in enumerate(zip(seqs, labels, strict=True)):  # right padding for training
            input_ids[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1
            lab[i, : len(lbl)] = torch.tensor(lbl)
        return {"input_ids": input_ids, "attention_mask": mask, "labels": lab}

    def loss_module(self) -> Any:
        from radimpress.models.torch_modules import CompletionLoss

        return CompletionLoss(self.model, full_logits=self.full_logits, shortlist=self.shortlist)

    def _generate_batch(
        self, prompts: Sequence[str], n: int, g: GenerationOptions
    ) -> list[list[str]]:
        import torch
        from transformers import LogitsProcessorList

        from radimpress.models.torch_modules import ShortlistMask

        device = next(self.model.parameters()).device
        ids = self.prompt_ids(prompts)
        width = max(len(s) for s in ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.full((len(ids), width), pad, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, s in enumerate(ids):  # left padding: every prompt ends where generation starts
            input_ids[i, width - len(s) :] = torch.tensor(s)
            mask[i, width - len(s) :] = 1
        out = self.model.generate(
            input_ids=input_ids.to(device),
            attention_mask=mask.to(device),
            **g.generate_kwargs(n),
            eos_token_id=self.stop_token_ids(),
            pad_token_id=pad,
            use_cache=True,
            logits_processor=LogitsProcessorList(
                [ShortlistMask(self.shortlist)] if self.shortlist else []
            ),
        )
        texts = self.tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
        texts = [t.split(STOP)[0].strip() for t in texts]
        return [texts[i * n : (i + 1) * n] for i in range(len(prompts))]

    def _score_batch(
        self, prompts: Sequence[str], owner: Sequence[int], candidates: Sequence[str]
    ) -> list[tuple[float, int]]:
        """Teacher-force every candidate after its report's prompt, as training reads a pair.

        The vocabulary is the whole of it, not the training shortlist: a candidate
        written from the findings may use words no training impression used. Each
        candidate is a sequence of its own (prompt + candidate), so the prompt is
        computed again for every candidate; the hybrid's experiment with the fine-tuned
        Gemma (BENCHMARKS.md, quality note 10) found the generator not worth its
        cost, so sharing the prompt's cache was not built.
        """
        import torch

        from radimpress.models.torch_modules import CompletionLoss

        device = next(self.model.parameters()).device
        batch = self.encode([prompts[i] for i in owner], candidates)
        logits, gold, keep = CompletionLoss(self.model).completion_logits(
            **{k: v.to(device) for k, v in batch.items()}
        )
        # In slices of positions: a float32 log-softmax over Gemma's 262k tokens is 1 MiB a row.
        token_lp = torch.cat(
            [
                part.float().log_softmax(-1).gather(-1, want.unsqueeze(-1)).squeeze(-1)
                for part, want in zip(logits.split(256), gold.split(256), strict=True)
            ]
        )
        rows = keep.nonzero()[:, 0]
        sums = torch.zeros(len(candidates), device=device).index_add_(0, rows, token_lp)
        counts = keep.sum(-1)
        return [(float(t), int(n)) for t, n in zip(sums.tolist(), counts.tolist(), strict=True)]

    def stop_token_ids(self) -> list[int]:
        """Ids generation stops on: EOS, end-of-turn markers, and every token containing a newline.

        Token ids rather than ``stop_strings``, which decodes every sequence at
        every step; the text is cut at the newline afterwards, so the draft is
        the same. Both backends stop on these ids. Finding the newline tokens decodes
        every token of the vocabulary (2.3 s for Gemma's 262k), so it is done once a model,
        and a CTranslate2 copy keeps the result from its export (`use_stop_token_ids`).
        """
        if self._stop_token_ids is None:
            self._stop_token_ids = sorted(set(self._stop_ids()) | set(newline_ids(self.tokenizer)))
        return self._stop_token_ids

    def use_stop_token_ids(self, ids: Sequence[int]) -> None:
        """Stop ids found earlier for this tokenizer (a CTranslate2 copy saves them)."""
        self._stop_token_ids = sorted(ids)

    def _stop_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        for token in ("<end_of_turn>", "<|im_end|>", "<|eot_id|>", "<|end|>"):
            tid = self.tokenizer.convert_tokens_to_ids(token)
            if isinstance(tid, int) and tid != self.tokenizer.unk_token_id:
                ids.add(tid)
        return sorted(i for i in ids if i is not None)

    def save_weights(self, out_dir: Path) -> dict[str, Any]:
        saved = super().save_weights(out_dir)
        if self.shortlist:
            (out_dir / SHORTLIST_FILE).write_text(json.dumps(self.shortlist))
        return saved

    @classmethod
    def load_weights(cls, model_dir: Path, recipe, saved: dict[str, Any]) -> CausalModel:
        m = super().load_weights(model_dir, recipe, saved)
        if (model_dir / SHORTLIST_FILE).exists():
            m.shortlist = json.loads((model_dir / SHORTLIST_FILE).read_text())
        return m  # type: ignore[return-value]


def newline_ids(tokenizer: Any) -> list[int]:
    """Ids of the tokens whose text contains a newline (decoded one by one, once per model)."""
    ids = sorted(tokenizer.get_vocab().values())
    texts = tokenizer.batch_decode([[i] for i in ids])
    return [i for i, t in zip(ids, texts, strict=True) if STOP in t]
