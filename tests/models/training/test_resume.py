"""Checkpoints: an interrupted and resumed run is the same run; budgets and early stopping stop it."""

from __future__ import annotations

import pytest
import torch

from radimpress.models.training import checkpoints
from radimpress.records import InputError
from support import synthetic_reports, tiny_recipe, train_tiny

TRAIN = synthetic_reports(40, 1, "tr")
VAL = synthetic_reports(4, 2, "va")
# Dropout on (T5 default 0.1) and validation every 2 steps: both must not disturb the trajectory.
RECIPE = tiny_recipe(
    "seq2seq",
    train={"max_steps": 8, "batch_size": 6, "eval_every": 2, "eval_samples": 3, "grad_accum": 2},
)


def _run(work, resume=False, **train):
    recipe = RECIPE | {"train": {**RECIPE["train"], **train}}
    return train_tiny(recipe, TRAIN, VAL, work_dir=work, resume=resume)


@pytest.mark.parametrize("grouped", [False, True], ids=["random-order", "length-grouped"])
def test_resumed_run_matches_an_uninterrupted_one(tmp_path, grouped):
    whole, whole_metrics = _run(tmp_path / "whole", group_by_length=grouped)
    first, first_metrics = _run(tmp_path / "split", stop_after=3, group_by_length=grouped)
    assert first_metrics["steps"] == 3 and first_metrics["stopped"].startswith("paused")
    second, second_metrics = _run(tmp_path / "split", resume=True, group_by_length=grouped)
    assert second_metrics["steps"] == 8 and second_metrics["stopped"] == "completed"
    assert second_metrics["loss_history"] == pytest.approx(whole_metrics["loss_history"], rel=1e-5)
    assert second_metrics["validation"] == whole_metrics["validation"]
    for (name, a), (_, b) in zip(
        whole.model.state_dict().items(), second.model.state_dict().items(), strict=True
    ):
        torch.testing.assert_close(a, b, msg=name)


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no checkpoint to resume from"):
        _run(tmp_path / "empty", resume=True)


def test_time_budget_stops_with_a_checkpoint(tmp_path):
    _, metrics = _run(tmp_path / "t", max_minutes=1e-6)
    assert metrics["steps"] == 1 and metrics["stopped"].startswith("time budget")
    assert (checkpoints.latest(tmp_path / "t") / "state.json").exists()


def test_early_stopping_keeps_the_best_validation_weights(tmp_path):
    # lr 0 after warm-up: validation ROUGE-L cannot improve, so patience 1 stops at the 2nd evaluation.
    model, metrics = _run(tmp_path / "e", lr=0.0, patience=1, max_steps=20, eval_every=1)
    assert metrics["steps"] == 2 and metrics["stopped"].startswith("early stop")
    assert metrics["best_step"] == 1


def test_cli_pause_then_resume_continues_from_the_checkpoint(tmp_path, capsys):
    import json

    import yaml

    from radimpress.cli import main
    from support import write_dataset

    data = write_dataset(tmp_path / "data")
    recipe = {k: v for k, v in RECIPE.items() if k != "name"}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    args = [
        "train",
        "--recipe",
        str(tmp_path / "r.yaml"),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "m"),
    ]
    assert main([*args, "--set", "train.stop_after=3"]) == 0
    assert "--resume" in capsys.readouterr().out
    assert checkpoints.latest(tmp_path / "m" / "checkpoints") is not None
    assert main([*args, "--resume"]) == 0
    metrics = json.loads((tmp_path / "m" / "radimpress.json").read_text())["train_metrics"]
    assert (
        metrics["steps"] == 8
        and len(metrics["loss_history"]) == 8
        and metrics["stopped"] == "completed"
    )
    assert not (tmp_path / "m" / "checkpoints").exists()


def test_a_kill_while_checkpointing_leaves_the_previous_checkpoint_resumable(tmp_path, monkeypatch):
    work = tmp_path / "k"
    _run(work, stop_after=2, save_every=1)
    before = checkpoints.latest(work)
    assert before is not None and before.name == "checkpoint-2"

    def killed(*args, **kwargs):  # the process dies after writing, before publishing
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints, "publish", killed)
    with pytest.raises(KeyboardInterrupt):
        _run(work, resume=True, stop_after=3, save_every=1)
    assert checkpoints.latest(work) == before  # the pointer still names a whole checkpoint
    monkeypatch.undo()
    _, metrics = _run(work, resume=True)
    assert metrics["steps"] == 8 and metrics["stopped"] == "completed"
