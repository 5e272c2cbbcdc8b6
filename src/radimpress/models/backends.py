"""Which engine runs a neural model's generation: transformers, or its CTranslate2 copy.

`radimpress export` writes a CTranslate2 copy of a trained model into the
model folder (``ctranslate2/``) and records it in ``radimpress.json`` under
``exports``. ``--backend auto`` (the default of `generate`, `batch` and
`serve`) drafts with that copy when it is there and the ctranslate2 package
is installed, and with transformers otherwise; ``hf`` and ``ctranslate2``
force one. Nothing here imports torch or ctranslate2, so the command line
can check a choice before it loads anything.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from radimpress.records import InputError

BACKENDS = ("auto", "hf", "ctranslate2")
EXPORT_DIR = "ctranslate2"
QUANTIZATIONS = ("auto", "int8", "int8_float32", "float32")  # of `export --format ctranslate2`


def ctranslate2_installed() -> bool:
    return importlib.util.find_spec("ctranslate2") is not None


def exported_copy(model_dir: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The CTranslate2 export recorded in the manifest, when its folder is really there."""
    export = (manifest.get("exports") or {}).get("ctranslate2")
    if not export:
        return None
    folder = Path(model_dir) / export.get("path", EXPORT_DIR)
    return export if (folder / "model.bin").exists() else None


def choose_backend(requested: str, export: dict[str, Any] | None, model_dir: Path) -> str:
    """``hf`` or ``ctranslate2`` for a neural model folder; a clear error when it cannot be had."""
    if requested not in BACKENDS:
        raise InputError(f"backend '{requested}': expected one of {', '.join(BACKENDS)}")
    if requested == "hf":
        return "hf"
    if requested == "ctranslate2":
        if export is None:
            raise InputError(
                f"{model_dir}: no CTranslate2 copy; make one with "
                f"`radimpress export --model {model_dir} --format ctranslate2`"
            )
        if not ctranslate2_installed():
            raise InputError(
                "backend ctranslate2 needs the ctranslate2 package: pip install 'radimpress[fast]'"
            )
        return "ctranslate2"
    return "ctranslate2" if export is not None and ctranslate2_installed() else "hf"


def export_card_lines(manifest: dict[str, Any]) -> list[str]:
    """The model card's lines about the folder's fast copies."""
    export = (manifest.get("exports") or {}).get("ctranslate2")
    if not export:
        return [
            "- generation backend: transformers (`radimpress export --format ctranslate2` "
            "adds a faster CPU copy)"
        ]
    shortlist = export.get("shortlist") or {}
    short = (
        f"vocabulary shortlist of {shortlist.get('tokens')} tokens ({shortlist.get('method')}, "
        f"from {shortlist.get('source')})"
        if shortlist
        else "full vocabulary"
    )
    lines = [
        f"- generation backend: CTranslate2 copy in `{export.get('path', EXPORT_DIR)}/` "
        f"({export.get('quantization')}, {short}; ctranslate2 {export.get('ctranslate2_version')}, "
        f"converted in {export.get('seconds')} s); `generate`, `batch` and `serve` use it by "
        "default (`--backend hf` uses transformers)",
    ]
    if "quantization_reason" in export:
        lines.append(f"- quantization: {export['quantization_reason']}")
    return lines
