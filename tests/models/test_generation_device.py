"""Generation runs where the weights are: inputs follow the model to its device.

A CUDA model given CPU tensors fails; CI has no GPU, so the model here is
wrapped so that its weights report the ``meta`` device and its ``generate``
refuses, like CUDA would, any tensor that is not on that device. A backend
that forgot to move a batch fails these tests on a CPU.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from radimpress.models import cpu
from radimpress.models.base import load_model
from radimpress.models.neural import device_batch_size, kv_cache_bytes, resolve_device
from radimpress.records import InputError
from support import built, synthetic_reports, tiny_recipe

TRAIN = synthetic_reports(16, 1, "tr")
ANSWER = "Small left pneumothorax."


class DeviceBoundModel(nn.Module):
    """Weights on another device; generate checks its inputs are there, then answers ANSWER."""

    def __init__(self, inner: nn.Module, tokenizer, device: str = "meta") -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.empty(1, device=device))
        self.inner = inner
        self.config = inner.config
        self.answer = tokenizer(ANSWER, add_special_tokens=False)["input_ids"]
        self.seen: list[torch.device] = []

    def generate(self, input_ids, attention_mask=None, num_return_sequences=1, **kwargs):
        for tensor in (input_ids, attention_mask):
            if tensor is not None:
                self.seen.append(tensor.device)
                if tensor.device != self.anchor.device:
                    raise RuntimeError(
                        f"Expected all tensors to be on the same device, but found "
                        f"{tensor.device} and {self.anchor.device}"
                    )
        rows = input_ids.shape[0] * num_return_sequences
        width = input_ids.shape[1]
        new = torch.tensor(self.answer).repeat(rows, 1)
        return torch.cat([torch.zeros(rows, width, dtype=torch.long), new], dim=1)


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_batches_are_moved_to_the_device_of_the_weights(kind):
    model = built(tiny_recipe(kind), TRAIN)
    bound = DeviceBoundModel(model.model, model.tokenizer)
    model.model = bound
    assert model.device == torch.device("meta")
    drafts = model.generate(TRAIN[:3], num_beams=1)
    assert bound.seen and all(d.type == "meta" for d in bound.seen)
    # seq2seq: the pad columns are skipped; causal: the prompt's width is cut off
    assert drafts == [[ANSWER]] * 3
    assert model.last_generation["device"] == "meta"


def test_a_model_left_on_another_device_refuses_cpu_batches():
    """The wrapper is a real check: without the move, generation fails as it would on CUDA."""
    model = built(tiny_recipe("causal"), TRAIN)
    bound = DeviceBoundModel(model.model, model.tokenizer)
    with pytest.raises(RuntimeError, match="same device"):
        bound.generate(torch.ones(1, 3, dtype=torch.long))


def test_place_keeps_a_cpu_model_in_float32_and_refuses_a_missing_gpu(monkeypatch):
    model = built(tiny_recipe("causal"), TRAIN)
    monkeypatch.delenv("RADIMPRESS_CPU_DTYPE")
    monkeypatch.setattr(cpu, "cpu_flags", lambda: {"avx2", "avx512f", "avx512_bf16"})
    assert model.place("cpu") == "cpu"
    assert next(model.model.parameters()).dtype == torch.float32
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="no CUDA GPU"):
        resolve_device("cuda")
    monkeypatch.setenv("RADIMPRESS_DEVICE", "cpu")
    assert resolve_device("auto") == torch.device("cpu")


def test_gpu_batches_fill_half_the_free_memory_within_bounds():
    model = built(tiny_recipe("causal"), TRAIN)
    per_token = kv_cache_bytes(model.model.config, "causal")
    # tiny llama: 1 layer, 1 kv head of 16 dims, keys and values in bf16
    assert per_token == 2 * 1 * 1 * 16 * 2
    assert kv_cache_bytes(built(tiny_recipe("seq2seq"), TRAIN).model.config, "seq2seq") > 0
    assert device_batch_size(10_000, 100, floor=16) == 50
    assert device_batch_size(1_000, 100, floor=16) == 16  # never below the recipe's batch size
    assert device_batch_size(10**12, 100, floor=16) == 512


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (bench/gpu_speed.sh)")
def test_on_a_gpu_generation_runs_there_in_bf16():
    model = built(tiny_recipe("causal"), TRAIN)
    assert model.place("auto").startswith("cuda")
    assert next(model.model.parameters()).dtype == torch.bfloat16
    drafts = model.generate(TRAIN[:4])
    assert len(drafts) == 4 and model.last_generation["device"].startswith("cuda")


def test_a_cpu_with_amx_drafts_in_bf16_unless_told_otherwise(monkeypatch):
    assert cpu.cpu_generation_dtype({"avx2", "amx_tile", "amx_bf16"}) == "float32"  # env
    monkeypatch.delenv("RADIMPRESS_CPU_DTYPE")
    assert cpu.cpu_generation_dtype({"avx2", "amx_tile", "amx_bf16"}) == "bfloat16"
    assert cpu.cpu_generation_dtype({"avx2", "avx512_bf16"}) == "float32"
    monkeypatch.setenv("RADIMPRESS_CPU_DTYPE", "float16")
    with pytest.raises(InputError, match="RADIMPRESS_CPU_DTYPE='float16'"):
        cpu.cpu_generation_dtype()


@pytest.mark.parametrize("kind", ["seq2seq", "causal"])
def test_a_model_loaded_to_draft_goes_bf16_on_amx_but_not_to_train_or_convert(
    kind, tmp_path, monkeypatch
):
    model = built(tiny_recipe(kind), TRAIN)
    model.save(tmp_path / "model")
    expected = model.generate(TRAIN[:4], num_beams=2)
    monkeypatch.delenv("RADIMPRESS_CPU_DTYPE")
    monkeypatch.setattr(cpu, "cpu_flags", lambda: {"avx2", "amx_tile", "amx_bf16"})
    drafting = load_model(tmp_path / "model", backend="hf")
    assert next(drafting.model.parameters()).dtype == torch.bfloat16
    assert drafting.device_name == "cpu, bfloat16"
    drafts = drafting.generate(TRAIN[:4], num_beams=2)
    assert len(drafts) == 4 and drafting.last_generation["device"] == "cpu, bfloat16"
    kept = load_model(tmp_path / "model", backend="hf", place=False)
    assert next(kept.model.parameters()).dtype == torch.float32
    assert kept.device_name == "cpu"
    assert kept.generate(TRAIN[:4], num_beams=2) == expected
