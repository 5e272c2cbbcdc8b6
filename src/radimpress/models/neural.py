"""What the seq2seq and causal backends share: building, prompting, generating, saving.

A backend only says how a (prompt, impression) pair becomes tensors, how the
loss is computed and how token ids come back as text; everything a user sees
(recipes, prompts, LoRA, candidates, the saved folder) is the same for both.
Training is not here: `radimpress.models.training` drives a model through
`build`, `encode` and `loss_module`, and the model never calls it back.

torch, peft, rouge-score and transformers' model and tokenizer classes are
imported where they are used: a model drafting through its CTranslate2 copy
needs none of them, and importing them was most of every such process's
start (a Ray actor's, `serve`'s, each CLI call's): peft, rouge-score and the
model classes a third, torch alone 1.4-1.9 s and about 280 MB more.
"""

from __future__ import annotations

import os
import time
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from tqdm.auto import tqdm

from radimpress.models.backends import choose_backend, export_card_lines, exported_copy
from radimpress.models.base import ImpressionModel, trainable
from radimpress.models.baselines import consensus_order
from radimpress.models.cpu import cpu_generation_dtype
from radimpress.models.options import DECODING_OPTIONS, GenerationOptions
from radimpress.models.prompts import PromptBuilder, render_prompt
from radimpress.models.recipes import NeuralRecipe
from radimpress.records import InputError, Report

if TYPE_CHECKING:
    import torch

WEIGHTS_DIR = "model"  # transformers folder: loadable by plain `from_pretrained` too
DEVICE_ENV = "RADIMPRESS_DEVICE"  # cpu, cuda, cuda:1...; default: a GPU when there is one
ADAPTER_DIR = "adapter"


def one_line(text: str) -> str:
    return " ".join(text.split())


