"""Typed option groups of a neural recipe: what a YAML recipe may say, with defaults.

Unknown keys are errors naming the group, so a typo in a recipe or a
``--set`` override fails at once instead of silently training the default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from radimpress.records import InputError


class _Options:
    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, group: str):
        d = dict(d or {})
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(
                f"{group}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass
class TrainOptions(_Options):
    epochs: float = 3.0
    max_steps: int = 0  # optimizer steps; 0 = from epochs
    batch_size: int = 16  # per process
    grad_accum: int = 1
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.05
    schedule: str = "cosine"  # cosine | linear | constant
    precision: str = "fp32"  # fp32 | bf16 (autocast)
    max_grad_norm: float = 1.0
    max_source_tokens: int = 512
    max_target_tokens: int = 128
    eval_every: int = 0  # optimizer steps between validation ROUGE-L; 0 = once per epoch
    eval_samples: int = 64  # validation reports generated for ROUGE-L
    patience: int = 0  # evaluations without improvement before stopping; 0 = never stop early
    save_every: int = 0  # optimizer steps between checkpoints; 0 = only at evaluations
    max_minutes: float = 0.0  # wall-clock budget; 0 = none
    stop_after: int = (
        0  # pause after this many optimizer steps (checkpoint kept; --resume continues)
    )
    seed: int = 13
    threads: int = 0  # torch.set_num_threads; 0 = leave torch's default
    log_every: int = 10

    def __post_init__(self) -> None:
        if self.schedule not in {"cosine", "linear", "constant"}:
            raise InputError(
                f"train.schedule must be cosine, linear or constant, not '{self.schedule}'"
            )
        if self.precision not in {"fp32", "bf16"}:
            raise InputError(f"train.precision must be fp32 or bf16, not '{self.precision}'")
        if self.batch_size < 1 or self.grad_accum < 1:
            raise InputError("train.batch_size and train.grad_accum must be >= 1")


@dataclass
class GenerationOptions(_Options):
    num_beams: int = 4
    max_new_tokens: int = 96
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    batch_size: int = 16
    seed: int = 13
    mbr: bool = False  # choose by minimum Bayes risk (ROUGE-L) among beams + neighbours
    mbr_neighbours: int = 4  # retrieved impressions added to the MBR pool
    safe_select: bool = False  # let radimpress.safety.select_safe pick among candidates
    progress: bool = True

    def generate_kwargs(self, n: int) -> dict[str, Any]:
        """transformers ``generate()`` arguments for n candidates per input, shared by every neural kind.

        Beam search needs at least n beams to return n sequences; sampling draws
        its n candidates from one beam, and temperature/top_p only mean something
        when sampling, so they are left unset otherwise.
        """
        beams = max(self.num_beams, n) if not self.do_sample else 1
        return {
            "max_new_tokens": self.max_new_tokens,
            "num_beams": beams,
            "num_return_sequences": n,
            "length_penalty": self.length_penalty,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "do_sample": self.do_sample,
            "temperature": self.temperature if self.do_sample else None,
            "top_p": self.top_p if self.do_sample else None,
            "early_stopping": beams > 1,
        }


@dataclass
class LoraOptions(_Options):
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] | str | None = None  # None = peft's default for the architecture
    quantize: str = "none"  # none | 4bit | 8bit (QLoRA: needs CUDA and bitsandbytes)
    merge_on_save: bool = True  # False keeps an adapter that references the base model

    def __post_init__(self) -> None:
        if self.quantize not in {"none", "4bit", "8bit"}:
            raise InputError(f"lora.quantize must be none, 4bit or 8bit, not '{self.quantize}'")


@dataclass
class ScratchOptions(_Options):
    size: str = "t5-mini"
    vocab_size: int = 8000
    overrides: dict[str, Any] = field(default_factory=dict)  # config fields, e.g. num_layers
