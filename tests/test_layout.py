"""The package layout: stages depend one way, and no module uses another package's private names."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "radimpress"


def test_packages_depend_one_way():
    """The layers contract in pyproject.toml: e.g. serve may import drafting, never the reverse."""
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(p for p in rel.parts if p != "__init__")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_private_name_is_used_across_packages():
    offenders = []
    files = [*SRC.rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    for path in files:
        here = _module_name(path) if SRC in path.parents else "bench"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: dict[str, str] = {}  # local name -> radimpress module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("radimpress"):
                for a in node.names:
                    target = f"{node.module}.{a.name}"
                    if _private(a.name) and _package(node.module) != _package(here):
                        offenders.append(f"{path.relative_to(ROOT)}: imports {target}")
                    aliases[a.asname or a.name] = target
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("radimpress"):
                        aliases[a.asname or a.name.split(".")[0]] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _package(aliases[node.value.id]) != _package(here)
            ):
                offenders.append(
                    f"{path.relative_to(ROOT)}:{node.lineno}: uses {node.value.id}.{node.attr}"
                )
    assert offenders == []


def test_benchmarks_use_only_public_names():
    """bench/ drives radimpress as a user would: no private attribute of its objects.

    (A benchmark may reach into the standard library to build a hostile input,
    e.g. a zip bomb, but never into radimpress.)
    """
    offenders = []
    for path in (ROOT / "bench").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        other_modules = {
            (a.asname or a.name).split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for a in node.names
            if not a.name.startswith("radimpress")
        }
        for node in ast.walk(tree):
            owner = (
                node.value.id
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                else None
            )
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and owner not in ("self", "cls", *other_modules)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
    assert offenders == []
