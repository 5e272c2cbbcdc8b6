"""The GGUF reader the one-time conversion uses must read exactly what gguf's own reader reads."""

from __future__ import annotations

import gguf
import numpy as np
import pytest

from radimpress.models.gguf import ArrayGGUFReader, fast_gguf_reader


@pytest.fixture
def gguf_file(tmp_path):
    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "gemma3")
    writer.add_uint32("gemma3.block_count", 2)
    writer.add_float32("gemma3.rope.freq_base", 10000.0)
    writer.add_string("general.name", "tiny")
    writer.add_array("tokenizer.ggml.tokens", ["<pad>", "▁left", "▁lobe", "é", "▁no"])
    writer.add_array("tokenizer.ggml.scores", [0.0, -1.5, -2.25, -3.0, -0.5])
    writer.add_array("tokenizer.ggml.token_type", [3, 1, 1, 1, 1])
    writer.add_tensor("token_embd.weight", np.arange(40, dtype=np.float32).reshape(5, 8))
    writer.add_tensor("blk.0.attn_q.weight", np.linspace(-1, 1, 64, dtype=np.float16).reshape(8, 8))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_array_reader_reads_the_same_fields_and_tensors(gguf_file):
    ours, theirs = ArrayGGUFReader(str(gguf_file)), gguf.GGUFReader(str(gguf_file))
    assert list(ours.fields) == list(theirs.fields)
    for name, field in theirs.fields.items():
        mine = ours.fields[name]
        assert (mine.offset, mine.data, mine.types) == (field.offset, field.data, field.types)
        assert len(mine.parts) == len(field.parts)
        for a, b in zip(mine.parts, field.parts, strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    tokens = ours.fields["tokenizer.ggml.tokens"]
    assert [bytes(tokens.parts[i]).decode() for i in tokens.data] == [
        "<pad>",
        "▁left",
        "▁lobe",
        "é",
        "▁no",
    ]
    assert [t.name for t in ours.tensors] == [t.name for t in theirs.tensors]
    for a, b in zip(ours.tensors, theirs.tensors, strict=True):
        assert (a.tensor_type, list(a.shape), a.data_offset) == (
            b.tensor_type,
            list(b.shape),
            b.data_offset,
        )
        np.testing.assert_array_equal(a.data, b.data)


def test_the_swap_lasts_only_for_the_block(gguf_file):
    original = gguf.GGUFReader
    with fast_gguf_reader():
        from gguf import GGUFReader  # what transformers does when it loads a file

        assert GGUFReader is ArrayGGUFReader
    assert gguf.GGUFReader is original
    with pytest.raises(RuntimeError), fast_gguf_reader():
        raise RuntimeError("a failed load")
    assert gguf.GGUFReader is original
