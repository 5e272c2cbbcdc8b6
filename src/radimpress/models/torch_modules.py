"""The torch modules of the neural models: their training losses and the generation mask.

Apart from the models because a model drafting through its CTranslate2 copy
never runs them, and this module is where torch is imported: the model
modules import it only where a transformers network is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from transformers import LogitsProcessor


class Seq2SeqLoss(nn.Module):
    """Wraps the model so DDP sees one forward that returns the loss."""

    def __init__(self, model) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, labels):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss


class ShortlistMask(LogitsProcessor):
    """Only the shortlisted tokens may be generated: the model was trained to choose among them."""

    def __init__(self, shortlist: Sequence[int]) -> None:
        self.ids = torch.tensor(list(shortlist), dtype=torch.long)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        masked = torch.full_like(scores, float("-inf"))
        ids = self.ids.to(scores.device)
        masked[:, ids] = scores[:, ids]
        return masked


class CompletionLoss(nn.Module):
    """Mean cross-entropy over completion tokens, projecting to the vocabulary only there.

    Position t predicts token t+1, so the hidden states kept are those whose
    *next* label is not -100. Equal (up to float rounding) to the ordinary
    loss with the same labels, at a fraction of the lm_head cost.
    """

    def __init__(
        self, model: nn.Module, full_logits: bool = False, shortlist: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        self.model = model
        self.full_logits = full_logits
        self.shortlist: torch.Tensor | None
        self.position: torch.Tensor | None  # token id -> index in the shortlist
        self.register_buffer("shortlist", None, persistent=False)
        self.register_buffer("position", None, persistent=False)
        if shortlist:
            ids = torch.tensor(sorted(shortlist), dtype=torch.long)
            vocab = int(model.config.vocab_size) if hasattr(model, "config") else int(ids.max()) + 1
            position = torch.full((max(vocab, int(ids.max()) + 1),), -100, dtype=torch.long)
            position[ids] = torch.arange(len(ids))
            self.register_buffer("shortlist", ids, persistent=False)
            self.register_buffer("position", position, persistent=False)

    def forward(self, input_ids, attention_mask, labels):
        if self.full_logits:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, labels=labels, use_cache=False
            ).loss
        logits, gold, _ = self.completion_logits(input_ids, attention_mask, labels)
        return F.cross_entropy(logits.float(), gold)

    def completion_logits(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits of the positions that predict a completion token, each one's gold index, and
        where those positions are (a (batch, time - 1) mask): the loss and candidate scoring
        both read them."""
        inner = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
        # use_cache=False: a training forward must not build a KV cache.
        hidden = inner.get_decoder()(
            input_ids=input_ids, attention_mask=attention_mask, use_cache=False
        ).last_hidden_state
        targets = labels[:, 1:]
        keep = targets != -100
        head = inner.get_output_embeddings()
        if self.shortlist is not None:
            # Project onto the shortlisted rows of the output matrix only: with Gemma's
            # 262k-token vocabulary this is most of the saving.
            weight = head.weight.index_select(0, self.shortlist)
            bias = head.bias.index_select(0, self.shortlist) if head.bias is not None else None
            logits = F.linear(hidden[:, :-1][keep], weight, bias)
            gold = self.position[targets[keep]]
        else:
            logits = head(hidden[:, :-1][keep])
            gold = targets[keep]
        cap = getattr(inner.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits, gold, keep
