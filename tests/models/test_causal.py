"""The decoder-only backend on a tiny Llama built from scratch (no download)."""

from __future__ import annotations

import pytest
import torch

from radimpress.models.base import load_model
from radimpress.models.torch_modules import CompletionLoss
from radimpress.records import InputError
from support import built, synthetic_reports, tiny_recipe, train_tiny

TRAIN = synthetic_reports(32, 1, "tr")
VAL = synthetic_reports(6, 2, "va")


def _built(**groups):
    return built(tiny_recipe("causal", **groups), TRAIN)


def test_loss_is_on_the_impression_tokens_only():
    model = _built()
    prompts, targets = model.training_pairs(TRAIN[:3])
    batch = model.encode(prompts, targets)
    prompt_ids = model.prompt_ids(prompts)
    completion_ids = model.completion_ids(targets)
    for i, (p, c) in enumerate(zip(prompt_ids, completion_ids, strict=True)):
        labels = batch["labels"][i].tolist()
        assert labels[: len(p)] == [-100] * len(p)  # the prompt is never a target
        assert labels[len(p) : len(p) + len(c)] == c and c[-1] == model.tokenizer.eos_token_id
        assert set(labels[len(p) + len(c) :]) <= {-100}  # padding neither
        assert batch["input_ids"][i, : len(p)].tolist() == p


GEMMA3_TINY = {
    "size": "gemma3-tiny",
    "vocab_size": 120,
    "overrides": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "head_dim": 16,
        "num_hidden_layers": 2,
    },
}


@pytest.mark.parametrize("lora", [False, True])
@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_projection_at_impression_positions_equals_the_full_logits_loss(lora, arch):
    model = built(
        tiny_recipe(
            "causal", lora={"enabled": lora, "r": 4, "target_modules": ["q_proj", "v_proj"]}
        )
        | ({"scratch": GEMMA3_TINY} if arch == "gemma3" else {}),
        TRAIN,
    )
    batch = model.encode(*model.training_pairs(TRAIN[:4]))
    fast = CompletionLoss(model.model)(**batch)
    full = CompletionLoss(model.model, full_logits=True)(**batch)
    torch.testing.assert_close(fast, full, rtol=1e-5, atol=1e-5)
    fast.backward()
    assert any(p.grad is not None for p in model.model.parameters() if p.requires_grad)


