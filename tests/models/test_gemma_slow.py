"""The built-in default base: Gemma 3 270M from the PyPI GGUF package (slow: ~1-3 min first time).

Run with: OMP_NUM_THREADS=2 .venv/bin/python -m pytest -m slow tests/test_models_gemma_slow.py -q
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from radimpress.models.gguf import CONVERTED_MARKER, resolve_base
from radimpress.models.recipes import load_recipe
from radimpress.records import Report
from support import synthetic_reports, train_tiny


@pytest.mark.slow
def test_gemma3_in_context_drafts_an_impression(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = resolve_base("gemma3-270m")  # converts once into the cache, then reuses it
    assert json.loads((Path(folder) / CONVERTED_MARKER).read_text())["source"].endswith(".gguf")
    start = time.perf_counter()
    recipe = load_recipe("gemma3-270m-icl", ["generation.progress=false"])
    model, _ = train_tiny(recipe, synthetic_reports(16, 1, "tr"))
    assert time.perf_counter() - start < 120  # cached: no de-quantisation again
    (cands,) = model.generate(
        [Report("q", "Large left pleural effusion with adjacent atelectasis. Heart size normal.")]
    )
    draft = cands[0]
    assert draft and "\n" not in draft and len(draft) < 400
    assert (
        "effusion" in draft.lower()
    )  # the in-context examples show how such findings are summarised
