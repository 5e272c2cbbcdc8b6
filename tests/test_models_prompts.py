"""Prompt templates: what a neural model reads, identical in training and generation."""

from __future__ import annotations

import pytest

from radimpress.models.prompts import DEFAULT_INSTRUCTION, PromptBuilder, PromptTemplate
from radimpress.models.recipes import build_model
from radimpress.records import InputError, Report
from test_models_data import synthetic_reports

TRAIN = [
    Report("a", "Large left pleural effusion.", "Left effusion."),
    Report(
        "b", "Large left pleural effusion with atelectasis.", "Large left effusion, atelectasis."
    ),
    Report("c", "Right upper lobe consolidation.", "Pneumonia."),
    Report("d", "Normal heart. Clear lungs.", "Normal chest."),
]


def test_default_prompt_has_instruction_optional_fields_and_answer_prefix():
    t = PromptTemplate()
    plain = t.render(Report("x", "Lungs  clear.\nHeart normal."))
    assert plain.splitlines() == [
        DEFAULT_INSTRUCTION,
        "",
        "Findings: Lungs clear. Heart normal.",
        "Impression:",
    ]
    full = t.render(Report("x", "Lungs clear.", exam="CT CHEST", indication="cough"))
    assert "Exam: CT CHEST\nIndication: cough\nFindings: Lungs clear." in full
    assert "Exam:" not in PromptTemplate(include_exam=False).render(Report("x", "f", exam="CT"))


def test_retrieved_impressions_never_include_the_report_itself():
    builder = PromptBuilder(PromptTemplate(rag_k=1)).fit(TRAIN)
    (prompt,) = builder.prompts([TRAIN[0]])
    # "a" is its own nearest neighbour; leave-one-out gives "b"'s impression instead.
    assert "- Large left effusion, atelectasis." in prompt
    assert "- Left effusion." not in prompt
    # A new report (id not in training) may retrieve "a".
    (new,) = builder.prompts([Report("new", "Large left pleural effusion.")])
    assert "- Left effusion." in new


def test_in_context_examples_put_the_most_similar_last():
    builder = PromptBuilder(PromptTemplate(icl_k=2)).fit(TRAIN)
    (prompt,) = builder.prompts([Report("q", "Large left pleural effusion.")])
    first = prompt.index("Impression: Large left effusion, atelectasis.")
    nearest = prompt.index("Impression: Left effusion.")
    assert first < nearest < prompt.rindex("Findings: Large left pleural effusion.\nImpression:")
    assert prompt.endswith("Impression:")


def test_unknown_template_option_is_an_error():
    with pytest.raises(InputError, match="rag_kk"):
        PromptTemplate.from_dict({"rag_kk": 2})


ONE_LAYER = {
    "seq2seq": {"num_layers": 1, "num_decoder_layers": 1},
    "causal": {"num_hidden_layers": 1},
}


@pytest.mark.parametrize("kind,size", [("seq2seq", "t5-tiny"), ("causal", "llama-tiny")])
def test_training_and_generation_see_the_same_prompt(kind, size):
    train = synthetic_reports(24, 1, "tr")
    model = build_model(
        {
            "kind": kind,
            "scratch": {"size": size, "vocab_size": 150, "overrides": ONE_LAYER[kind]},
            "prompt": {"rag_k": 2, "icl_k": 1},
            "train": {"max_steps": 1, "batch_size": 24, "eval_samples": 0},
            "generation": {"num_beams": 1, "max_new_tokens": 3, "progress": False},
        }
    )
    seen_in_training: list[str] = []
    encode = model.encode
    model.encode = lambda prompts, targets: (
        seen_in_training.extend(prompts),
        encode(prompts, targets),
    )[1]
    model.fit(train)
    seen_in_generation: list[str] = []
    generate_batch = model._generate_batch
    model._generate_batch = lambda prompts, n: (
        seen_in_generation.extend(prompts),
        generate_batch(prompts, n),
    )[1]
    model.generate(train[:5])
    assert len(seen_in_generation) == 5
    by_findings = {p: p for p in seen_in_training}
    for prompt in seen_in_generation:
        assert prompt in by_findings  # the very same text, retrieved context included
    assert all("Impressions of similar reports:" in p for p in seen_in_generation)
