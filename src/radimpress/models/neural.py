"""What the seq2seq and causal backends share: building, prompting, generating, saving.

A backend only says how a (prompt, impression) pair becomes tensors, how the
loss is computed and how token ids come back as text; everything a user sees
(recipes, prompts, LoRA, candidates, the saved folder) is the same for both.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from radimpress.models.base import ImpressionModel, trainable
from radimpress.models.options import GenerationOptions, LoraOptions, ScratchOptions, TrainOptions
from radimpress.models.prompts import PromptBuilder, PromptTemplate
from radimpress.records import InputError, Report

log = logging.getLogger(__name__)

WEIGHTS_DIR = "model"  # transformers folder: loadable by plain `from_pretrained` too
ADAPTER_DIR = "adapter"


def one_line(text: str) -> str:
    return " ".join(text.split())


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("torch", "transformers", "tokenizers", "peft", "accelerate"):
        with contextlib.suppress(md.PackageNotFoundError):
            out[name] = md.version(name)
    return out


class NeuralImpressionModel(ImpressionModel):
    """A transformers model behind the ImpressionModel interface."""

    peft_task: ClassVar[str]

    def __init__(
        self,
        base: str | None = None,
        scratch: dict[str, Any] | None = None,
        prompt: dict[str, Any] | None = None,
        train: dict[str, Any] | None = None,
        generation: dict[str, Any] | None = None,
        lora: dict[str, Any] | None = None,
        base_dtype: str = "float32",
        recipe: str = "",
    ) -> None:
        super().__init__()
        if not base and not scratch:
            raise InputError(
                f"{self.kind}: give a base model (hub id, folder, .gguf) or a scratch size"
            )
        self.base = base
        self.scratch = ScratchOptions.from_dict(scratch, "scratch") if scratch else None
        self.builder = PromptBuilder(PromptTemplate.from_dict(prompt))
        self.train_options = TrainOptions.from_dict(train, "train")
        self.generation = GenerationOptions.from_dict(generation, "generation")
        self.lora = LoraOptions.from_dict(lora, "lora")
        if base_dtype not in {"float32", "bfloat16", "float16"}:
            raise InputError(f"base_dtype must be float32, bfloat16 or float16, not '{base_dtype}'")
        self.base_dtype = base_dtype
        self.recipe = recipe
        # Extra pairs for the neighbour index only (not trained on): `--resume-from`
        # adapts on reviewed drafts while prompts keep the original training context.
        self.index_extra: list[Report] = []
        self.tokenizer: Any = None
        self.model: Any = None
        self.metrics: dict[str, Any] = {}
        # Set by the caller before fit(): where checkpoints go and whether to resume.
        self.work_dir: Path | None = None
        self.resume: bool = False

    # -- construction -------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "scratch": self.scratch.to_dict() if self.scratch else None,
            "prompt": self.builder.template.to_dict(),
            "train": self.train_options.to_dict(),
            "generation": self.generation.to_dict(),
            "lora": self.lora.to_dict(),
            "base_dtype": self.base_dtype,
            "recipe": self.recipe,
        }

    def tokenizer_texts(self, reports: Sequence[Report]) -> list[str]:
        prompts = self.builder.prompts(reports)
        return prompts + [one_line(r.impression or "") for r in reports]

    @abstractmethod
    def _scratch_model(self, tokenizer) -> Any:
        """A freshly initialised model of the scratch size."""

    @abstractmethod
    def _auto_class(self) -> Any:
        """AutoModelForSeq2SeqLM or AutoModelForCausalLM."""

    @property
    def scratch_adds_bos(self) -> bool:
        return False

    def build(self, train: Sequence[Report], tokenizer_dir: Path | None = None) -> None:
        """Create tokenizer and model for training (a saved tokenizer wins, for resume/multi-process)."""
        import torch
        from transformers import AutoTokenizer

        torch.manual_seed(self.train_options.seed)
        if self.scratch:
            if tokenizer_dir and (tokenizer_dir / "tokenizer.json").exists():
                self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
            else:
                from radimpress.models.scratch import train_tokenizer

                self.tokenizer = train_tokenizer(
                    self.tokenizer_texts(trainable(train)),
                    self.scratch.vocab_size,
                    add_bos=self.scratch_adds_bos,
                )
            self.model = self._scratch_model(self.tokenizer)
        else:
            self.tokenizer, self.model = self._load_pretrained(self.base or "")
        self._prepare_tokenizer()
        if self.lora.enabled:
            self.model = self._apply_lora(self.model)

    def _prepare_tokenizer(self) -> None:
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def _load_pretrained(self, base: str) -> tuple[Any, Any]:
        import torch
        from transformers import AutoTokenizer

        from radimpress.models.gguf import resolve_base

        path = resolve_base(base)
        kwargs: dict[str, Any] = {"dtype": getattr(torch, self.base_dtype)}
        if self.lora.enabled and self.lora.quantize != "none":
            kwargs["quantization_config"] = _bitsandbytes_config(self.lora.quantize)
            kwargs["device_map"] = {"": 0}
        try:
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = self._auto_class().from_pretrained(path, **kwargs)
        except OSError as e:
            raise InputError(
                f"base model '{base}' could not be loaded ({e.__class__.__name__}: {str(e).splitlines()[0]}). "
                "Give a local folder, a .gguf file, a built-in name (gemma3-270m) or a hub id "
                "that is in the local Hugging Face cache."
            ) from None
        if kwargs.get("quantization_config") is not None:
            from peft import prepare_model_for_kbit_training

            model = prepare_model_for_kbit_training(model)
        return tokenizer, model

    def _apply_lora(self, model: Any) -> Any:
        from peft import LoraConfig, get_peft_model

        opts = self.lora
        config = LoraConfig(
            task_type=self.peft_task,
            r=opts.r,
            lora_alpha=opts.alpha,
            lora_dropout=opts.dropout,
            target_modules=opts.target_modules,
        )
        return get_peft_model(model, config)

    # -- training -------------------------------------------------------------

    @abstractmethod
    def encode(self, prompts: Sequence[str], targets: Sequence[str]) -> dict[str, Any]:
        """Tensors of one training batch."""

    @abstractmethod
    def loss_module(self) -> Any:
        """An nn.Module whose forward(**batch) returns the mean loss (DDP wraps it)."""

    def training_pairs(self, reports: Sequence[Report]) -> tuple[list[str], list[str]]:
        pairs = trainable(reports)
        return self.builder.prompts(pairs), [one_line(r.impression or "") for r in pairs]

    def fit(
        self, train: Sequence[Report], validation: Sequence[Report] | None = None
    ) -> dict[str, Any]:
        from radimpress.models.train import train_model

        if not trainable(train):
            raise InputError("no trainable pairs (findings and impression) to fit on")
        new_ids = {r.id for r in train}
        self.builder.fit([*(r for r in self.index_extra if r.id not in new_ids), *train])
        t = self.train_options
        if t.epochs == 0 and t.max_steps == 0:  # in-context recipe: a pre-trained model, used as is
            if t.threads > 0:
                import torch

                torch.set_num_threads(t.threads)
            self.build(train)
            self.model.eval()
            self.metrics = {"trained": False, "train_pairs": len(trainable(train))}
            return self.metrics
        self.metrics = train_model(
            self, list(train), list(validation or []), self.work_dir, resume=self.resume
        )
        return self.metrics

    # -- generation -----------------------------------------------------------

    @abstractmethod
    def _generate_batch(self, prompts: Sequence[str], n: int) -> list[list[str]]:
        """n decoded candidates per prompt, best first."""

    def generate(self, reports: Sequence[Report], num_candidates: int = 1) -> list[list[str]]:
        import torch
        from tqdm.auto import tqdm

        if self.model is None:
            raise RuntimeError("model is not built: fit or load it first")
        if not reports:
            return []
        g = self.generation
        torch.manual_seed(g.seed)
        prompts = self.builder.prompts(reports)
        n = max(num_candidates, g.num_beams if (g.mbr or g.safe_select) else num_candidates)
        # Batches of similar length waste less compute on padding.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out: list[list[str]] = [[] for _ in prompts]
        self.model.eval()
        start = time.perf_counter()
        bar = tqdm(
            total=len(prompts), desc="generate", unit="report", disable=not g.progress, leave=False
        )
        with torch.inference_mode():
            for s in range(0, len(order), g.batch_size):
                chunk = order[s : s + g.batch_size]
                texts = self._generate_batch([prompts[i] for i in chunk], n)
                for i, cands in zip(chunk, texts, strict=True):
                    out[i] = _distinct([one_line(c) for c in cands])
                bar.update(len(chunk))
        bar.close()
        seconds = time.perf_counter() - start
        self.last_generation = {"reports": len(prompts), "seconds": seconds}
        if g.mbr:
            pools = self.builder.neighbour_impressions(reports, g.mbr_neighbours)
            out = [
                mbr_rank(c + [p for p in pool if p not in c])
                for c, pool in zip(out, pools, strict=True)
            ]
        if g.safe_select:
            out = [_safe_first(r.findings, c) for r, c in zip(reports, out, strict=True)]
        return [c[: max(1, num_candidates)] for c in out]

    # -- persistence ----------------------------------------------------------

    def save_weights(self, out_dir: Path) -> dict[str, Any]:
        saved_as = "full"
        model = self.model
        if self.metrics.get("trained") is False and self.base and not self.lora.enabled:
            # An in-context model is its base model unchanged: point to it rather than copy ~1 GB.
            settings = self.settings()
            settings["saved_as"] = "reference"
            settings["prompt_index"] = self.builder.save(out_dir)
            return settings
        if self.lora.enabled:
            if self.lora.merge_on_save and self.lora.quantize == "none":
                model = model.merge_and_unload()
                self.model = model
                self.lora.enabled = False  # the saved weights are plain now
                saved_as = "merged"
            else:
                model.save_pretrained(out_dir / ADAPTER_DIR)
                saved_as = "adapter"
        if saved_as != "adapter":
            model.save_pretrained(out_dir / WEIGHTS_DIR)
            self.tokenizer.save_pretrained(out_dir / WEIGHTS_DIR)
        else:
            self.tokenizer.save_pretrained(out_dir / ADAPTER_DIR)
        settings = self.settings()
        settings["saved_as"] = saved_as
        settings["prompt_index"] = self.builder.save(out_dir)
        return settings

    def save(self, out_dir, extra=None) -> Path:
        """Weights, tokenizer, radimpress.json (with library versions) and a model card."""
        extra = {"library_versions": library_versions(), "metrics": self.metrics, **(extra or {})}
        out = super().save(out_dir, extra)
        (out / "README.md").write_text(
            model_card(self, json.loads((out / "radimpress.json").read_text()))
        )
        return out

    @classmethod
    def load_weights(cls, model_dir: Path, settings: dict[str, Any]) -> NeuralImpressionModel:
        import torch
        from transformers import AutoTokenizer

        keys = ("base", "scratch", "prompt", "train", "generation", "lora", "base_dtype", "recipe")
        m = cls(**{k: settings.get(k) for k in keys if settings.get(k) is not None})
        m.builder = PromptBuilder.load(model_dir, settings.get("prompt_index", {}))
        saved_as = settings.get("saved_as", "full")
        if saved_as == "reference":
            m.tokenizer, m.model = m._load_pretrained(m.base or "")
            m.metrics = {"trained": False}
        elif saved_as == "adapter":
            from peft import PeftModel

            m.tokenizer = AutoTokenizer.from_pretrained(str(model_dir / ADAPTER_DIR))
            _, base = m._load_pretrained(m.base or "")
            m.model = PeftModel.from_pretrained(base, str(model_dir / ADAPTER_DIR))
        else:
            m.lora.enabled = False
            folder = str(model_dir / WEIGHTS_DIR)
            m.tokenizer = AutoTokenizer.from_pretrained(folder)
            m.model = m._auto_class().from_pretrained(folder, dtype=torch.float32)
        m._prepare_tokenizer()
        m.model.eval()
        return m


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
    from rouge_score import rouge_scorer

    from radimpress.models.baselines import consensus_order

    cands = [c for c in candidates if c]
    if len(cands) <= 2:
        return list(cands) or [""]
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    order = consensus_order(cands, [1.0] * len(cands), scorer)
    return [cands[i] for i in order]


def _safe_first(findings: str, candidates: list[str]) -> list[str]:
    """Move the candidate radimpress.safety picks (first one without a high-severity warning) to the front."""
    try:
        from radimpress.safety import select_safe
    except ImportError:
        raise InputError(
            "--safe-select needs radimpress.safety.select_safe, which is not available"
        ) from None
    index, _warnings = select_safe(findings, list(candidates))
    if index <= 0:
        return candidates
    return [candidates[index]] + [c for i, c in enumerate(candidates) if i != index]


def _bitsandbytes_config(quantize: str) -> Any:
    """QLoRA quantisation; fails clearly where it cannot run (no CUDA, no bitsandbytes)."""
    import torch

    if not torch.cuda.is_available():
        raise InputError(
            f"lora.quantize={quantize} (QLoRA) needs a CUDA GPU and bitsandbytes; "
            "on CPU use lora.quantize=none (LoRA over a bf16 or fp32 base)"
        )
    try:
        import bitsandbytes  # noqa: F401
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


def model_card(model: NeuralImpressionModel, manifest: dict[str, Any]) -> str:
    """A short README.md so a person opening the folder knows what it is and how it was made."""
    s = model.settings()
    metrics = manifest.get("metrics") or {}
    lines = [
        f"# radimpress model: {manifest.get('name')} ({manifest.get('kind')})",
        "",
        "Drafts the IMPRESSION of a radiology report from its FINDINGS. A draft for a",
        "radiologist to review, never a final report.",
        "",
        f"- recipe: `{s['recipe'] or 'custom'}`",
        f"- base model: `{s['base'] or 'none (trained from scratch: ' + str((s['scratch'] or {}).get('size')) + ')'}`",
        f"- saved as: {manifest.get('settings', {}).get('saved_as')}",
        f"- version: {manifest.get('version')}",
        f"- training data: `{manifest.get('data', 'unknown')}` (manifest sha256 `{manifest.get('data_manifest_sha256')}`)",
        f"- libraries: {', '.join(f'{k} {v}' for k, v in (manifest.get('library_versions') or {}).items())}",
        "",
        "## Prompt",
        "",
        "```",
        model.builder.template.render(
            Report(id="example", findings="<findings>"),
            [("<findings of a similar report>", "<its impression>")] * model.builder.template.icl_k,
            ["<impression of a similar report>"] * model.builder.template.rag_k,
        ),
        "```",
        "",
        "## Validation and training metrics",
        "",
    ]
    if metrics:
        lines += [f"- {k}: {v}" for k, v in metrics.items() if not isinstance(v, list | dict)]
    else:
        lines.append("- none recorded")
    if s["base"] and "gemma" in str(s["base"]).lower():
        lines += [
            "",
            "Gemma is provided under the Gemma Terms of Use: https://ai.google.dev/gemma/terms",
        ]
    lines += [
        "",
        "Use: `radimpress generate --model THIS_FOLDER --input reports.jsonl --output predictions.jsonl`",
        "",
    ]
    return "\n".join(lines)
