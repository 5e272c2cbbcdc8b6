"""Named recipes, command-line overrides, and the train / generate / recipes commands."""

from __future__ import annotations

import json

import pytest
import yaml

from radimpress.cli import main
from radimpress.models.recipes import (
    apply_overrides,
    build_model,
    default_recipe_name,
    list_recipes,
    load_recipe,
)
from radimpress.records import InputError, read_jsonl
from test_models_data import tiny_recipe, write_dataset


def test_shipped_recipes_load_and_build():
    recipes = list_recipes()
    for name in (
        "retrieval-consensus",
        "t5-scratch-rag",
        "flan-t5-finetune",
        "gemma3-270m-icl",
        "gemma3-270m-lora",
        "gemma3-270m-full",
    ):
        assert name in recipes and recipes[name]
        model = build_model(load_recipe(name))  # validates every option group
        assert model.kind == load_recipe(name)["kind"]
    assert default_recipe_name() in recipes
    assert load_recipe("default")["name"] == default_recipe_name()


def test_overrides_parse_values_and_reject_unknown_fields():
    recipe = apply_overrides(
        load_recipe("t5-scratch-rag"),
        ["train.lr=3e-4", "prompt.rag_k=2", "lora.enabled=true", "lora.target_modules=[q, v]"],
    )
    assert recipe["train"]["lr"] == 3e-4 and recipe["prompt"]["rag_k"] == 2
    assert recipe["lora"] == {"enabled": True, "target_modules": ["q", "v"]}
    with pytest.raises(InputError, match="unknown field 'trian'"):
        apply_overrides(recipe, ["trian.lr=1"])
    with pytest.raises(InputError, match="KEY=VALUE"):
        apply_overrides(recipe, ["train.lr"])
    with pytest.raises(InputError, match="train: unknown option"):
        build_model(apply_overrides(recipe, ["train.learning_rate=1"]))
    with pytest.raises(InputError, match="unknown recipe 'nope'"):
        load_recipe("nope")


def test_cli_trains_a_recipe_file_with_overrides_and_generates(tmp_path, capsys):
    data = write_dataset(tmp_path / "data")
    recipe = tiny_recipe("causal")
    recipe.pop("name")
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    out = tmp_path / "m"
    assert main(["train", "--recipe", str(tmp_path / "tiny.yaml"), "--data", str(data), "--out", str(out),
                 "--max-steps", "3", "--set", "train.eval_samples=2", "--threads", "1"]) == 0  # fmt: skip
    manifest = json.loads((out / "radimpress.json").read_text())
    assert manifest["recipe"]["train"]["max_steps"] == 3 and manifest["train_metrics"]["steps"] == 3
    assert manifest["data_manifest_sha256"] and manifest["library_versions"]["torch"]
    assert manifest["train_metrics"]["best_validation_rougeL"] is not None
    assert not (out / "checkpoints").exists()  # removed after a completed run
    preds = tmp_path / "p.jsonl"
    assert main(["generate", "--model", str(out), "--input", str(data / "test.jsonl"), "--output", str(preds),
                 "--num-beams", "1", "--max-new-tokens", "4"]) == 0  # fmt: skip
    assert len(list(read_jsonl(preds))) == 8
    assert "reports/s" in capsys.readouterr().out


def test_cli_retrieval_recipe_and_baseline_flag_still_work(tmp_path):
    data = write_dataset(tmp_path / "data")
    assert (
        main(
            [
                "train",
                "--recipe",
                "retrieval-consensus",
                "--data",
                str(data),
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    assert (
        json.loads((tmp_path / "r" / "radimpress.json").read_text())["settings"]["consensus_k"] == 5
    )
    assert (
        main(["train", "--model", "constant", "--data", str(data), "--out", str(tmp_path / "c")])
        == 0
    )
    assert json.loads((tmp_path / "c" / "radimpress.json").read_text())["kind"] == "constant"


def test_recipes_command_lists_names_and_the_default(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "gemma3-270m-lora" in out and f"{default_recipe_name()} (default)" in out
