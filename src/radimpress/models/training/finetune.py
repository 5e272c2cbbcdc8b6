"""Recipe: fine-tune a transformers model (full or LoRA; seq2seq or causal) with one loop.

setup: accelerator, neighbour index for the prompts, the tokenizer (learnt
here, once, when the model starts from scratch), the network, the `Trainer`
(and the checkpoint to resume from). train: the loop. save: the folder.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.utils import set_seed
from transformers import AutoTokenizer

from radimpress.models.base import build_model, trainable
from radimpress.models.neural import NeuralImpressionModel
from radimpress.models.scratch import train_tokenizer
from radimpress.models.training.loop import Trainer
from radimpress.models.training.recipe import TrainingRecipe
from radimpress.records import InputError


def mixed_precision(requested: str) -> tuple[str, str | None]:
    """Accelerate's ``mixed_precision`` for a requested precision, and why it differs.

    bf16 autocast pays on a GPU or a CPU with bf16 units (AMX, avx512_bf16). On
    a CPU without them (AVX2 only, like the 2-core benchmark machine) oneDNN
    emulates bf16: one full fine-tuning step of Gemma 3 270M on 16 pairs ran
    past 8 minutes there. Such a machine trains in fp32 instead, and says so.
    """
    if requested != "bf16":
        return "no", None
    if torch.cuda.is_available() or _cpu_has_bf16():
        return "bf16", None
    return "no", "precision bf16 requested; this CPU has no bf16 units, so training runs in fp32"


def _cpu_has_bf16() -> bool:
    # torch's own oneDNN check (private; a torch without it is treated as "no bf16 units")
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class FineTuneRecipe(TrainingRecipe):
    model: NeuralImpressionModel

    @property
    def is_main_process(self) -> bool:
        return self.accelerator.is_main_process

    @property
    def device(self) -> str:
        return str(self.accelerator.device)

    def setup(self) -> None:
        start = time.perf_counter()
        opts = self.recipe.train  # type: ignore[attr-defined]
        # cpu=True when there is no GPU: under `accelerate launch --multi_gpu` this
        # gives DDP over gloo on CPU processes (`--cpu --num_processes N` runs one).
        precision, self.precision_note = mixed_precision(opts.precision)
        if self.precision_note:
            print(f"note: {self.precision_note}", file=sys.stderr)
        self.accelerator = Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=precision)
        self.work_dir = self._work_dir()
        set_seed(opts.seed)
        self.model = build_model(self.recipe)  # type: ignore[assignment]
        self.model.builder.fit([*self.data.index_extra, *self.data.train])
        self.model.build(self.tokenizer())
        self.model.fit_vocabulary(trainable(self.data.train))
        self.trainer = Trainer(
            self.model, self.accelerator, self.data.train, self.data.validation, self.work_dir
        )
        if self.resume:
            self.trainer.resume()
        self.seconds += time.perf_counter() - start

    def _work_dir(self) -> Path:
        if self.work_dir is None:
            if self.accelerator.num_processes > 1:
                raise InputError(
                    "training with several processes needs a shared work directory (--out)"
                )
            return Path(tempfile.mkdtemp(prefix="radimpress-train-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return self.work_dir

    def tokenizer(self) -> Any:
        """A model from scratch gets a tokenizer learnt from the training reports, here only.

        The main process learns it into the work dir (resume and the other
        processes reuse that file); a pre-trained base brings its own: None.
        """
        scratch = self.recipe.scratch  # type: ignore[attr-defined]
        if not scratch:
            return None
        folder = self.work_dir / "tokenizer"
        if self.accelerator.is_main_process and not (folder / "tokenizer.json").exists():
            texts = self.model.tokenizer_texts(trainable(self.data.train))
            train_tokenizer(
                texts, scratch.vocab_size, add_bos=self.model.scratch_adds_bos
            ).save_pretrained(folder)
        self.accelerator.wait_for_everyone()
        return AutoTokenizer.from_pretrained(str(folder))

    def train(self) -> dict[str, Any]:
        start = time.perf_counter()
        self.metrics = self.trainer.fit()
        self.metrics["precision"] = "bf16" if self.accelerator.mixed_precision == "bf16" else "fp32"
        if self.precision_note:
            self.metrics["precision_note"] = self.precision_note
        self.seconds += time.perf_counter() - start
        return self.metrics
