"""The two baselines every neural recipe is compared with."""

from __future__ import annotations

import json

import pytest

from radimpress.cli import main
from radimpress.models.base import load_model
from radimpress.models.baselines import ConstantModel, RetrievalModel
from radimpress.records import InputError, Report, read_jsonl, write_jsonl

TRAIN = [
    Report("a", "Heart size normal. Lungs clear. No effusion.", "No acute disease."),
    Report("b", "Lungs are clear. Normal heart size.", "No acute disease."),
    Report(
        "c",
        "Large left pleural effusion with adjacent atelectasis.",
        "Large left pleural effusion.",
    ),
    Report("d", "Moderate right pleural effusion. Heart normal.", "Right pleural effusion."),
    Report(
        "e",
        "Right upper lobe consolidation compatible with pneumonia.",
        "Right upper lobe pneumonia.",
    ),
    Report("f", "Small left apical pneumothorax.", ""),  # not trainable
]


def test_constant_returns_most_frequent_training_impression():
    model = ConstantModel()
    metrics = model.fit(TRAIN)
    assert metrics["train_pairs"] == 5
    out = model.generate([Report("q", "anything")], num_candidates=2)
    assert out == [["No acute disease.", "Large left pleural effusion."]]


def test_constant_refuses_data_without_pairs():
    with pytest.raises(ValueError, match="no trainable pairs"):
        ConstantModel().fit([Report("x", "Lungs clear.", None)])


def test_retrieval_returns_nearest_neighbours_impression():
    model = RetrievalModel()
    model.fit(TRAIN)
    preds = model.generate(
        [
            Report("q1", "There is a large left pleural effusion."),
            Report("q2", "Consolidation in the right upper lobe."),
        ]
    )
    assert preds == [["Large left pleural effusion."], ["Right upper lobe pneumonia."]]


def test_retrieval_candidates_are_distinct_and_ranked():
    model = RetrievalModel()
    model.fit(TRAIN)
    (cands,) = model.generate([Report("q", "Lungs clear, heart size normal.")], num_candidates=3)
    assert cands[0] == "No acute disease."
    assert len(cands) == len(set(cands)) == 3


def test_consensus_prefers_the_impression_neighbours_agree_on():
    # The nearest neighbour has an odd impression; the next three agree with each other.
    train = [
        Report("n1", "mild cardiomegaly lungs clear", "Mild cardiomegaly, recommend echo."),
        Report("n2", "mild cardiomegaly lungs clear no effusion", "Mild cardiomegaly."),
        Report("n3", "mild cardiomegaly lungs are clear", "Mild cardiomegaly."),
        Report("n4", "cardiomegaly mild lungs clear today", "Mild cardiomegaly without edema."),
    ]
    query = [Report("q", "mild cardiomegaly lungs clear")]
    nearest = RetrievalModel(consensus_k=1)
    nearest.fit(train)
    assert nearest.generate(query)[0][0] == "Mild cardiomegaly, recommend echo."
    consensus = RetrievalModel(consensus_k=4)
    consensus.fit(train)
    assert consensus.generate(query)[0][0] == "Mild cardiomegaly."


def test_save_load_round_trip_gives_same_predictions(tmp_path):
    model = RetrievalModel(consensus_k=3)
    model.fit(TRAIN)
    model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "radimpress.json").read_text())
    assert manifest["kind"] == "retrieval" and manifest["recipe"]["settings"]["consensus_k"] == 3
    loaded = load_model(tmp_path / "m")
    queries = [Report("q", "left effusion large"), Report("r", "normal heart, clear lungs")]
    assert loaded.generate(queries, 2) == model.generate(queries, 2)
    assert loaded.info()["version"] == model.version != ""


def test_load_model_names_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(InputError, match="not a radimpress model folder"):
        load_model(tmp_path)


def test_train_and_generate_cli_end_to_end(tmp_path, capsys):
    data = tmp_path / "data"
    write_jsonl(data / "train.jsonl", TRAIN)
    write_jsonl(tmp_path / "in.jsonl", [Report("q1", "large left pleural effusion")])
    assert (
        main(["train", "--model", "retrieval", "--data", str(data), "--out", str(tmp_path / "m")])
        == 0
    )
    assert (
        main(
            [
                "generate",
                "--model",
                str(tmp_path / "m"),
                "--input",
                str(tmp_path / "in.jsonl"),
                "--output",
                str(tmp_path / "preds.jsonl"),
                "--num-candidates",
                "2",
            ]
        )
        == 0
    )
    rows = [obj for _, obj in read_jsonl(tmp_path / "preds.jsonl")]
    assert rows[0]["id"] == "q1" and rows[0]["prediction"] == "Large left pleural effusion."
    assert len(rows[0]["candidates"]) == 2
    assert "reports/s" in capsys.readouterr().out


def test_train_cli_names_missing_split(tmp_path, capsys):
    assert (
        main(
            ["train", "--model", "constant", "--data", str(tmp_path), "--out", str(tmp_path / "m")]
        )
        == 2
    )
    assert "train.jsonl: split not found" in capsys.readouterr().err
