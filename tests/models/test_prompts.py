"""Prompt templates: what a neural model reads, identical in training and generation."""

from __future__ import annotations

import pytest

from radimpress.models.base import load_model
from radimpress.models.options import PromptOptions
from radimpress.models.prompts import PromptBuilder, render_prompt
from radimpress.models.recipes import model_class
from radimpress.records import Report
from support import synthetic_reports, train_tiny

TRAIN = [
    Report("a", "Large left pleural effusion.", "Left effusion."),
    Report(
        "b", "Large left pleural effusion with atelectasis.", "Large left effusion, atelectasis."
    ),
    Report("c", "Right upper lobe consolidation.", "Pneumonia."),
    Report("d", "Normal heart. Clear lungs.", "Normal chest."),
]


def test_default_prompt_has_instruction_optional_fields_and_answer_prefix():
    t = PromptOptions()
    plain = render_prompt(t, Report("x", "Lungs  clear.\nHeart normal."))
    assert plain.splitlines() == [
        t.instruction,
        "",
        "Findings: Lungs clear. Heart normal.",
        "Impression:",
    ]
    full = render_prompt(t, Report("x", "Lungs clear.", exam="CT CHEST", indication="cough"))
    assert "Exam: CT CHEST\nIndication: cough\nFindings: Lungs clear." in full
    no_exam = PromptOptions(include_exam=False)
    assert "Exam:" not in render_prompt(no_exam, Report("x", "f", exam="CT"))


def test_retrieved_impressions_never_include_the_report_itself():
    builder = PromptBuilder(PromptOptions(rag_k=1)).fit(TRAIN)
    (prompt,) = builder.prompts([TRAIN[0]])
    # "a" is its own nearest neighbour; leave-one-out gives "b"'s impression instead.
    assert "- Large left effusion, atelectasis." in prompt
    assert "- Left effusion." not in prompt
    # A new report (id not in training) may retrieve "a".
    (new,) = builder.prompts([Report("new", "Large left pleural effusion.")])
    assert "- Left effusion." in new


def test_in_context_examples_put_the_most_similar_last():
    builder = PromptBuilder(PromptOptions(icl_k=2)).fit(TRAIN)
    (prompt,) = builder.prompts([Report("q", "Large left pleural effusion.")])
    first = prompt.index("Impression: Large left effusion, atelectasis.")
    nearest = prompt.index("Impression: Left effusion.")
    assert first < nearest < prompt.rindex("Findings: Large left pleural effusion.\nImpression:")
    assert prompt.endswith("Impression:")


def test_neighbours_can_start_after_the_examples_instead_of_repeating_them():
    query = [Report("q", "Large left pleural effusion.")]
    (repeated,) = PromptBuilder(PromptOptions(icl_k=1, rag_k=2)).fit(TRAIN).prompts(query)
    # By default the nearest report is the example and the first neighbour too.
    assert "Impression: Left effusion.\n" in repeated and "- Left effusion.\n" in repeated
    options = PromptOptions(icl_k=1, rag_k=2, rag_after_examples=True)
    (after,) = PromptBuilder(options).fit(TRAIN).prompts(query)
    assert "Impression: Left effusion.\n" in after and "- Left effusion." not in after
    neighbours = [line for line in after.splitlines() if line.startswith("- ")]
    assert neighbours[0] == "- Large left effusion, atelectasis." and len(neighbours) == 2


def test_unknown_template_option_is_an_error():
    with pytest.raises(ValueError, match="rag_kk"):
        PromptOptions.model_validate({"rag_kk": 2})


ONE_LAYER = {
    "seq2seq": {"num_layers": 1, "num_decoder_layers": 1},
    "causal": {"num_hidden_layers": 1},
}


@pytest.mark.parametrize("kind,size", [("seq2seq", "t5-tiny"), ("causal", "llama-tiny")])
def test_training_and_generation_see_the_same_prompt(kind, size, monkeypatch, tmp_path):
    train = synthetic_reports(24, 1, "tr")
    recipe = {
        "kind": kind,
        "scratch": {"size": size, "vocab_size": 150, "overrides": ONE_LAYER[kind]},
        "prompt": {"rag_k": 2, "icl_k": 1},
        "train": {"max_steps": 1, "batch_size": 24, "eval_samples": 0},
        "generation": {"num_beams": 1, "max_new_tokens": 3, "progress": False},
    }
    cls = model_class(kind)
    seen_in_training: list[str] = []
    encode = cls.encode
    monkeypatch.setattr(
        cls, "encode", lambda self, p, t: (seen_in_training.extend(p), encode(self, p, t))[1]
    )
    seen_in_generation: list[str] = []
    generate_batch = cls._generate_batch
    monkeypatch.setattr(
        cls,
        "_generate_batch",
        lambda self, p, n, g: (seen_in_generation.extend(p), generate_batch(self, p, n, g))[1],
    )
    model, _ = train_tiny(recipe, train)
    model.save(tmp_path / "m")
    load_model(tmp_path / "m").generate(train[:5])  # a saved and loaded model, as in serving
    assert len(seen_in_generation) == 5
    for prompt in seen_in_generation:
        assert prompt in seen_in_training  # the very same text, retrieved context included
    assert all("Impressions of similar reports:" in p for p in seen_in_generation)


def test_the_abnormal_hint_names_the_findings_abnormal_sentences_or_none():
    hinted = PromptOptions(abnormal_hint=True)
    text = render_prompt(hinted, Report("a", "Heart normal. Small left effusion. No pneumothorax."))
    assert text.endswith("Abnormal: Small left effusion.\nImpression:")
    assert render_prompt(hinted, Report("b", "Lungs are clear.")).endswith(
        "Abnormal: none\nImpression:"
    )
    assert "Abnormal:" not in render_prompt(PromptOptions(), Report("c", "Small left effusion."))