class NeuralImpressionModel(ImpressionModel):
    """A transformers model behind the ImpressionModel interface."""

    peft_task: ClassVar[str]
    decoding_options = DECODING_OPTIONS
    recipe: NeuralRecipe

    def __init__(self, recipe: NeuralRecipe) -> None:
        super().__init__(recipe)
        self.builder = PromptBuilder(recipe.prompt)
        self.tokenizer: Any = None
        self.model: Any = None
        self.last_generation: dict[str, Any] = {}
        # Set by `load_saved` when the model folder's CTranslate2 copy drafts instead
        # of transformers (see radimpress.models.ctranslate2_backend).
        self.fast: Any = None

    @property
    def train_options(self):
        return self.recipe.train

    @property
    def generation(self) -> GenerationOptions:
        return self.recipe.generation

    # -- construction -------------------------------------------------------

    def tokenizer_texts(self, reports: Sequence[Report]) -> list[str]:
        """What a tokenizer learnt from scratch must cover: prompts and impressions."""
        prompts = self.builder.prompts(reports)
        return prompts + [one_line(r.impression or "") for r in reports]

    @abstractmethod
    def _scratch_model(self, tokenizer: Any) -> Any:
        """A freshly initialised model of the scratch size."""

    @abstractmethod
    def _auto_class(self) -> Any:
        """AutoModelForSeq2SeqLM or AutoModelForCausalLM."""

    @property
    def scratch_adds_bos(self) -> bool:
        return False

    def build(self, tokenizer: Any = None) -> None:
        """Create the network: from scratch (with the tokenizer the recipe learnt) or a base."""
        import torch

        torch.manual_seed(self.train_options.seed)
        if self.recipe.scratch:
            if tokenizer is None:
                raise ValueError("a model trained from scratch needs its learnt tokenizer")
            self.tokenizer, self.model = tokenizer, self._scratch_model(tokenizer)
        else:
            self.tokenizer, self.model = self._load_pretrained(self.recipe.base or "")
        self._prepare_tokenizer()
        if self.recipe.lora.enabled:
            self.model = self._apply_lora(self.model)

    def _prepare_tokenizer(self) -> None:
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def _load_pretrained(self, base: str) -> tuple[Any, Any]:
        import torch
        from transformers import AutoTokenizer

        from radimpress.models.gguf import resolve_base  # a GGUF base: converted once

        path = resolve_base(base)
        lora = self.recipe.lora
        kwargs: dict[str, Any] = {"dtype": getattr(torch, self.recipe.base_dtype)}
        if lora.enabled and lora.quantize != "none":
            kwargs["quantization_config"] = _bitsandbytes_config(lora.quantize)
            kwargs["device_map"] = {"": 0}
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = self._auto_class().from_pretrained(path, **kwargs)
        except OSError as e:
            raise InputError(
                f"base model '{base}' could not be loaded ({e.__class__.__name__}: "
                f"{str(e).splitlines()[0]}). Give a local folder, a .gguf file, a built-in name "
                "(gemma3-270m) or a hub id that is in the local Hugging Face cache."
            ) from None
        if kwargs.get("quantization_config") is not None:
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(model)
        return tokenizer, model

    def _apply_lora(self, model: Any) -> Any:
        from peft import LoraConfig, get_peft_model

        opts = self.recipe.lora
        layers, targets = None, opts.target_modules
        if opts.top_layers:
            total = _layer_count(model)
            layers = list(range(max(0, total - opts.top_layers), total))
            if isinstance(targets, str):  # peft takes layers only with named modules
                targets = _linear_names(model)
        config = LoraConfig(
            task_type=self.peft_task,
            r=opts.r,
            lora_alpha=opts.alpha,
            lora_dropout=opts.dropout,
            target_modules=targets,
            layers_to_transform=layers,
        )
        return get_peft_model(model, config)

    # -- what the training loop calls ------------------------------------------

    @abstractmethod
    def encode(self, prompts: Sequence[str], targets: Sequence[str]) -> dict[str, Any]:
        """Tensors of one training batch."""

    @abstractmethod
    def loss_module(self) -> Any:
        """An nn.Module whose forward(**batch) returns the mean loss (DDP wraps it)."""

    def fit_vocabulary(self, reports: Sequence[Report]) -> None:
        """Anything learnt from the training texts before the loop starts (none by default)."""

    def training_pairs(self, reports: Sequence[Report]) -> tuple[list[str], list[str]]:
        pairs = trainable(reports)
        return self.builder.prompts(pairs), [one_line(r.impression or "") for r in pairs]

    @abstractmethod
    def pair_lengths(self, prompts: Sequence[str], targets: Sequence[str]) -> list[int]:
        """Tokens of each training pair as `encode` builds it (truncated, unpadded)."""

    # -- generation -----------------------------------------------------------

    @abstractmethod
    def _generate_batch(
        self, prompts: Sequence[str], n: int, g: GenerationOptions
    ) -> list[list[str]]:
        """n decoded candidates per prompt, best first."""

    def decoding(self, **overrides: Any) -> GenerationOptions:
        """The recipe's generation options with a caller's overrides (nothing is mutated)."""
        return self.generation.model_copy(update=overrides) if overrides else self.generation

    def candidate_pool(self, **decoding: Any) -> int:
        g = self.decoding(**decoding)
        return 1 if g.do_sample else g.num_beams

    def generate(
        self, reports: Sequence[Report], num_candidates: int = 1, **decoding: Any
    ) -> list[list[str]]:
        if self.model is None and self.fast is None:
            raise RuntimeError("model is not built: train or load it first")
        if not reports:
            return []
        g = self.decoding(**decoding)
        prompts = self.builder.prompts(reports)
        n = max(num_candidates, g.num_beams if g.mbr else num_candidates)
        # Batches of similar length waste less compute on padding.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out: list[list[str]] = [[] for _ in prompts]
        if self.model is not None:
            self.model.eval()
        step, size = self._batch_plan(prompts, n, g)
        start = time.perf_counter()
        bar = tqdm(
            total=len(prompts),
            desc="generate",
            unit="report",
            disable=not (g.progress and self.progress),
            leave=False,
        )
        with self._inference(g.seed):
            for s in range(0, len(order), size):
                chunk = order[s : s + size]
                texts = step([prompts[i] for i in chunk], n, g)
                for i, cands in zip(chunk, texts, strict=True):
                    out[i] = _distinct([one_line(c) for c in cands])
                bar.update(len(chunk))
        bar.close()
        self.last_generation = {
            "reports": len(prompts),
            "seconds": time.perf_counter() - start,
            "backend": self.backend,
            "device": self.device_name,
            "batch_size": size,
        }
        if g.mbr:
            pools = self.builder.neighbour_impressions(reports, g.mbr_neighbours)
            out = [
                mbr_rank(c + [p for p in pool if p not in c])
                for c, pool in zip(out, pools, strict=True)
            ]
        return [c[: max(1, num_candidates)] for c in out]

    def _inference(self, seed: int) -> Any:
        """torch's inference mode, seeded, for a transformers model; nothing for a CTranslate2
        copy, which draws its own seed and must not import torch (see ctranslate2_backend)."""
        if self.model is None:
            return nullcontext()
        import torch

        torch.manual_seed(seed)
        return torch.inference_mode()

    # -- where generation runs ----------------------------------------------------

    @property
    def backend(self) -> str:
        return "ctranslate2" if self.fast is not None else "hf"

    @property
    def device(self) -> torch.device:
        """Where the transformers model's weights are: inputs must be moved there."""
        return next(self.model.parameters()).device

    @property
    def device_name(self) -> str:
        """Where drafts are made, with the weights' dtype where a CPU drafts in bf16."""
        if self.fast is not None:
            return self.fast.device
        if self.model is None:
            return "none"
        import torch

        weights = next(self.model.parameters())
        if weights.device.type == "cpu" and weights.dtype == torch.bfloat16:
            return "cpu, bfloat16"
        return str(weights.device)

    def place(self, device: str = "auto") -> str:
        """Put the model where it will generate: a CUDA GPU in bf16 when there is one, else the CPU
        (in bf16 where it has AMX tiles, see `cpu_generation_dtype`).

        `generate` then moves every batch to the weights' device and sizes its
        batches for that device's free memory (`device_batch_size`).
        """
        if self.model is None:  # the CTranslate2 copy drafts: its engine chose its device
            return self.device_name
        import torch

        target = resolve_device(device)
        quantized = getattr(self.model, "is_quantized", False)
        if target.type == "cuda" and not quantized:
            self.model.to(device=target, dtype=torch.bfloat16)
        elif target.type != self.device.type:
            self.model.to(device=target)
        if target.type == "cpu" and not quantized:
            self.model.to(dtype=getattr(torch, cpu_generation_dtype()))
        return str(self.device)

    def _batch_plan(self, prompts: Sequence[str], n: int, g: GenerationOptions):
        """The batch step (CTranslate2 or transformers) and how many reports go in one batch."""
        if self.fast is not None:
            return self.fast.generate_batch, g.batch_size * self.fast.batches_per_call
        if self.device.type != "cuda":
            return self._generate_batch, g.batch_size
        import torch

        free, _ = torch.cuda.mem_get_info(self.device)
        beams = n if g.do_sample else max(g.num_beams, n)
        tokens = self.train_options.max_source_tokens + g.max_new_tokens
        per_report = kv_cache_bytes(self.model.config, self.kind) * tokens * beams
        return self._generate_batch, device_batch_size(free, per_report, g.batch_size)

    @classmethod
    def load_saved(
        cls, model_dir: Path, recipe: NeuralRecipe, manifest: dict[str, Any], backend: str = "auto"
    ) -> NeuralImpressionModel:
        """Load on the chosen backend: the CTranslate2 copy `radimpress export` made, or transformers."""
        saved = manifest.get("saved", {})
        export = exported_copy(model_dir, manifest)
        if choose_backend(backend, export, model_dir) == "ctranslate2":
            from radimpress.models import ctranslate2_backend  # optional extra: radimpress[fast]

            m = cls(recipe)
            m.builder = PromptBuilder.load(model_dir, recipe.prompt, saved.get("prompt_index", {}))
            ctranslate2_backend.attach(m, model_dir, export or {})
            return m
        return cls.load_weights(model_dir, recipe, saved)  # load_model places it for drafting

    # -- scoring given candidates -------------------------------------------------

    def log_likelihoods(
        self, reports: Sequence[Report], candidates: Sequence[Sequence[str]], batch_size: int = 64
    ) -> list[list[tuple[float, int]]]:
        """Per candidate: (sum of its tokens' log-probabilities given the report's prompt, tokens).

        Each backend's `_score_batch` scores a chunk of candidates, each after the prompt
        of the report that owns it; a scorer uses the length-normalised value to tell a
        candidate the model would write from one it would not.
        """
        if self.model is None:
            raise RuntimeError(
                "model is not built: train or load it first (scoring needs the transformers "
                "backend: load with backend='hf')"
            )
        import torch

        prompts = self.builder.prompts(reports)
        out: list[list[tuple[float, int]]] = [[] for _ in reports]
        self.model.eval()
        # Reports in chunks whose candidates together fill about one batch.
        per = max(1, batch_size // max(1, max((len(c) for c in candidates), default=1)))
        with torch.inference_mode():
            for s in range(0, len(reports), per):
                chunk = range(s, min(len(reports), s + per))
                owner = [i for i in chunk for _ in candidates[i]]
                flat = [one_line(c) for i in chunk for c in candidates[i]]
                if not flat:
                    continue
                for i, score in zip(owner, self._score_batch(prompts, owner, flat), strict=True):
                    out[i].append(score)
        return out

    def _score_batch(
        self, prompts: Sequence[str], owner: Sequence[int], candidates: Sequence[str]
    ) -> list[tuple[float, int]]:
        """(sum of the tokens' log-probabilities, tokens) of each candidate given
        ``prompts[owner[k]]``."""
        raise NotImplementedError(f"{self.kind} models cannot score candidates yet")

    # -- persistence ----------------------------------------------------------

    @property
    def in_context(self) -> bool:
        """A pre-trained base used as it is, with examples in the prompt."""
        return (
            not self.train_options.trains
            and bool(self.recipe.base)
            and not self.recipe.lora.enabled
        )

    def save_weights(self, out_dir: Path) -> dict[str, Any]:
        saved = {"prompt_index": self.builder.save(out_dir)}
        if self.in_context:
            # An in-context model is its base model unchanged: point to it rather than copy ~1 GB.
            return {**saved, "saved_as": "reference"}
        lora = self.recipe.lora
        if lora.enabled and not (lora.merge_on_save and lora.quantize == "none"):
            self.model.save_pretrained(out_dir / ADAPTER_DIR)
            self.tokenizer.save_pretrained(out_dir / ADAPTER_DIR)
            return {**saved, "saved_as": "adapter"}
        model = self.model
        if lora.enabled:
            model = self.model = self.model.merge_and_unload()
        model.save_pretrained(out_dir / WEIGHTS_DIR)
        self.tokenizer.save_pretrained(out_dir / WEIGHTS_DIR)
        return {**saved, "saved_as": "merged" if lora.enabled else "full"}

    @classmethod
    def load_weights(
        cls, model_dir: Path, recipe: NeuralRecipe, saved: dict[str, Any]
    ) -> NeuralImpressionModel:
        import torch
        from transformers import AutoTokenizer

        m = cls(recipe)
        m.builder = PromptBuilder.load(model_dir, recipe.prompt, saved.get("prompt_index", {}))
        saved_as = saved.get("saved_as", "full")
        if saved_as == "reference":
            m.tokenizer, m.model = m._load_pretrained(recipe.base or "")
        elif saved_as == "adapter":
            from peft import PeftModel

            m.tokenizer = AutoTokenizer.from_pretrained(str(model_dir / ADAPTER_DIR))
            _, base = m._load_pretrained(recipe.base or "")
            m.model = PeftModel.from_pretrained(base, str(model_dir / ADAPTER_DIR))
        else:
            folder = str(model_dir / WEIGHTS_DIR)
            m.tokenizer = AutoTokenizer.from_pretrained(folder)
            m.model = m._auto_class().from_pretrained(folder, dtype=torch.float32)
        m._prepare_tokenizer()
        m.model.eval()
        return m

    def card_details(self, manifest: dict[str, Any]) -> list[str]:
        r = self.recipe
        base = r.base or f"none (trained from scratch: {r.scratch.size if r.scratch else '?'})"
        example = render_prompt(
            r.prompt,
            Report(id="example", findings="<findings>"),
            [("<findings of a similar report>", "<its impression>")] * r.prompt.icl_k,
            ["<impression of a similar report>"] * r.prompt.rag_k,
        )
        lines = [
            f"- base model: `{base}`",
            f"- saved as: {manifest.get('saved', {}).get('saved_as')}",
            f"- libraries: {', '.join(f'{k} {v}' for k, v in (manifest.get('library_versions') or {}).items())}",
            *export_card_lines(manifest),
            "",
            "## Prompt",
            "",
            "```",
            example,
            "```",
        ]
        if r.base and "gemma" in r.base.lower():
            lines += [
                "",
                "Gemma is provided under the Gemma Terms of Use: https://ai.google.dev/gemma/terms",
            ]
        return lines


def _linear_names(model: Any) -> list[str]:
    """Names of the linear layers inside the transformer blocks ("all-linear", spelled out)."""
    import torch

    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and ".layers." in f".{name}"
    }
    return sorted(names)


