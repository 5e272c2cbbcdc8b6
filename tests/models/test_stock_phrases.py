"""The stock-phrase classifier: which repeated impression a radiologist's way of writing predicts."""

from __future__ import annotations

import numpy as np

from radimpress.models.features import rouge_tokens
from radimpress.models.stock_phrases import OTHER, StockPhrases
from radimpress.records import Report

# Two radiologists, the same normal study, two habits (findings wording and stock sentence).
TERSE = ("Heart size normal. Lungs clear. No effusion.", "Negative chest.")
FULL = (
    "The heart is normal in size. The mediastinum is unremarkable. The lungs are clear.",
    "No acute cardiopulmonary abnormality.",
)


def _reports(n: int, prefix: str) -> list[Report]:
    out = []
    for i in range(n):
        findings, impression = (TERSE, FULL)[i % 2]
        out.append(Report(f"{prefix}{i}", f"{findings} Study {i}.", impression))
    # impressions said once each: "anything else"
    out += [
        Report(f"{prefix}x{i}", f"Large {side} pleural effusion.", f"{side.title()} effusion.")
        for i, side in enumerate(("left", "right"))
    ]
    return out


def test_the_classifier_names_each_radiologists_stock_sentence():
    stock = StockPhrases(min_count=3)
    train = _reports(20, "tr")
    oof = stock.fit(train)
    assert set(stock.classes) == {rouge_tokens(TERSE[1]), rouge_tokens(FULL[1]), OTHER}
    assert stock.texts[stock.classes.index(rouge_tokens(TERSE[1]))] == TERSE[1]
    assert oof.shape == (len(train), len(stock.classes))
    assert np.allclose(oof.sum(axis=1), 1.0)
    probs = stock.predict(
        [Report("q1", "Heart size normal. Lungs clear. No effusion. Comparison none."),
         Report("q2", "The heart is normal in size. The lungs are clear.")]
    )  # fmt: skip
    assert stock.classes[int(probs[0].argmax())] == rouge_tokens(TERSE[1])
    assert stock.classes[int(probs[1].argmax())] == rouge_tokens(FULL[1])
    assert stock.index(rouge_tokens("Negative chest")) is not None
    assert stock.index(rouge_tokens("Left effusion.")) is None  # said once: not a stock phrase


def test_out_of_fold_probabilities_do_not_come_from_a_model_that_saw_the_report():
    stock = StockPhrases(min_count=3)
    train = _reports(20, "tr")
    oof = stock.fit(train)
    seen = stock.predict(train)
    other = stock.classes.index(OTHER)
    # a one-off impression: the model fitted on it has learnt it as "anything else" more
    # confidently than a model that never saw it
    unique = [i for i, r in enumerate(train) if "effusion." in r.impression.lower()]
    assert all(seen[i, other] > oof[i, other] for i in unique)


def test_without_two_impressions_to_tell_apart_there_is_no_classifier():
    stock = StockPhrases(min_count=5)
    assert stock.fit(_reports(4, "tr")) is None  # nothing said 5 times
    same = [Report(f"s{i}", f"Heart size normal {i}.", "Negative chest.") for i in range(8)]
    assert stock.fit(same) is None  # one stock phrase and nothing else
    assert stock.predict([Report("q", "Heart size normal.")]) is None
