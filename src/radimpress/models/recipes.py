"""Named training recipes: readable YAML files in radimpress/configs/, overridable from the CLI.

A recipe says everything needed to reproduce a model: kind, base model or
scratch size, prompt, LoRA, training and generation options. ``--set
train.lr=3e-4`` style overrides are applied to the loaded dict, and the
final recipe is stored in the model folder's radimpress.json.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from radimpress.records import InputError

NEURAL_KINDS = {"seq2seq", "causal"}
RECIPE_KEYS = {
    "description",
    "kind",
    "base",
    "base_dtype",
    "scratch",
    "prompt",
    "train",
    "generation",
    "lora",
    "settings",
}


def config_dir() -> Path:
    return Path(str(resources.files("radimpress") / "configs"))


def default_recipe_name() -> str:
    """The recipe named in configs/default.yaml (what the benchmark found best)."""
    data = _read_yaml(config_dir() / "default.yaml")
    name = data.get("recipe")
    if not isinstance(name, str) or not name:
        raise InputError(f"{config_dir() / 'default.yaml'}: missing field 'recipe'")
    return name


def recipe_names() -> list[str]:
    return sorted(p.stem for p in config_dir().glob("*.yaml") if p.stem != "default")


def list_recipes() -> dict[str, str]:
    """name -> one-line description."""
    return {
        name: " ".join(str(load_recipe(name).get("description", "")).split())
        for name in recipe_names()
    }


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(f"{path}: invalid YAML ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a recipe must be a mapping of options")
    return data


def load_recipe(name_or_path: str) -> dict[str, Any]:
    """A recipe by name (configs/NAME.yaml; 'default' follows default.yaml) or from a YAML file."""
    if name_or_path == "default":
        name_or_path = default_recipe_name()
    path = Path(name_or_path)
    if not (path.suffix in {".yaml", ".yml"} and path.exists()):
        path = config_dir() / f"{name_or_path}.yaml"
        if not path.exists():
            raise InputError(
                f"unknown recipe '{name_or_path}'; known: {', '.join(recipe_names())} (or a .yaml path)"
            )
    recipe = _read_yaml(path)
    unknown = sorted(set(recipe) - RECIPE_KEYS)
    if unknown:
        raise InputError(
            f"{path}: unknown recipe field(s) {', '.join(unknown)}; known: {', '.join(sorted(RECIPE_KEYS))}"
        )
    if recipe.get("kind") not in NEURAL_KINDS | {"retrieval", "constant", "rerank"}:
        raise InputError(
            f"{path}: field 'kind' must be seq2seq, causal, retrieval, constant or rerank"
        )
    recipe["name"] = path.stem
    return recipe


def apply_overrides(recipe: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides; values are parsed as YAML (numbers, booleans, lists)."""
    out = copy.deepcopy(recipe)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set '{item}': expected KEY=VALUE, e.g. train.lr=3e-4")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        if isinstance(value, str) and _looks_like_float(value):
            value = float(value)  # YAML 1.1 reads 3e-4 as a string
        parts = key.strip().split(".")
        if parts[0] not in RECIPE_KEYS:
            raise InputError(
                f"--set '{item}': unknown field '{parts[0]}'; known: {', '.join(sorted(RECIPE_KEYS))}"
            )
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return out


def _looks_like_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def build_model(recipe: dict[str, Any]):
    """An untrained ImpressionModel for a recipe."""
    from radimpress.models.base import model_class

    kind = recipe["kind"]
    cls = model_class(kind)
    if kind in NEURAL_KINDS:
        return cls(
            base=recipe.get("base"),
            scratch=recipe.get("scratch"),
            prompt=recipe.get("prompt"),
            train=recipe.get("train"),
            generation=recipe.get("generation"),
            lora=recipe.get("lora"),
            base_dtype=recipe.get("base_dtype") or "float32",
            recipe=recipe.get("name", ""),
        )
    try:
        return cls(**(recipe.get("settings") or {}))
    except TypeError as e:
        raise InputError(f"recipe '{recipe.get('name')}': bad settings for {kind} ({e})") from None
