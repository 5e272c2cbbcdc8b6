"""`radimpress export --format ctranslate2`: the CTranslate2 copy of a trained neural model.

`export` converts a model folder's transformers weights (full, merged LoRA,
adapter or the base of an in-context recipe) into ``DIR/ctranslate2/`` with
int8 (or float32) weights, and records it in ``radimpress.json``;
`radimpress.models.ctranslate2_backend` drafts with it.

The vocabulary shortlist (``--vocabulary-shortlist``) is the lever for large
vocabularies: per generated token, Gemma 3's 262k-row output projection
costs about as much as all its layers, while the impressions of a chest
X-ray archive use a few thousand tokens.

- seq2seq: CTranslate2's vocabulary map (``vmap.txt``, ``use_vmap``): the
  decoder scores only the tokens of the training impressions plus the tokens
  of the findings being drafted (so a rare word can still be copied).
- causal: CTranslate2's generator has no vocabulary map, so the export keeps
  only the rows of the embedding and output matrices of the tokens of the
  training prompts and impressions, single characters and byte tokens. The
  kept ids are saved (``kept_ids.json``) and the results are mapped back; a
  prompt token outside them is spelled with kept pieces. A whole-vocabulary
  copy is written beside it (``whole-vocabulary/``): a report whose findings
  have such a token, and whose draft then holds a word the prompt does not
  (a misspelling), is drafted again with it.

Apart from the drafting module because converting needs torch and
transformers' model classes, and drafting needs neither.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import torch
from ctranslate2.converters import TransformersConverter

from radimpress.models.backends import EXPORT_DIR, QUANTIZATIONS
from radimpress.models.base import MANIFEST, build_model, load_model, read_manifest
from radimpress.models.cpu import cpu_flags
from radimpress.models.ctranslate2_backend import (
    KEPT_IDS,
    STOP_IDS,
    TOKENIZER_DIR,
    VMAP,
    WHOLE_DIR,
)
from radimpress.models.neural import NeuralImpressionModel, one_line
from radimpress.models.recipes import parse_recipe
from radimpress.records import InputError, Report, read_reports

# CPU flags (Linux /proc/cpuinfo names) of int8 dot-product instructions
INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def auto_quantization(flags: set[str] | None = None) -> tuple[str, str]:
    """int8 where the CPU has AVX2 or int8 dot-product instructions, float32 elsewhere; and why.

    int8 quarters the weights, and with one replica per core (how this module runs a
    copy on a CPU) it was the fastest copy on every CPU measured (BENCHMARKS.md, Speed):
    on a 2-core AMX Xeon a T5 drafted 4.3x transformers as int8 and 2.45x as float32;
    on a 2-core AMD EPYC with AVX2 only, 3.2x-3.8x against 2.7x-2.8x, and the
    `gemma3-270m-lora` model at beam 4 5.75x against 3.7x with the same ROUGE-L
    (+0.01 and +0.28 against transformers). Greedy, that model's int8 copy scored
    0.7 ROUGE-L below transformers on the Open-i test split (CI -2.3 to +0.8), the
    float32 copy 0.1: `--quantization float32` is the choice for the last bit of
    quality. Before one replica per core, an AVX2 machine ran int8 no faster than
    float32, which is why auto once chose float32 there. A CPU with neither (older
    x86, other architectures) was not measured, so it keeps float32.
    """
    found = sorted((cpu_flags() if flags is None else flags) & (INT8_DOT_FLAGS | {"avx2"}))
    if found:
        return "int8", (
            f"auto: the CPU has {', '.join(found)}, where the int8 copy drafted fastest "
            "(float32 keeps a few tenths of ROUGE-L more)"
        )
    return "float32", (
        "auto: the CPU has neither AVX2 nor int8 dot-product instructions (AVX-512 VNNI, "
        "AVX-VNNI, AMX), where int8 was not measured"
    )


def export(
    model_dir: str | Path,
    quantization: str = "auto",
    shortlist: bool = False,
    data: str | Path | None = None,
) -> dict[str, Any]:
    """Convert a neural model folder into ``model_dir/ctranslate2``; returns what was recorded.

    ``quantization="auto"`` chooses for the CPU of the machine that converts
    (`auto_quantization`); the choice and its reason are recorded.
    """
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    if manifest["kind"] not in ("seq2seq", "causal"):
        raise InputError(
            f"{model_dir}: a {manifest['kind']} model has nothing to convert; "
            "`export --format ctranslate2` takes seq2seq and causal models"
        )
    if quantization not in QUANTIZATIONS:
        raise InputError(
            f"quantization '{quantization}': expected one of {', '.join(QUANTIZATIONS)}"
        )
    reason = None
    if quantization == "auto":
        quantization, reason = auto_quantization()
    start = time.perf_counter()
    model = load_model(model_dir, backend="hf", place=False)
    assert isinstance(model, NeuralImpressionModel)
    network = model.model
    if hasattr(network, "merge_and_unload"):  # a LoRA adapter: fold it into the weights
        network = network.merge_and_unload()
    network = network.to(device="cpu", dtype=torch.float32)
    texts = shortlist_texts(model_dir, model, data) if shortlist else None
    target = model_dir / EXPORT_DIR
    tmp = model_dir / (EXPORT_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="radimpress-export-") as hf_dir:
        network.save_pretrained(hf_dir)
        model.tokenizer.save_pretrained(hf_dir)
        kept: list[int] | None = None
        vmap: str | None = None
        if texts is not None and model.kind == "causal":
            kept = kept_ids(model.tokenizer, texts, model.stop_token_ids())
        elif texts is not None:
            vmap = str(Path(hf_dir) / VMAP)
            tokens = shortlist_tokens(model.tokenizer, texts["impressions"])
            write_vmap(vmap, model.tokenizer, tokens)
        _PrunedConverter(hf_dir, kept).convert(
            str(tmp), vmap=vmap, quantization=quantization, force=True
        )
        if kept is not None:  # redrafts what the pruned copy misspells (see CausalRunner.draft_ids)
            TransformersConverter(hf_dir).convert(
                str(tmp / WHOLE_DIR), quantization=quantization, force=True
            )
    model.tokenizer.save_pretrained(tmp / TOKENIZER_DIR)
    if kept is not None:
        (tmp / KEPT_IDS).write_text(json.dumps(kept))
    if model.kind == "causal":
        for copy in (tmp, tmp / WHOLE_DIR) if kept is not None else (tmp,):
            (copy / STOP_IDS).write_text(json.dumps(model.stop_token_ids()))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    record: dict[str, Any] = {
        "path": EXPORT_DIR,
        "quantization": quantization,
        "ctranslate2_version": ctranslate2.__version__,
        "seconds": round(time.perf_counter() - start, 1),
        "size_mb": round(sum(p.stat().st_size for p in target.rglob("*")) / 1e6, 1),
    }
    if reason is not None:
        record["quantization_reason"] = reason
    if texts is not None:
        record["shortlist"] = {
            "method": "pruned-vocabulary" if kept is not None else "vmap",
            "tokens": len(kept) if kept is not None else len(tokens),
            "vocabulary": len(model.tokenizer),
            "source": texts["source"],
        }
        if kept is not None:
            record["shortlist"]["whole_vocabulary_copy"] = WHOLE_DIR
    manifest.setdefault("exports", {})["ctranslate2"] = record
    (model_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    card_model = build_model(parse_recipe(manifest["recipe"], str(model_dir / MANIFEST)))
    (model_dir / "README.md").write_text(card_model.card(manifest))
    return record


def shortlist_texts(
    model_dir: Path, model: NeuralImpressionModel, data: str | Path | None
) -> dict[str, Any]:
    """The training impressions (and prompts) the shortlist is made of.

    The dataset the model was trained on (``--data``, else the folder the
    manifest names, where it still exists) is read first: its reports carry
    the exam and indication lines the prompt shows. Else a model whose prompt
    retrieves keeps its training pairs (``prompt_pairs.json``: findings and
    impressions only). Why the dataset first: a causal copy's input vocabulary
    is pruned too, and a prompt token outside it is spelled with kept pieces the
    model never saw in training (and may be misspelt in the draft, which the
    slower whole-vocabulary copy then drafts again). Made from the pairs, the Gemma
    recipe's copy lacked "Indication" and the indications' words (year, old,
    female...) for 294 of 297 Open-i test prompts, and its float32 copy drafted
    31 reports differently from transformers (ROUGE-L 65.42 against 66.35).
    """
    recorded = read_manifest(model_dir).get("data")
    dataset_reachable = bool(recorded) and (Path(recorded) / "train.jsonl").exists()
    if data is None and not dataset_reachable and model.builder.impressions:
        pairs = model.builder
        reports = None
        source = "prompt_pairs.json"
        impressions = list(pairs.impressions)
        findings = list(pairs.findings)
    else:
        folder = Path(data) if data else Path(recorded or "")
        train = folder / "train.jsonl"
        if not train.exists():
            raise InputError(
                f"{model_dir}: the vocabulary shortlist needs the training impressions: the "
                f"model keeps none, and {train} does not exist (give --data DATASET_FOLDER)"
            )
        reports = [r for r in read_reports(train) if r.trainable]
        source = str(train)
        impressions = [one_line(r.impression or "") for r in reports]
        findings = [r.findings for r in reports]
    if not impressions:
        raise InputError(f"{source}: no training impressions to make a shortlist from")
    prompts: list[str] = []
    if model.kind == "causal":
        # The generator's input vocabulary is pruned too: keep what its prompts use.
        sample = reports if reports is not None else _pairs_as_reports(model)
        prompts = model.builder.prompts(sample)
        prompts += findings
    return {"impressions": impressions, "prompts": prompts, "source": source}


def _pairs_as_reports(model: NeuralImpressionModel) -> list[Report]:
    b = model.builder
    pairs = [
        Report(id=i, findings=f, impression=m)
        for i, f, m in zip(b.ids, b.findings, b.impressions, strict=True)
    ]
    # The pairs keep no exam or indication: one report with both, so the template's labels
    # for those lines (whatever the recipe renders) are kept at least.
    return [*pairs, Report(id="-", findings="clear", exam="chest", indication="cough")]


def shortlist_tokens(tokenizer: Any, texts: Iterable[str]) -> list[str]:
    """Every token of the texts as the decoder would write them, plus the special tokens."""
    ids: set[int] = set(tokenizer.all_special_ids)
    for encoded in _encode(tokenizer, [" " + t for t in texts]):
        ids.update(encoded)
    return tokenizer.convert_ids_to_tokens(sorted(ids))


def write_vmap(path: str, tokenizer: Any, shortlist: Sequence[str]) -> None:
    """CTranslate2 vocabulary map: every source gets the shortlist, and each source token itself.

    The source of every prompt ends with EOS, so the shortlist hangs from
    that token; each token maps to itself so findings words can be copied.
    """
    eos = tokenizer.eos_token
    lines = [f"{eos}\t{' '.join(shortlist)}"]
    vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    lines += [f"{t}\t{t}" for t in vocab if t and " " not in t and "\t" not in t and t != eos]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def kept_ids(tokenizer: Any, texts: dict[str, Any], stop_ids: Sequence[int]) -> list[int]:
    """Ids a pruned causal model keeps: every token of the training prompts and impressions,
    the special and stop tokens, and every one-character or byte token (so any text can be spelled).
    """
    keep: set[int] = set(tokenizer.all_special_ids)
    for encoded in _encode(
        tokenizer, list(texts["prompts"]) + [" " + t for t in texts["impressions"]]
    ):
        keep.update(encoded)
    for token, i in tokenizer.get_vocab().items():
        bare = token.replace("▁", "").replace("Ġ", "")
        if len(bare) <= 1 and (not bare or ord(bare) < 128) or token.startswith("<0x"):
            keep.add(i)
    keep.update(stop_ids)  # the model's, found once for the export and saved with the copy
    return sorted(keep)


def _encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    out: list[list[int]] = []
    for s in range(0, len(texts), 512):
        out += tokenizer(texts[s : s + 512], add_special_tokens=False)["input_ids"]
    return out


class _PrunedConverter(TransformersConverter):
    """The transformers converter, keeping only some vocabulary rows of a decoder-only model."""

    def __init__(self, model_dir: str, kept: list[int] | None) -> None:
        super().__init__(model_dir)
        self.kept = kept

    def _load(self):
        spec = super()._load()
        if self.kept is None:
            return spec
        decoder = spec.decoder
        embeddings = (
            decoder.embeddings[0] if isinstance(decoder.embeddings, list) else decoder.embeddings
        )
        index = np.asarray(self.kept)
        full = embeddings.weight
        pruned = _rows(full, index)
        embeddings.weight = pruned
        projection = decoder.projection
        projection.weight = pruned if projection.weight is full else _rows(projection.weight, index)
        if isinstance(getattr(projection, "bias", None), np.ndarray | torch.Tensor):
            projection.bias = _rows(projection.bias, index)
        spec._vocabulary = [spec._vocabulary[i] for i in self.kept]
        return spec


def _rows(weight: Any, index: np.ndarray) -> Any:
    if isinstance(weight, torch.Tensor):
        return weight[torch.as_tensor(index)].contiguous()
    return np.ascontiguousarray(np.asarray(weight)[index])
