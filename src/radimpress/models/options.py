"""Every option a recipe may set, typed once: fields, defaults, validation and help.

A YAML recipe, a ``--set train.lr=3e-4`` override and a shortcut flag such as
``--epochs`` all write into the same tree, which these classes then validate:
unknown keys are errors at any depth (a typo fails at once instead of silently
training the default), values are converted and range-checked by pydantic, and
``radimpress recipes --options KIND`` prints the descriptions written here.
Nothing here imports torch, so the command line can read and check a recipe
before it decides to load a model.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Options(BaseModel):
    """Strict about keys (unknown ones are errors), lenient about "3e-4" for a float."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class TrainOptions(Options):
    epochs: float = Field(
        3.0, ge=0, description="passes over the training pairs (0 with max_steps 0: no training)"
    )
    max_steps: int = Field(0, ge=0, description="optimizer steps; 0 = from epochs")
    batch_size: int = Field(
        16, ge=1, description="pairs per micro-batch and process (grad_accum of them a step)"
    )
    grad_accum: int = Field(1, ge=1, description="micro-batches accumulated per optimizer step")
    lr: float = Field(1e-3, ge=0, description="peak learning rate")
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(
        0.05, ge=0, le=1, description="share of steps warming up the learning rate"
    )
    schedule: Literal["cosine", "linear", "constant"] = "cosine"
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="bf16 = autocast (GPU, or CPUs with bf16 units)"
    )
    max_grad_norm: float = Field(1.0, ge=0, description="gradient clipping; 0 = off")
    max_source_tokens: int = Field(
        512, ge=8, description="prompt tokens kept (causal: the end, where the findings are)"
    )
    max_target_tokens: int = Field(128, ge=2, description="impression tokens trained on")
    eval_every: int = Field(
        0, ge=0, description="optimizer steps between validation ROUGE-L; 0 = once per epoch"
    )
    eval_samples: int = Field(64, ge=0, description="validation reports drafted for ROUGE-L")
    patience: int = Field(
        0, ge=0, description="evaluations without improvement before stopping; 0 = never early"
    )
    save_every: int = Field(
        0, ge=0, description="optimizer steps between checkpoints; 0 = only at evaluations"
    )
    max_minutes: float = Field(
        0.0, ge=0, description="wall-clock budget (a checkpoint is kept); 0 = none"
    )
    stop_after: int = Field(0, ge=0, description="pause after this many steps (--resume continues)")
    vocab_shortlist: bool = Field(
        False,
        description="causal models: softmax over the tokens of the training impressions only, "
        "in training and generation (cuts the output projection of a 262k vocabulary)",
    )
    group_by_length: bool = Field(
        False,
        description="batches of pairs of similar token length (transformers' length-grouped "
        "order: shuffled megabatches of 50 batches, each sorted by length): less compute on "
        "padding",
    )
    seed: int = 13
    log_every: int = Field(10, ge=1, description="steps between loss updates on the progress bar")

    @property
    def trains(self) -> bool:
        """False for an in-context recipe: a pre-trained model used as it is."""
        return self.epochs > 0 or self.max_steps > 0


# The decoding options a caller may override per request (Drafter, serve, generate).
DECODING_OPTIONS = frozenset({"num_beams", "max_new_tokens", "length_penalty", "mbr"})


class GenerationOptions(Options):
    num_beams: int = Field(4, ge=1, le=16, description="beam width; 1 = greedy")
    max_new_tokens: int = Field(96, ge=1, description="longest impression, in tokens")
    length_penalty: float = 1.0
    no_repeat_ngram_size: int = Field(0, ge=0)
    do_sample: bool = False
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    batch_size: int = Field(16, ge=1, description="reports per generate call")
    seed: int = 13
    mbr: bool = Field(
        False, description="choose by minimum Bayes risk (ROUGE-L) among beams + neighbours"
    )
    mbr_neighbours: int = Field(4, ge=0, description="retrieved impressions added to the MBR pool")
    progress: bool = Field(True, description="show a progress bar while generating")
    prompt_lookup: bool = Field(
        True,
        description="greedy drafts on a CPU through a causal CTranslate2 copy: check the words "
        "that followed the prompt's last words earlier in the prompt in one pass "
        "(models/prompt_lookup.py)",
    )

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


class LoraOptions(Options):
    enabled: bool = False
    r: int = Field(16, ge=1, description="adapter rank")
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: list[str] | str | None = Field(
        None, description="None = peft's default for the architecture"
    )
    quantize: Literal["none", "4bit", "8bit"] = Field(
        "none", description="QLoRA: needs CUDA and bitsandbytes"
    )
    merge_on_save: bool = Field(
        True, description="False keeps an adapter that references the base model"
    )
    top_layers: int = Field(
        0,
        ge=0,
        description="adapt only the last N transformer layers (gradients then stop there: "
        "cheaper steps on CPU); 0 = every layer",
    )


class ScratchOptions(Options):
    size: str = Field("t5-mini", description="a shape from radimpress.models.scratch.SIZES")
    vocab_size: int = Field(8000, ge=64, description="tokenizer learnt from the training reports")
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="config fields, e.g. num_layers"
    )


