"""group_by_length: batches of similar length pad less, and the run stays an exact, full epoch."""

from __future__ import annotations

import random

import pytest

from radimpress.records import Report
from support import tiny_recipe, train_tiny


def _reports_of_varied_length(n: int) -> list[Report]:
    rng = random.Random(3)
    clauses = ["Lungs are clear.", "No effusion.", "Heart size is normal.", "Mild atelectasis."]
    return [
        Report(f"v{i}", " ".join(rng.choices(clauses, k=rng.randint(1, 12))), "No acute disease.")
        for i in range(n)
    ]


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_grouped_batches_pad_less_than_random_ones(kind):
    reports = _reports_of_varied_length(256)
    shares = {}
    for grouped in (False, True):
        # One epoch of 32 batches (megabatches of 8 batches): every pair is seen once either way.
        recipe = tiny_recipe(
            kind, prompt={"rag_k": 0}, train={"max_steps": 32, "group_by_length": grouped}
        )
        _, metrics = train_tiny(recipe, reports)
        assert metrics["group_by_length"] is grouped and metrics["epochs"] == 1
        shares[grouped] = metrics["padding_share"]
    assert shares[False] > 0.15
    assert shares[True] < shares[False] / 3


def test_the_grouped_order_is_a_permutation_of_the_epoch(tmp_path):
    from radimpress.models.training.loop import Trainer

    reports = _reports_of_varied_length(30)
    recipe = tiny_recipe("causal", prompt={"rag_k": 0}, train={"group_by_length": True})
    model, _ = train_tiny(recipe, reports)
    trainer = Trainer(model, _cpu_accelerator(), reports, [], tmp_path)
    for epoch in (0, 1):
        order = trainer.shard(epoch)
        assert sorted(order) == list(range(30))
    assert trainer.shard(0) != trainer.shard(1)  # each epoch shuffles its megabatches anew


def _cpu_accelerator():
    from accelerate import Accelerator

    return Accelerator(cpu=True)


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_pair_lengths_count_the_tokens_encode_builds(kind):
    """The grouping and the padding share rest on these counts; they must be encode's own."""
    reports = _reports_of_varied_length(12)
    recipe = tiny_recipe(kind, prompt={"rag_k": 0}, train={"max_source_tokens": 24})
    model, _ = train_tiny(recipe, reports)
    prompts, targets = model.training_pairs(reports)
    batch = model.encode(prompts, targets)
    real = batch["attention_mask"].sum(dim=1)
    if kind == "seq2seq":  # the decoder side is padded on its own
        real = real + (batch["labels"] != -100).sum(dim=1)
    assert model.pair_lengths(prompts, targets) == real.tolist()
    # ... truncation included: the longest prompts are cut at max_source_tokens
    if kind == "seq2seq":
        assert batch["input_ids"].shape[1] == 24
    else:
        assert max(len(p) for p in model.prompt_ids(prompts)) == 24