def _layer_count(model: Any) -> int:
    config = model.config
    for name in ("num_hidden_layers", "num_decoder_layers", "num_layers", "decoder_layers"):
        if getattr(config, name, None):
            return int(getattr(config, name))
    raise InputError(f"lora.top_layers: cannot tell how many layers a {config.model_type} has")


def resolve_device(device: str = "auto") -> torch.device:
    """``auto``: RADIMPRESS_DEVICE when set, else the first CUDA GPU when there is one, else the CPU."""
    import torch

    if device == "auto":
        device = os.environ.get(DEVICE_ENV, "").strip() or "auto"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    target = torch.device(device)
    if target.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {device!r}: no CUDA GPU is visible to torch")
    return target


def kv_cache_bytes(config: Any, kind: str) -> int:
    """Bytes of KV cache one sequence needs per token (bf16), from a transformers config.

    An encoder-decoder also caches the cross-attention keys and values, so
    it counts twice.
    """
    config = config.get_text_config() if hasattr(config, "get_text_config") else config
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "num_layers", 1)
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "num_heads", 1)
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    hidden = getattr(config, "hidden_size", None) or getattr(config, "d_model", 64)
    head_dim = getattr(config, "head_dim", None) or getattr(config, "d_kv", None) or hidden // heads
    per_token = 2 * layers * kv_heads * head_dim * 2  # keys and values, 2 bytes each
    return per_token * (2 if kind == "seq2seq" else 1)


