"""Small synthetic report pairs shared by the model tests (no real data in unit tests).

The impression is a deterministic function of the findings, so a model that
learns anything should beat chance on them; fast enough for CPU tests.
"""

from __future__ import annotations

import os
import random

# A model that is not on disk must fail at once, not retry the hub for a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from radimpress.records import Report, write_jsonl

_FINDINGS = [
    (
        "The heart size is normal. The lungs are clear. No pleural effusion or pneumothorax.",
        "No acute cardiopulmonary disease.",
    ),
    ("Heart is enlarged. Lungs are clear. No effusion.", "Cardiomegaly without acute disease."),
    (
        "Large left pleural effusion with adjacent atelectasis. Heart size normal.",
        "Large left pleural effusion.",
    ),
    ("Small right pleural effusion. Lungs otherwise clear.", "Small right pleural effusion."),
    ("Right upper lobe consolidation. Heart normal. No effusion.", "Right upper lobe pneumonia."),
    ("Left lower lobe opacity suggesting pneumonia. Heart normal.", "Left lower lobe pneumonia."),
    ("Small left apical pneumothorax. Lungs otherwise clear.", "Small left pneumothorax."),
    (
        "Hyperinflated lungs with flattened diaphragms. No focal consolidation.",
        "Emphysema. No acute disease.",
    ),
]
_EXTRAS = [
    "",
    " Degenerative changes of the spine.",
    " Stable surgical clips.",
    " Calcified granuloma.",
]


def synthetic_reports(n: int, seed: int = 0, prefix: str = "r") -> list[Report]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        findings, impression = _FINDINGS[rng.randrange(len(_FINDINGS))]
        extra = _EXTRAS[rng.randrange(len(_EXTRAS))]
        exam = "XR CHEST 2 VIEWS" if i % 3 == 0 else None
        out.append(Report(f"{prefix}{i}", findings + extra, impression, exam=exam))
    return out


def write_dataset(folder, n_train: int = 48, n_val: int = 8, n_test: int = 8):
    """A dataset folder in the layout `radimpress dataset build` writes."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "train.jsonl", synthetic_reports(n_train, 1, "tr"))
    write_jsonl(folder / "validation.jsonl", synthetic_reports(n_val, 2, "va"))
    write_jsonl(folder / "test.jsonl", synthetic_reports(n_test, 3, "te"))
    (folder / "manifest.json").write_text('{"name": "synthetic"}')
    return folder


TINY_SHAPES = {
    "seq2seq": (
        "t5-tiny",
        {
            "d_model": 32,
            "d_ff": 64,
            "d_kv": 8,
            "num_heads": 2,
            "num_layers": 1,
            "num_decoder_layers": 1,
        },
    ),
    "causal": (
        "llama-tiny",
        {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
        },
    ),
}


def tiny_recipe(kind: str, **groups) -> dict:
    """A recipe for a model of a few thousand parameters: seconds to train on one thread."""
    size, overrides = TINY_SHAPES[kind]
    recipe = {
        "kind": kind,
        "name": f"tiny-{kind}",
        "scratch": {"size": size, "vocab_size": 120, "overrides": overrides},
        "prompt": {"rag_k": 1},
        "train": {
            "max_steps": 6,
            "batch_size": 8,
            "lr": 0.01,
            "eval_samples": 0,
            "seed": 5,
            "log_every": 1,
        },
        "generation": {"num_beams": 2, "max_new_tokens": 8, "batch_size": 4, "progress": False},
    }
    for group, values in groups.items():
        recipe[group] = {**recipe.get(group, {}), **values} if isinstance(values, dict) else values
    return recipe