@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_candidates_are_scored_as_the_model_reads_them_after_the_prompt(arch):
    """The hybrid's likelihood features: each candidate's summed log-probability given its own
    report's prompt, checked against transformers' own loss on prompt + candidate alone."""
    model = built(tiny_recipe("causal") | ({"scratch": GEMMA3_TINY} if arch == "gemma3" else {}), TRAIN)  # fmt: skip
    model.model.eval()
    reports = VAL[:3]
    candidates = [["No acute disease.", "Left pleural effusion."], [], ["Heart size is normal."]]
    scores = model.log_likelihoods(reports, candidates)
    assert [len(s) for s in scores] == [2, 0, 1]
    prompts = model.builder.prompts(reports)
    for report_prompt, cands, got in zip(prompts, candidates, scores, strict=True):
        for text, (total, n) in zip(cands, got, strict=True):
            (p,), (c,) = model.prompt_ids([report_prompt]), model.completion_ids([text])
            ids = torch.tensor([p + c])
            labels = torch.tensor([[-100] * len(p) + c])
            with torch.no_grad():
                mean_loss = model.model(input_ids=ids, labels=labels).loss.item()
            assert n == len(c)
            assert total == pytest.approx(-mean_loss * len(c), rel=1e-4, abs=1e-4)
    # Longer prompts in the same batch (padding) do not change a candidate's score.
    alone = model.log_likelihoods(reports[2:], candidates[2:])
    assert alone[0][0][0] == pytest.approx(scores[2][0][0], rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("lora", [False, True])
def test_train_save_load_gives_the_same_candidates(tmp_path, lora):
    model, metrics = train_tiny(
        tiny_recipe("causal", lora={"enabled": lora, "r": 4, "target_modules": "all-linear"}), TRAIN
    )
    assert metrics["loss_history"][-1] < metrics["loss_history"][0]
    before = model.generate(VAL, num_candidates=2)
    assert all("\n" not in c for cands in before for c in cands)
    model.save(tmp_path / "m")
    assert load_model(tmp_path / "m").generate(VAL, num_candidates=2) == before


def test_in_context_recipe_uses_the_base_model_without_training(tmp_path):
    base, _ = train_tiny(tiny_recipe("causal", train={"max_steps": 2}), TRAIN)
    base.save(tmp_path / "base")
    icl, metrics = train_tiny(
        tiny_recipe("causal", prompt={"icl_k": 2, "rag_k": 0}, train={"epochs": 0, "max_steps": 0})
        | {"base": str(tmp_path / "base" / "model"), "scratch": None},
        TRAIN,
    )
    assert metrics["trained"] is False
    assert torch.equal(
        icl.model.get_input_embeddings().weight.cpu(),
        base.model.get_input_embeddings().weight.cpu(),
    )
    (prompt,) = icl.builder.prompts(VAL[:1])
    assert prompt.count("Impression:") == 3  # two examples, then the report's own
    drafts = icl.generate(VAL[:2])
    assert len(drafts) == 2
    icl.save(tmp_path / "icl")  # a reference to the base, not a copy of it
    assert not (tmp_path / "icl" / "model").exists()
    assert load_model(tmp_path / "icl").generate(VAL[:2]) == drafts


def test_qlora_on_a_machine_without_cuda_fails_clearly(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: QLoRA can run here")
    base, _ = train_tiny(tiny_recipe("causal", train={"max_steps": 1}), TRAIN)
    base.save(tmp_path / "base")
    with pytest.raises(InputError, match="needs a CUDA GPU"):
        train_tiny(
            tiny_recipe("causal", lora={"enabled": True, "quantize": "4bit"})
            | {"base": str(tmp_path / "base" / "model"), "scratch": None},
            TRAIN,
        )


def test_vocabulary_shortlist_trains_generates_and_saves_within_the_impression_tokens(tmp_path):
    model, metrics = train_tiny(
        tiny_recipe("causal", train={"max_steps": 6, "vocab_shortlist": True}), TRAIN
    )
    allowed = set(model.shortlist)
    _, targets = model.training_pairs(TRAIN)
    assert {t for c in model.completion_ids(targets) for t in c} <= allowed
    assert (
        len(allowed) < len(model.tokenizer)
        and metrics["loss_history"][-1] < metrics["loss_history"][0]
    )
    # The loss is the cross-entropy over the shortlisted rows of the output matrix.
    batch = model.encode(*model.training_pairs(TRAIN[:3]))
    loss = CompletionLoss(model.model, shortlist=model.shortlist)(**batch)
    inner = model.model
    hidden = inner.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state
    keep = batch["labels"][:, 1:] != -100
    rows = torch.tensor(model.shortlist)
    logits = hidden[:, :-1][keep] @ inner.get_output_embeddings().weight[rows].T
    gold = torch.tensor([model.shortlist.index(t) for t in batch["labels"][:, 1:][keep].tolist()])
    torch.testing.assert_close(
        loss, torch.nn.functional.cross_entropy(logits, gold), rtol=1e-5, atol=1e-5
    )
    drafts = model.generate(VAL, num_candidates=2)
    for cands in drafts:
        for text in cands:
            assert (
                set(model.tokenizer(" " + text, add_special_tokens=False)["input_ids"]) <= allowed
            )
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.shortlist == model.shortlist and again.generate(VAL, num_candidates=2) == drafts


def test_lora_on_the_top_layers_only_leaves_the_lower_ones_frozen():
    model = built(
        tiny_recipe(
            "causal",
            lora={"enabled": True, "r": 2, "target_modules": ["q_proj", "v_proj"], "top_layers": 1},
        )
        | {"scratch": GEMMA3_TINY},
        TRAIN,
    )
    adapted = {
        n.split(".layers.")[1].split(".")[0]
        for n, p in model.model.named_parameters()
        if p.requires_grad
    }
    assert adapted == {"1"}  # of layers 0 and 1, only the last