def device_batch_size(free_bytes: int, per_report_bytes: int, floor: int, cap: int = 512) -> int:
    """Reports per generate call on a GPU: what half its free memory holds, never below ``floor``.

    The other half is left for activations and the logits of each step.
    """
    fits = int(free_bytes * 0.5 // max(1, per_report_bytes))
    return max(floor, min(cap, fits))


def _distinct(texts: Sequence[str]) -> list[str]:
    out: list[str] = []
    for t in texts:
        if t and t not in out:
            out.append(t)
    return out or [""]


def mbr_rank(candidates: Sequence[str]) -> list[str]:
    """Minimum Bayes risk: the candidate with the highest ROUGE-L agreement with the others first.

    Beams alone often agree on a fluent but wrong phrase; adding the
    neighbours' impressions to the pool lets a real radiologist's sentence win.
    """
    cands = [c for c in candidates if c]
    if len(cands) <= 2:
        return list(cands) or [""]
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    order = consensus_order(cands, [1.0] * len(cands), scorer)
    return [cands[i] for i in order]


def _bitsandbytes_config(quantize: str) -> Any:
    """QLoRA quantisation; fails clearly where it cannot run (no CUDA, no bitsandbytes)."""
    import torch

    if not torch.cuda.is_available():
        raise InputError(
            f"lora.quantize={quantize} (QLoRA) needs a CUDA GPU and bitsandbytes; "
            "on CPU use lora.quantize=none (LoRA over a bf16 or fp32 base)"
        )
    try:
        import bitsandbytes  # noqa: F401 - optional: only QLoRA needs it
    except ImportError:
        raise InputError(
            f"lora.quantize={quantize} (QLoRA) needs the bitsandbytes package: pip install bitsandbytes"
        ) from None
    from transformers import BitsAndBytesConfig

    if quantize == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )
