"""The feedback loop's last step: `radimpress train --resume-from MODEL --data FEEDBACK`."""

from __future__ import annotations

import json

import torch
import yaml

from radimpress.cli import main
from radimpress.models.base import load_model
from radimpress.records import Report, write_jsonl
from support import tiny_recipe, write_dataset

FEEDBACK = [
    Report(
        "fb1",
        "Tension pneumothorax on the left with mediastinal shift.",
        "Left tension pneumothorax.",
    ),
    Report(
        "fb2",
        "Large left pneumothorax, mediastinum shifted to the right.",
        "Large left tension pneumothorax.",
    ),
]


def _feedback_dir(tmp_path):
    folder = tmp_path / "feedback"
    write_jsonl(folder / "train.jsonl", FEEDBACK)
    write_jsonl(folder / "validation.jsonl", FEEDBACK[:1])
    (folder / "manifest.json").write_text(json.dumps({"kind": "feedback"}))
    return folder


def _train_tiny(tmp_path, kind: str) -> None:
    """A tiny model of ``kind`` trained by the CLI into tmp_path/m1 on tmp_path/data."""
    data = write_dataset(tmp_path / "data")
    recipe = {k: v for k, v in tiny_recipe(kind).items() if k != "name"}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    args = ["train", "--recipe", str(tmp_path / "r.yaml"), "--data", str(data)]
    assert main([*args, "--out", str(tmp_path / "m1")]) == 0


def _adapt(tmp_path, *extra: str) -> int:
    """`radimpress train --resume-from m1 --data feedback --out m2`."""
    feedback = _feedback_dir(tmp_path)
    args = ["train", "--resume-from", str(tmp_path / "m1"), "--data", str(feedback), *extra]
    return main([*args, "--out", str(tmp_path / "m2")])


def test_retrieval_model_adapted_on_feedback_knows_the_new_pairs(tmp_path):
    data = write_dataset(tmp_path / "data")
    assert (
        main(["train", "--model", "retrieval", "--data", str(data), "--out", str(tmp_path / "m1")])
        == 0
    )
    assert _adapt(tmp_path) == 0
    old, new = load_model(tmp_path / "m1"), load_model(tmp_path / "m2")
    query = [Report("q", "Tension pneumothorax left with shift of the mediastinum.")]
    assert new.generate(query)[0][0] == "Left tension pneumothorax."
    assert old.generate(query)[0][0] != "Left tension pneumothorax."
    assert new.version != old.version
    # The original training pairs are still there: old and new answer alike on them.
    train_query = [
        Report("t", json.loads((data / "train.jsonl").read_text().splitlines()[0])["findings"])
    ]
    assert new.generate(train_query) == old.generate(train_query)


def test_seq2seq_model_continues_from_its_weights_with_its_original_neighbours(tmp_path):
    _train_tiny(tmp_path, "seq2seq")
    assert _adapt(tmp_path, "--max-steps", "2") == 0
    old, new = load_model(tmp_path / "m1"), load_model(tmp_path / "m2")
    # Same architecture and tokenizer (continued, not rebuilt), different weights.
    assert old.tokenizer.get_vocab() == new.tokenizer.get_vocab()
    changed = [
        name
        for (name, a), (_, b) in zip(
            old.model.state_dict().items(), new.model.state_dict().items(), strict=True
        )
        if not torch.equal(a, b)
    ]
    assert changed
    # Prompts still retrieve from the original training pairs, not only the 2 feedback pairs.
    assert len(new.builder.ids) == 48 + len(FEEDBACK)
    manifest = json.loads((tmp_path / "m2" / "radimpress.json").read_text())
    assert manifest["train_metrics"]["steps"] == 2 and manifest["train_metrics"]["train_pairs"] == 2


def test_resume_from_a_model_without_full_weights_is_a_clear_error(tmp_path, capsys):
    import shutil

    _train_tiny(tmp_path, "causal")
    # What an adapter-only or in-context (reference to its base) model folder looks like.
    shutil.rmtree(tmp_path / "m1" / "model")
    code = _adapt(tmp_path)
    assert code == 2 and "cannot be adapted" in capsys.readouterr().err
    assert not (tmp_path / "m2").exists()


def test_resume_from_a_folder_that_is_not_a_model(tmp_path, capsys):
    assert _adapt(tmp_path) == 2  # tmp_path/m1 was never trained
    assert "not a radimpress model folder" in capsys.readouterr().err
