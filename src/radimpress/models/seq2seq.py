"""Encoder-decoder backend: FLAN-T5, T5, BART, Clinical-T5, or a T5 trained from scratch.

The findings prompt goes into the encoder and the impression is the decoder
target, so the loss is on the impression only by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from radimpress.models.neural import NeuralImpressionModel
from radimpress.models.options import GenerationOptions


class Seq2SeqModel(NeuralImpressionModel):
    kind = "seq2seq"
    peft_task = "SEQ_2_SEQ_LM"

    def _auto_class(self) -> Any:
        from transformers import AutoModelForSeq2SeqLM

        return AutoModelForSeq2SeqLM

    def _scratch_model(self, tokenizer) -> Any:
        # Here, not at the top: T5's modules cost seconds of every start, even a CTranslate2 one.
        from transformers import T5ForConditionalGeneration

        from radimpress.models.scratch import architecture, build_config

        scratch = self.recipe.scratch
        assert scratch is not None
        if architecture(scratch.size) != "t5":
            raise ValueError(f"seq2seq: scratch size '{scratch.size}' is not a T5 shape")
        return T5ForConditionalGeneration(build_config(scratch.size, tokenizer, scratch.overrides))

    def _tokenize(
        self, prompts: Sequence[str], targets: Sequence[str], **kw: Any
    ) -> tuple[Any, Any]:
        """Encoder input and decoder target, truncated as training truncates them."""
        t = self.train_options
        enc = self.tokenizer(list(prompts), max_length=t.max_source_tokens, truncation=True, **kw)
        dec = self.tokenizer(
            text_target=list(targets), max_length=t.max_target_tokens, truncation=True, **kw
        )
        return enc, dec["input_ids"]

    def pair_lengths(self, prompts: Sequence[str], targets: Sequence[str]) -> list[int]:
        enc, dec = self._tokenize(prompts, targets)
        return [len(a) + len(b) for a, b in zip(enc["input_ids"], dec, strict=True)]

    def encode(self, prompts: Sequence[str], targets: Sequence[str]) -> dict[str, Any]:
        enc, labels = self._tokenize(prompts, targets, padding=True, return_tensors="pt")
        labels[labels == self.tokenizer.pad_token_id] = -100
        return {
            "input_ids": enc["input_ids"],
            "attention_mask": enc["attention_mask"],
            "labels": labels,
        }

    def loss_module(self) -> Any:
        from radimpress.models.torch_modules import Seq2SeqLoss

        return Seq2SeqLoss(self.model)

    def _encode_prompts(self, prompts: Sequence[str], device: Any) -> Any:
        """The encoder's input for prompts, cut at max_source_tokens, as generation and scoring read it."""
        return self.tokenizer(
            list(prompts),
            max_length=self.train_options.max_source_tokens,
            truncation=True,
            padding=True,
            return_tensors="pt",
        ).to(device)

    def _score_batch(
        self, prompts: Sequence[str], owner: Sequence[int], candidates: Sequence[str]
    ) -> list[tuple[float, int]]:
        """Encode each prompt once; teacher-force every candidate on the shared encoder states."""
        import torch

        device = next(self.model.parameters()).device
        row = {i: r for r, i in enumerate(dict.fromkeys(owner))}  # report -> encoded row
        enc = self._encode_prompts([prompts[i] for i in row], device)
        hidden = self.model.get_encoder()(**enc).last_hidden_state
        index = torch.tensor([row[i] for i in owner], device=device)
        labels = self.tokenizer(
            text_target=list(candidates),
            max_length=self.train_options.max_target_tokens,
            truncation=True,
            padding=True,
            return_tensors="pt",
        )["input_ids"].to(device)
        mask = labels != self.tokenizer.pad_token_id
        logits = self.model(
            encoder_outputs=(hidden.index_select(0, index),),
            attention_mask=enc["attention_mask"].index_select(0, index),
            labels=labels.masked_fill(~mask, -100),
        ).logits
        token_lp = logits.float().log_softmax(-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
        sums, counts = (token_lp * mask).sum(-1).tolist(), mask.sum(-1).tolist()
        return [(float(t), int(n)) for t, n in zip(sums, counts, strict=True)]

    def _generate_batch(
        self, prompts: Sequence[str], n: int, g: GenerationOptions
    ) -> list[list[str]]:
        enc = self._encode_prompts(prompts, next(self.model.parameters()).device)
        out = self.model.generate(**enc, **g.generate_kwargs(n))
        texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [texts[i * n : (i + 1) * n] for i in range(len(prompts))]
