"""Named recipes (readable YAML in radimpress/configs/), their typed form, and the model kinds.

A recipe says everything needed to reproduce a model: its kind and that
kind's options (see `radimpress.models.options`). It is read once into a
plain dict tree, every override (``--set train.lr=3e-4``, a shortcut flag
such as ``--epochs 2``) is written into that same tree, and only then is the
tree validated into a typed `Recipe`, so a value means the same wherever it
came from. The resolved recipe is saved in the model folder (radimpress.json
and recipe.yaml).

Model kinds are registered once, in `KINDS`: the recipe class that validates
a kind's options and the model class that implements it, named as
``"module:Class"`` and imported on first use so the baselines never import
torch.
"""

from __future__ import annotations

import copy
import importlib
import types
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from radimpress.models.options import (
    ChoiceOptions,
    ConstantOptions,
    NeuralOptions,
    Options,
    RerankOptions,
    RetrievalOptions,
)
from radimpress.records import InputError


class Recipe(Options):
    """What every recipe has: a name, a description and the kind of model it builds."""

    name: str = Field("", description="the recipe's name (its file name for named recipes)")
    description: str = ""
    kind: str


class NeuralRecipe(Recipe, NeuralOptions):
    kind: Literal["seq2seq", "causal"]


class RerankRecipe(Recipe):
    kind: Literal["rerank"]
    settings: RerankOptions = Field(default_factory=RerankOptions)


class RetrievalRecipe(Recipe):
    kind: Literal["retrieval"]
    settings: RetrievalOptions = Field(default_factory=RetrievalOptions)


class ConstantRecipe(Recipe):
    kind: Literal["constant"]
    settings: ConstantOptions = Field(default_factory=ConstantOptions)


class HybridRecipe(Recipe):
    """Generate and choose: the reranker's retrieved impressions plus a language model's drafts."""

    kind: Literal["hybrid"]
    rerank: RerankOptions = Field(default_factory=RerankOptions)
    generator: NeuralRecipe | None = Field(
        None, description="a language model whose beams and likelihoods join the choice; none = off"
    )
    choice: ChoiceOptions = Field(default_factory=ChoiceOptions)


@dataclass(frozen=True)
class Kind:
    recipe: type[Recipe]
    model: str  # "module:Class"
    # How radimpress.models.training trains it: "fit" (the model's own fit), "neural"
    # (the fine-tuning loop, or none for an in-context recipe) or "hybrid" (both, then a choice).
    training: str = "fit"

    @property
    def neural(self) -> bool:
        return self.training == "neural"


KINDS: dict[str, Kind] = {
    "constant": Kind(ConstantRecipe, "radimpress.models.baselines:ConstantModel"),
    "retrieval": Kind(RetrievalRecipe, "radimpress.models.baselines:RetrievalModel"),
    "rerank": Kind(RerankRecipe, "radimpress.models.rerank:RerankModel"),
    "seq2seq": Kind(NeuralRecipe, "radimpress.models.seq2seq:Seq2SeqModel", training="neural"),
    "causal": Kind(NeuralRecipe, "radimpress.models.causal:CausalModel", training="neural"),
    "hybrid": Kind(HybridRecipe, "radimpress.models.hybrid:HybridModel", training="hybrid"),
}


def register_kind(name: str, kind: Kind) -> None:
    """Add a model kind (a site's own model, a test double)."""
    KINDS[name] = kind


def model_kinds() -> list[str]:
    return sorted(KINDS)


def kind_of(name: str) -> Kind:
    if name not in KINDS:
        raise InputError(f"unknown model kind '{name}'; known: {', '.join(model_kinds())}")
    return KINDS[name]


def model_class(kind: str) -> Any:
    module, _, cls = kind_of(kind).model.partition(":")
    return getattr(importlib.import_module(module), cls)


def parse_recipe(tree: dict[str, Any], where: str = "recipe") -> Recipe:
    """Validate a recipe tree; errors name the file (or flag) and the option's dotted path."""
    if not isinstance(tree, dict):
        raise InputError(f"{where}: a recipe must be a mapping of options")
    kind = tree.get("kind")
    if not isinstance(kind, str):
        raise InputError(f"{where}: field 'kind' must be one of {', '.join(model_kinds())}")
    try:
        return kind_of(kind).recipe.model_validate(tree)
    except InputError as e:
        raise InputError(f"{where}: {e}") from None
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'recipe'}: {_message(err)}"
            for err in e.errors()
        )
        raise InputError(f"{where}: {problems}") from None


