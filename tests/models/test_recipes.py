"""Named recipes, command-line overrides, and the train / generate / recipes commands."""

from __future__ import annotations

import json

import pytest
import yaml

from radimpress.cli import main
from radimpress.models.base import build_model
from radimpress.models.recipes import (
    default_recipe_name,
    describe_options,
    list_recipes,
    load_recipe,
    parse_recipe,
    recipe_tree,
)
from radimpress.records import InputError, read_jsonl
from support import tiny_recipe, write_dataset


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
        assert model.kind == load_recipe(name).kind
    assert default_recipe_name() in recipes
    assert load_recipe("default").name == default_recipe_name()


def test_overrides_parse_values_and_reject_unknown_keys_at_any_depth():
    recipe = load_recipe(
        "t5-scratch-rag",
        ["train.lr=3e-4", "prompt.rag_k=2", "lora.enabled=true", "lora.target_modules=[q, v]"],
    )
    assert recipe.train.lr == 3e-4 and recipe.prompt.rag_k == 2  # YAML's "3e-4" string is a float
    assert recipe.lora.enabled and recipe.lora.target_modules == ["q", "v"]
    with pytest.raises(InputError, match="trian: unknown option"):
        load_recipe("t5-scratch-rag", ["trian.lr=1"])
    with pytest.raises(InputError, match="train.learning_rate: unknown option"):
        load_recipe("t5-scratch-rag", ["train.learning_rate=1"])
    with pytest.raises(InputError, match="scratch.overrides"):
        load_recipe("t5-scratch-rag", ["scratch.overrides=3"])
    with pytest.raises(InputError, match="settings.k"):
        load_recipe("rerank", ["settings.k=0"])  # validated, not only typed
    with pytest.raises(InputError, match="KEY=VALUE"):
        load_recipe("t5-scratch-rag", ["train.lr"])
    with pytest.raises(InputError, match="unknown recipe 'nope'"):
        load_recipe("nope")
    with pytest.raises(InputError, match="field 'kind'"):
        parse_recipe({"train": {}})


def test_every_option_is_described_from_the_options_classes():
    lines = describe_options("causal")
    assert any(
        line.startswith("train.lr (float, default 0.001): peak learning rate") for line in lines
    )
    assert any(line.startswith("lora.quantize (none|4bit|8bit") for line in lines)
    paths = {line.split(" ")[0] for line in lines}
    tree = recipe_tree("gemma3-270m-lora")
    for group in ("train", "generation", "prompt", "lora"):
        for key in tree.get(group, {}):
            assert f"{group}.{key}" in paths  # every option a shipped recipe sets is described


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
    manifest = json.loads((tmp_path / "r" / "radimpress.json").read_text())
    assert manifest["recipe"]["settings"]["consensus_k"] == 5
    assert yaml.safe_load((tmp_path / "r" / "recipe.yaml").read_text()) == manifest["recipe"]
    assert (
        main(["train", "--model", "constant", "--data", str(data), "--out", str(tmp_path / "c")])
        == 0
    )
    assert json.loads((tmp_path / "c" / "radimpress.json").read_text())["kind"] == "constant"


def test_recipes_command_lists_names_and_the_default(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "gemma3-270m-lora" in out and f"{default_recipe_name()} (default)" in out