class PromptOptions(Options):
    """How findings (and optional context) become the model's input text."""

    instruction: str = "Generate radiology report impressions based on the following findings."
    include_exam: bool = Field(True, description='add "Exam: ..." when the report names one')
    include_indication: bool = Field(True, description='add "Indication: ..." when present')
    icl_k: int = Field(
        0, ge=0, description="in-context examples (full findings + impression pairs)"
    )
    rag_k: int = Field(0, ge=0, description="neighbours' impressions only")
    rag_after_examples: bool = Field(
        False,
        description="the neighbours' impressions start after the in-context examples' reports "
        "(else the nearest ones are shown twice: as an example and as a neighbour)",
    )
    max_context_chars: int = Field(
        600, ge=0, description="per retrieved text: keeps prompts bounded"
    )
    abnormal_hint: bool = Field(
        False,
        description='add "Abnormal: ..." after the findings: their sentences that assert an '
        'abnormal finding, or "none" (Open-i: no gain, BENCHMARKS.md Gemma note 25)',
    )
    answer_prefix: str = "Impression:"

    @property
    def needs_index(self) -> bool:
        return self.icl_k > 0 or self.rag_k > 0


RETRIEVER_NAMES = ("words", "chars", "context")


class RerankOptions(Options):
    k: int = Field(20, ge=1, description="neighbours per retriever")
    n_frequent: int = Field(
        10, ge=0, description="most frequent training impressions added as candidates"
    )
    retrievers: list[Literal["words", "chars", "context"]] = Field(
        default_factory=lambda: list(RETRIEVER_NAMES), min_length=1
    )
    use_priors: bool = Field(True, description="exam/comparison-conditioned impression frequencies")
    token_ridge: float | None = Field(
        0.3, description="ridge of the word-probability model; None = off"
    )
    edit: bool = Field(
        True, description="learned edit: an abnormal findings sentence before a normal impression"
    )
    edit_margin: float = 0.05
    # 150 iterations at 0.1 and 3 folds train in 36 s instead of 62 s (300 at 0.05,
    # 5 folds) with the same Open-i ROUGE-L (validation 70.06 vs 69.83, test
    # 69.02 vs 69.25); BENCHMARKS.md "Under load" has why the time matters.
    max_iter: int = Field(150, ge=1, description="boosting iterations of the scorer")
    learning_rate: float = Field(0.1, gt=0)
    max_leaf_nodes: int = Field(31, ge=2)
    oof_folds: int = Field(
        3, ge=2, description="folds of the out-of-fold scores the edit and the hybrid learn from"
    )
    seed: int = 13


class ChoiceOptions(Options):
    """How the hybrid recipe chooses among retrieved and generated candidates."""

    top_k: int = Field(8, ge=1, description="best retrieved impressions offered to the scorer")
    beams: int = Field(4, ge=0, description="the generator's candidates (beam search); 0 = none")
    extractive: bool = Field(
        True, description="also offer the findings' own abnormal sentences as candidates"
    )
    safety_features: bool = Field(
        True, description="safety warnings of each candidate are scorer features"
    )
    stock_phrases: int = Field(
        2,
        ge=0,
        description="the stock-phrase classifier's most likely impressions added to the pool; "
        "0 turns the classifier (and its features) off",
    )
    stock_min_count: int = Field(
        5, ge=2, description="training pairs an impression needs to be a stock phrase"
    )
    # "regret" by default: what models saved before "lambdarank" existed were trained with, so
    # their recipes still read true; the hybrid recipe asks for lambdarank.
    objective: Literal["lambdarank", "regret"] = Field(
        "regret",
        description="lambdarank: learn the order of each report's candidates (LightGBM); "
        "regret: regress each candidate's ROUGE-L below its pool's best (scikit-learn)",
    )
    relevance_levels: int = Field(
        30, ge=1, description="lambdarank: grades a candidate's regret is cut into"
    )
    truncation: int = Field(
        3, ge=1, description="lambdarank: the top places whose order the loss weighs"
    )
    max_iter: int = Field(400, ge=1, description="boosting iterations of the scorer")
    learning_rate: float = Field(0.05, gt=0)
    max_leaf_nodes: int = Field(31, ge=2)
    min_samples_leaf: int = Field(20, ge=1)
    seed: int = 13


class RetrievalOptions(Options):
    consensus_k: int = Field(
        1, ge=1, description="choose among the top k neighbours by agreement (1 = nearest)"
    )
    ngram_max: int = Field(2, ge=1, description="longest word n-gram in the TF-IDF index")


class ConstantOptions(Options):
    """The constant baseline has nothing to set."""


class NeuralOptions(Options):
    """A transformers model: where it starts from, what it reads, how it trains and decodes."""

    base: str | None = Field(
        None, description="hub id, local folder, .gguf file or built-in name (gemma3-270m)"
    )
    base_dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    scratch: ScratchOptions | None = Field(
        None, description="train a new model of this shape instead of a base"
    )
    prompt: PromptOptions = Field(default_factory=PromptOptions)
    train: TrainOptions = Field(default_factory=TrainOptions)
    generation: GenerationOptions = Field(default_factory=GenerationOptions)
    lora: LoraOptions = Field(default_factory=LoraOptions)

    @model_validator(mode="after")
    def _base_or_scratch(self) -> NeuralOptions:
        if not self.base and not self.scratch:
            raise ValueError("give a base model (hub id, folder, .gguf) or a scratch size")
        return self
