"""bf16 autocast only where the hardware has bf16 units; elsewhere fp32, said and recorded."""

from __future__ import annotations

import pytest
import torch

from radimpress.models.training.finetune import mixed_precision
from support import synthetic_reports, tiny_recipe, train_tiny


@pytest.fixture
def hardware(monkeypatch):
    def set_hardware(cuda: bool, cpu_bf16: bool) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: cpu_bf16)

    return set_hardware


def test_fp32_is_asked_for_and_given(hardware):
    hardware(cuda=True, cpu_bf16=True)
    assert mixed_precision("fp32") == ("no", None)


@pytest.mark.parametrize(("cuda", "cpu_bf16"), [(True, False), (False, True)])
def test_bf16_on_a_gpu_or_a_cpu_with_bf16_units(hardware, cuda, cpu_bf16):
    hardware(cuda=cuda, cpu_bf16=cpu_bf16)
    assert mixed_precision("bf16") == ("bf16", None)


def test_a_cpu_without_bf16_units_trains_in_fp32_and_records_why(hardware, capsys):
    hardware(cuda=False, cpu_bf16=False)
    precision, note = mixed_precision("bf16")
    assert precision == "no" and "no bf16 units" in note

    recipe = tiny_recipe("causal", train={"precision": "bf16", "max_steps": 2})
    model, metrics = train_tiny(recipe, synthetic_reports(16))
    assert metrics["precision"] == "fp32"
    assert "no bf16 units" in metrics["precision_note"]
    assert "no bf16 units" in capsys.readouterr().err
    card = model.card({"name": "m", "kind": "causal", "version": "1", "train_metrics": metrics})
    assert "precision_note: precision bf16 requested" in card


def test_fp32_training_records_its_precision():
    _, metrics = train_tiny(tiny_recipe("seq2seq", train={"max_steps": 1}), synthetic_reports(8))
    assert metrics["precision"] == "fp32" and "precision_note" not in metrics
