"""The encoder-decoder backend on a tiny T5 built from scratch (no download)."""

from __future__ import annotations

import json

import pytest

from radimpress.models.base import load_model
from radimpress.models.scratch import train_tokenizer
from radimpress.records import InputError
from support import synthetic_reports, tiny_recipe, train_tiny

TRAIN = synthetic_reports(32, 1, "tr")
VAL = synthetic_reports(6, 2, "va")


def test_scratch_tokenizer_round_trips_text_and_ends_with_eos():
    tok = train_tokenizer(
        [r.findings for r in TRAIN] + [r.impression for r in TRAIN], vocab_size=150
    )
    text = "Large left pleural effusion."
    ids = tok(text)["input_ids"]
    assert ids[-1] == tok.eos_token_id == 1 and tok.pad_token_id == 0
    assert tok.decode(ids, skip_special_tokens=True) == text


@pytest.mark.parametrize("lora", [False, True])
def test_train_save_load_gives_the_same_candidates(tmp_path, lora):
    model, metrics = train_tiny(
        tiny_recipe(
            "seq2seq", lora={"enabled": lora, "r": 4, "alpha": 8, "target_modules": ["q", "v"]}
        ),
        TRAIN,
        VAL,
    )
    assert metrics["steps"] == 6 and metrics["loss_history"][-1] < metrics["loss_history"][0]
    if lora:  # only the adapters were trained
        names = [n for n, p in model.model.named_parameters() if p.requires_grad]
        assert names and all("lora_" in n for n in names)
    before = model.generate(VAL, num_candidates=2)
    assert all(1 <= len(c) <= 2 for c in before)
    model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "radimpress.json").read_text())
    assert manifest["saved"]["saved_as"] == ("merged" if lora else "full")
    assert (tmp_path / "m" / "README.md").read_text().startswith("# radimpress model")
    again = load_model(tmp_path / "m")
    assert again.generate(VAL, num_candidates=2) == before


def test_lora_adapter_is_saved_apart_from_a_base_folder(tmp_path):
    base, _ = train_tiny(tiny_recipe("seq2seq", train={"max_steps": 1}), TRAIN)
    base.save(tmp_path / "base")
    tuned, _ = train_tiny(
        tiny_recipe(
            "seq2seq",
            lora={"enabled": True, "r": 2, "target_modules": ["q", "v"], "merge_on_save": False},
        )
        | {"base": str(tmp_path / "base" / "model"), "scratch": None},
        TRAIN,
    )
    before = tuned.generate(VAL)
    tuned.save(tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter" / "adapter_config.json").exists()
    assert not (tmp_path / "adapter" / "model").exists()
    assert load_model(tmp_path / "adapter").generate(VAL) == before


def test_generation_is_deterministic_and_beam_options_apply():
    model, _ = train_tiny(tiny_recipe("seq2seq"), TRAIN)
    a = model.generate(VAL, num_candidates=3, num_beams=3)
    assert a == model.generate(VAL, num_candidates=3, num_beams=3)
    greedy = model.generate(VAL, num_candidates=1, num_beams=1)
    assert all(len(c) == 1 for c in greedy)
    assert model.generation.num_beams == 2  # per-call options never change the recipe


def test_mbr_pool_includes_the_neighbours_impressions():
    model, _ = train_tiny(
        tiny_recipe(
            "seq2seq", train={"max_steps": 1}, generation={"mbr": True, "mbr_neighbours": 3}
        ),
        TRAIN,
    )
    (cands,) = model.generate(VAL[:1], num_candidates=10)
    neighbours = model.builder.neighbour_impressions(VAL[:1], 3)[0]
    assert set(neighbours) <= set(cands)


def test_scratch_size_of_the_wrong_architecture_is_refused():
    with pytest.raises(ValueError, match="not a T5 shape"):
        train_tiny(
            tiny_recipe("seq2seq") | {"scratch": {"size": "llama-tiny", "vocab_size": 100}}, TRAIN
        )


def test_missing_base_model_fails_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="could not be loaded"):
        train_tiny(
            tiny_recipe("seq2seq") | {"base": "no-such-org/no-such-model", "scratch": None}, TRAIN
        )


def test_candidates_are_scored_on_their_own_reports_encoder_states():
    """The hybrid's likelihood features: each candidate's summed log-probability given its own
    report's prompt (encoded once per report), checked against transformers' own loss."""
    import torch

    model, _ = train_tiny(tiny_recipe("seq2seq", train={"max_steps": 2}), TRAIN)
    model.model.eval()
    reports = VAL[:3]
    candidates = [["No acute disease.", "Left pleural effusion."], [], ["Heart size is normal."]]
    scores = model.log_likelihoods(reports, candidates)
    assert [len(s) for s in scores] == [2, 0, 1]
    tok = model.tokenizer
    for prompt, cands, got in zip(model.builder.prompts(reports), candidates, scores, strict=True):
        for text, (total, n) in zip(cands, got, strict=True):
            labels = tok(text_target=[text], return_tensors="pt")["input_ids"]
            with torch.no_grad():
                loss = model.model(**tok([prompt], return_tensors="pt"), labels=labels).loss
            assert n == labels.shape[1]
            assert total == pytest.approx(-loss.item() * n, rel=1e-4, abs=1e-4)
