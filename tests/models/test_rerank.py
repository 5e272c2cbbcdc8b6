"""The learned reranker: picks among retrieved impressions, never peeks at its own answer."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from rouge_score import rouge_scorer

from radimpress.models.base import build_model, load_model
from radimpress.models.baselines import RetrievalModel
from radimpress.models.features import lcs_length, rouge_l_f, rouge_tokens
from radimpress.models.recipes import load_recipe, model_class
from radimpress.models.rerank import RerankModel
from radimpress.records import Report, write_jsonl

NORMAL = "No acute cardiopulmonary disease."
FILLER = [f"w{i}" for i in range(40)]


def normal_reports(n: int, rng: random.Random, odd_share: float, start: int = 0) -> list[Report]:
    """Normal studies whose impression is the house phrase, except a few idiosyncratic ones.

    Random filler words decide who is whose nearest neighbour, so the nearest
    neighbour's impression is idiosyncratic as often as the training data is,
    while most neighbours agree on the house phrase.
    """
    out = []
    for i in range(start, start + n):
        filler = " ".join(rng.sample(FILLER, 4))
        odd = rng.random() < odd_share
        impression = (
            f"Incidental note of {rng.choice(FILLER)} unchanged since prior." if odd else NORMAL
        )
        out.append(
            Report(
                id=f"n{i}",
                findings=f"The heart is normal. The lungs are clear. {filler}.",
                impression=impression,
                exam="CHEST 2V",
            )
        )
    return out


def effusion_reports(n: int, rng: random.Random, start: int = 0) -> list[Report]:
    out = []
    for i in range(start, start + n):
        side = rng.choice(["right", "left"])
        out.append(
            Report(
                id=f"e{i}",
                findings=f"There is a large {side} pleural effusion. Heart size is normal. {rng.choice(FILLER)}.",
                impression=f"Large {side} pleural effusion.",
                exam="CHEST 2V",
            )
        )
    return out


@pytest.fixture(scope="module")
def corpus() -> list[Report]:
    rng = random.Random(7)
    return normal_reports(70, rng, odd_share=0.25) + effusion_reports(30, rng)


@pytest.fixture(scope="module")
def fitted(corpus) -> RerankModel:
    model = RerankModel(k=8, n_frequent=3, max_iter=40)
    model.fit(corpus)
    return model


def test_fast_rouge_l_matches_rouge_score():
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rng = random.Random(3)
    words = ["no", "acute", "disease", "left", "right", "effusion", "Heart", "1.", "XXXX", "-"]
    for _ in range(300):
        a = " ".join(rng.choices(words, k=rng.randint(0, 12)))
        b = " ".join(rng.choices(words, k=rng.randint(0, 12)))
        expected = scorer.score(a, b)["rougeL"].fmeasure
        assert rouge_l_f(rouge_tokens(b), rouge_tokens(a)) == pytest.approx(expected)
    assert lcs_length(("a", "b", "c", "d"), ("b", "d", "a")) == 2


def test_registered_kind_and_round_trip(fitted, corpus, tmp_path):
    assert model_class("rerank") is RerankModel
    queries = [
        Report(id="q1", findings="There is a large left pleural effusion. w3."),
        Report(id="q2", findings="The heart is normal. The lungs are clear. w1 w2 w5 w9."),
    ]
    before = fitted.generate(queries, num_candidates=3)
    fitted.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "radimpress.json").read_text())
    assert manifest["kind"] == "rerank"
    loaded = load_model(tmp_path / "m")
    assert loaded.generate(queries, num_candidates=3) == before
    assert all(1 <= len(c) <= 3 for c in before)
    # Candidates are distinct and come from the training impressions (or an edit of one).
    assert len(set(before[0])) == len(before[0])
    assert "left" in before[0][0].lower() and "effusion" in before[0][0].lower()
    assert before[1][0] == NORMAL


def test_leave_one_out_never_sees_the_query_itself(corpus):
    # Every report gets a unique impression, so a candidate equal to the query's
    # own impression could only come from retrieving the query itself.
    unique = [
        Report(id=r.id, findings=r.findings, impression=f"{r.impression} ({r.id})") for r in corpus
    ]
    model = RerankModel(k=8, n_frequent=0, max_iter=5, edit=False)
    model.prepare(unique)
    _, _, groups, cand_lists = model.training_table(unique)
    assert len(cand_lists) == len(unique)
    for qi, cands in enumerate(cand_lists):
        assert model.bank.row_key[qi] not in cands
    for nbs in model.train_neighbours:
        assert all(len(nb.keys) == 8 for nb in nbs)
    assert sorted(set(groups.tolist())) == list(range(len(unique)))


def test_beats_nearest_neighbour_when_the_nearest_is_idiosyncratic(corpus, fitted):
    nn = RetrievalModel()
    nn.fit(corpus)
    rng = random.Random(11)
    queries = normal_reports(200, rng, odd_share=0.0, start=1000)
    nn_pick = [c[0] for c in nn.generate(queries)]
    # Keep the queries whose nearest neighbour wrote an idiosyncratic impression.
    hard = [q for q, p in zip(queries, nn_pick, strict=True) if p != NORMAL]
    assert len(hard) >= 10, "fixture should produce misleading nearest neighbours"
    truth = rouge_tokens(NORMAL)
    nn_score = np.mean([rouge_l_f(rouge_tokens(c[0]), truth) for c in nn.generate(hard)])
    rr_score = np.mean([rouge_l_f(rouge_tokens(c[0]), truth) for c in fitted.generate(hard)])
    assert rr_score > nn_score + 0.3


def test_cli_train_and_generate(corpus, tmp_path):
    from radimpress.cli import main

    data = tmp_path / "data"
    write_jsonl(data / "train.jsonl", corpus)
    inputs = tmp_path / "in.jsonl"
    write_jsonl(inputs, [Report(id="x", findings="There is a large right pleural effusion. w8.")])
    assert (
        main(["train", "--model", "rerank", "--data", str(data), "--out", str(tmp_path / "m")]) == 0
    )
    out = tmp_path / "pred.jsonl"
    assert (
        main(
            [
                "generate",
                "--model",
                str(tmp_path / "m"),
                "--input",
                str(inputs),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    row = json.loads(out.read_text().splitlines()[0])
    assert row["id"] == "x" and "right pleural effusion" in row["prediction"].lower()


def test_unfitted_and_empty_inputs(fitted):
    with pytest.raises(RuntimeError):
        RerankModel().generate([Report(id="a", findings="x")])
    assert fitted.generate([]) == []
    with pytest.raises(ValueError):
        RerankModel(retrievers=["nope"])
    with pytest.raises(ValueError):
        RerankModel().fit([Report(id="a", findings="x", impression="y")])


def test_named_recipe_builds_the_default_reranker():
    model = build_model(load_recipe("rerank"))
    assert isinstance(model, RerankModel)
    assert model.options.retrievers == ["words", "chars", "context"] and model.options.edit