def _message(err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown option (see `radimpress recipes --options KIND`)"
    return str(err["msg"])


# -- the YAML catalogue ----------------------------------------------------


def config_dir() -> Path:
    return Path(str(resources.files("radimpress") / "configs"))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(f"{path}: invalid YAML ({e})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a recipe must be a mapping of options")
    return data


def default_recipe_name() -> str:
    """The recipe named in configs/default.yaml (what the benchmark found best)."""
    data = _read_yaml(config_dir() / "default.yaml")
    name = data.get("recipe")
    if not isinstance(name, str) or not name:
        raise InputError(f"{config_dir() / 'default.yaml'}: missing field 'recipe'")
    return name


def recipe_names() -> list[str]:
    return sorted(p.stem for p in config_dir().glob("*.yaml") if p.stem != "default")


def recipe_path(name_or_path: str) -> Path:
    """configs/NAME.yaml ('default' follows default.yaml) or a .yaml file of the user's."""
    if name_or_path == "default":
        name_or_path = default_recipe_name()
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} and path.exists():
        return path
    path = config_dir() / f"{name_or_path}.yaml"
    if not path.exists():
        raise InputError(
            f"unknown recipe '{name_or_path}'; known: {', '.join(recipe_names())} (or a .yaml path)"
        )
    return path


def recipe_tree(name_or_path: str) -> dict[str, Any]:
    """The recipe as a plain tree (before overrides), named after its file."""
    path = recipe_path(name_or_path)
    tree = _read_yaml(path)
    tree.setdefault("name", path.stem)
    return tree


def load_recipe(name_or_path: str, overrides: list[str] | None = None) -> Recipe:
    """A named or file recipe with ``key.sub=value`` overrides, validated."""
    tree = apply_overrides(recipe_tree(name_or_path), overrides or [])
    return parse_recipe(tree, str(recipe_path(name_or_path)))


def list_recipes() -> dict[str, str]:
    """name -> one-line description."""
    return {
        name: " ".join(str(recipe_tree(name).get("description", "")).split())
        for name in recipe_names()
    }


# -- overrides -------------------------------------------------------------


def parse_override(item: str) -> tuple[str, Any]:
    """``train.lr=3e-4`` -> ("train.lr", 3e-4 as YAML reads it; pydantic converts the rest)."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise InputError(f"--set '{item}': expected KEY=VALUE, e.g. train.lr=3e-4")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at a dotted path, creating groups on the way."""
    parts = path.split(".")
    node = tree
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise InputError(f"'{'.'.join(parts[: i + 1])}' is a value, not a group of options")
        node = child
    node[parts[-1]] = value


def apply_overrides(tree: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    out = copy.deepcopy(tree)
    for item in overrides:
        set_path(out, *parse_override(item))
    return out


# -- help: the options a kind's recipe may set, from the classes themselves --


def describe_options(kind: str) -> list[str]:
    """One line per option path: type, default and description (for `radimpress recipes`)."""
    return _describe(kind_of(kind).recipe, "")


def _describe(cls: type[BaseModel], prefix: str) -> list[str]:
    lines = []
    for name, field in cls.model_fields.items():
        path = f"{prefix}{name}"
        group = _group_class(field.annotation)
        if group is not None:
            lines += _describe(group, path + ".")
            continue
        if field.is_required():
            text = f"{path} ({_type_name(field.annotation)}, required)"
        else:
            default = field.get_default(call_default_factory=True)
            text = f"{path} ({_type_name(field.annotation)}, default {default!r})"
        lines.append(f"{text}: {field.description}" if field.description else text)
    return lines


def _group_class(annotation: Any) -> type[BaseModel] | None:
    options = [annotation, *typing.get_args(annotation)]
    return next((a for a in options if isinstance(a, type) and issubclass(a, BaseModel)), None)


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    if typing.get_origin(annotation) is Literal:
        return "|".join(str(a) for a in typing.get_args(annotation))
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    return str(annotation).replace("typing.", "")
