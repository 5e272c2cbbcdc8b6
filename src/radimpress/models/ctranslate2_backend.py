"""The fast CPU backend: a trained neural model drafting through its CTranslate2 copy.

`radimpress export` (`radimpress.models.ctranslate2_export`) writes the copy;
`attach` makes a loaded model draft through it. Decoding options mean the
same as on transformers: beam width and candidates, ``max_new_tokens`` as
the number of generated tokens, the length penalty, stopping at EOS (and,
for causal models, at the first token that contains a newline: the same ids
the transformers path stops on), so a greedy draft is the same text on both
backends up to float rounding. With a vocabulary shortlist, a seq2seq copy
decodes through its vocabulary map and a causal copy over its kept rows (prompt
tokens outside them are spelled with kept pieces, the results are mapped back to
the tokenizer's ids, and a draft that misspells such a word is drafted again by
the whole-vocabulary copy beside it).

Nothing here imports torch or transformers' model classes: the tokenizer is
loaded as a plain fast tokenizer. Importing torch took 1.4-1.9 s and about
280 MB of every process that drafts through a copy (each CLI call, `serve`,
each Ray actor), which never runs a torch operation.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
from transformers import PreTrainedTokenizerFast

from radimpress.models.backends import EXPORT_DIR
from radimpress.models.neural import NeuralImpressionModel
from radimpress.models.options import GenerationOptions
from radimpress.models.prompt_lookup import checked, guess_from_prompt
from radimpress.models.prompts import FINDINGS_LABEL
from radimpress.threads import resolve_threads

TOKENIZER_DIR = "tokenizer"
KEPT_IDS = "kept_ids.json"
# A causal shortlist copy's whole-vocabulary sibling: drafts again what the copy misspelt
WHOLE_DIR = "whole-vocabulary"
STOP_IDS = "stop_ids.json"  # causal copies: the ids generation stops on, found at export
VMAP = "vmap.txt"
# The largest output vocabulary prompt lookup runs with (see CausalRunner.can_look_up).
LOOKUP_MAX_VOCABULARY = 32_768


# -- generation --------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z]+")


def misspelt(draft: str, prompt: str, unwritable: set[str]) -> bool:
    """Whether the draft writes a word the prompt does not have (in its spelling, or in lower
    case, capitalised or upper case) that begins like one of the prompt's ``unwritable``
    words: "Intiminal" and "StaNford" for "Intimal" and "Stanford". A word of the model's own
    ("Cardiomegaly" over findings of an enlarged heart) is not one."""
    said = set(_WORD.findall(prompt))
    lower = {w.lower() for w in said}
    starts = {w[:3].lower() for w in unwritable}
    return any(
        w not in said
        and not (w.lower() in lower and (w.islower() or w.istitle() or w.isupper()))
        and w[:3].lower() in starts
        for w in _WORD.findall(draft)
    )


def attach(model: NeuralImpressionModel, model_dir: Path, export_record: dict[str, Any]) -> None:
    """Make ``model`` draft with the CTranslate2 copy in its folder (no transformers weights load)."""
    folder = Path(model_dir) / export_record.get("path", EXPORT_DIR)
    model.tokenizer = load_tokenizer(folder / TOKENIZER_DIR)
    model._prepare_tokenizer()
    runner_class = Seq2SeqRunner if model.kind == "seq2seq" else CausalRunner
    model.fast = runner_class(model, folder, export_record)


# tokenizer_config.json keys that say where the tokenizer came from or which class saved it,
# not how it encodes (the added tokens are in tokenizer.json itself)
_NOT_INIT_KEYS = frozenset(
    {"tokenizer_class", "auto_map", "added_tokens_decoder", "is_local", "local_files_only",
     "backend", "name_or_path", "tokenizer_file"}
)  # fmt: skip


def load_tokenizer(folder: Path) -> Any:
    """The copy's tokenizer, built from its ``tokenizer.json`` and ``tokenizer_config.json``.

    Why not `AutoTokenizer.from_pretrained`: it imports torch (to read the model's config),
    and, like `PreTrainedTokenizerFast.from_pretrained`, it parses the whole tokenizer.json
    in Python for its added tokens, which the tokenizers library reads again: for Gemma's
    262k-token vocabulary 3.1 s and about 400 MB that stay with the process, against 1.35 s
    this way, with the same ids on 300 Open-i findings, the same special tokens and the same
    vocabulary. A tokenizer saved without tokenizer.json (a vocabulary file only) goes
    through `AutoTokenizer`, which can build one.
    """
    file = folder / "tokenizer.json"
    if not file.exists():
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(folder))
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    kwargs = {k: v for k, v in config.items() if k not in _NOT_INIT_KEYS}
    return PreTrainedTokenizerFast(tokenizer_file=str(file), **kwargs)


class _Runner:
    """What both CTranslate2 runners share: the engine's threads and its options for a batch.

    On a CPU the engine runs one replica per thread, each on one core, and each call carries
    several batches (`batches_per_call`) that the engine sorts by length and hands to the
    replicas as they come free. Why not one replica on all the threads: a batch of 16 reports
    at beam 4 is too small to split across cores. Why several batches a call: with one batch per
    replica, the replica that draws the shorter batch waits for the other. Measured on a 2-core
    AMX machine (T5, int8, 200 reports, beam 4, batches of 16): one replica took 1.6 s on 2
    threads and 1.3 s on 1 thread (the second thread slowed it); two replicas of 1 thread took
    0.88 s with one batch each per call, 0.76 with 2, 0.68 with 4, 0.62 with 8; the drafts were
    the same in every setting. A GPU keeps one replica and one batch a call: a large batch
    fills it.
    """

    def __init__(self, model: NeuralImpressionModel, folder: Path, record: dict[str, Any]) -> None:
        self.model = model
        self.folder = folder
        self.record = record
        self.shortlist = bool(record.get("shortlist"))
        self.device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        threads = resolve_threads()
        replicas = threads if self.device == "cpu" else 1
        self.engine_threads = {"intra_threads": threads // replicas, "inter_threads": replicas}
        self.replicas = replicas
        self.batches_per_call = 4 * replicas if replicas > 1 else 1

    def decoding(self, n: int, g: GenerationOptions, reports: int) -> dict[str, Any]:
        kwargs = g.generate_kwargs(n)
        out: dict[str, Any] = {
            "beam_size": kwargs["num_beams"],
            "num_hypotheses": n,
            "length_penalty": g.length_penalty,
            "no_repeat_ngram_size": g.no_repeat_ngram_size,
            # A call holds `batches_per_call` batches (see _batch_plan) and the engine splits it;
            # a smaller call (the server's micro-batch of a few reports) is split so that every
            # replica gets a share.
            "max_batch_size": self.sub_batch(g, reports),
        }
        if g.do_sample:
            ctranslate2.set_random_seed(g.seed)
            out.update(sampling_topk=0, sampling_topp=g.top_p, sampling_temperature=g.temperature)
        return out

    def sub_batch(self, g: GenerationOptions, reports: int) -> int:
        """Reports the engine decodes together: the recipe's batch, or a fair share of a call."""
        return max(1, min(g.batch_size, -(-reports // self.replicas)))


class Seq2SeqRunner(_Runner):
    def __init__(self, model: NeuralImpressionModel, folder: Path, record: dict[str, Any]) -> None:
        super().__init__(model, folder, record)
        self.engine = ctranslate2.Translator(str(folder), device=self.device, **self.engine_threads)
        self.use_vmap = self.shortlist and (folder / VMAP).exists()

    def generate_batch(
        self, prompts: Sequence[str], n: int, g: GenerationOptions
    ) -> list[list[str]]:
        tok = self.model.tokenizer
        ids = tok(
            list(prompts), max_length=self.model.train_options.max_source_tokens, truncation=True
        )["input_ids"]
        results = self.engine.translate_batch(
            [tok.convert_ids_to_tokens(s) for s in ids],
            max_decoding_length=g.max_new_tokens,
            min_decoding_length=0,
            max_input_length=0,
            use_vmap=self.use_vmap,
            **self.decoding(n, g, len(prompts)),
        )
        return [
            tok.batch_decode(
                [tok.convert_tokens_to_ids(h) for h in r.hypotheses], skip_special_tokens=True
            )
            for r in results
        ]


class CausalRunner(_Runner):
    """A decoder-only model's CTranslate2 copy.

    On a CPU it decodes one prompt at a time per replica. Why: in a batch, the engine runs the
    prompts' common length in one pass and each longer prompt's remaining tokens one step at a
    time, as decoding steps of the whole batch; Open-i prompts of the Gemma recipe range from
    about 140 to 270 tokens. Measured on a 2-core AMX machine (its int8 copy, 1 thread): 10
    reports with 3 candidates (the safe selection's pool) took 3.7 s one at a time and 17.6 s as
    two batches of 5; greedily, 96 reports on 2 replicas took 13.4-14.0 s one at a time against
    15.9-16.2 s in batches of 8.
    """

    def __init__(self, model: NeuralImpressionModel, folder: Path, record: dict[str, Any]) -> None:
        super().__init__(model, folder, record)
        self.engine = ctranslate2.Generator(str(folder), device=self.device, **self.engine_threads)
        tok = model.tokenizer
        kept_file = folder / KEPT_IDS
        self.kept: list[int] | None = (
            json.loads(kept_file.read_text()) if kept_file.exists() else None
        )
        if self.kept is not None:
            self.new_id = {old: new for new, old in enumerate(self.kept)}
            self.kept_tokens = dict(
                zip(tok.convert_ids_to_tokens(self.kept), self.kept, strict=True)
            )
        self.respelled = 0
        stop_file = folder / STOP_IDS
        if stop_file.exists():  # copies exported before it was saved find them at load
            model.use_stop_token_ids(json.loads(stop_file.read_text()))
        stops = model.stop_token_ids()
        self.stops = [self.new_id[i] for i in stops if i in self.new_id] if self.kept else stops
        self.stop_ids = frozenset(stops)
        self.lookup_counts: Counter = Counter()  # what prompt lookup saved (see `greedy`)
        self.lookup_limit = float("inf")  # longest prompt + guess one pass has scored
        # Prompt lookup scores every position of prompt + guess over the whole output
        # vocabulary: for Gemma's 262k tokens that costs twice the rest of the model, for the
        # shortlist copy's 4k about 3 % (by multiply-adds). A GPU decodes in batches, and
        # lookup was not measured there.
        vocabulary = len(self.kept) if self.kept is not None else len(tok)
        self.can_look_up = self.device == "cpu" and vocabulary <= LOOKUP_MAX_VOCABULARY
        self.has_whole = self.kept is not None and (folder / WHOLE_DIR).is_dir()
        self._whole: CausalRunner | None = None
        self.drafted_whole = 0  # prompts the whole-vocabulary copy drafted

    def whole(self) -> CausalRunner:
        """The whole-vocabulary copy, loaded at the first prompt that needs it."""
        if self._whole is None:
            self._whole = CausalRunner(self.model, self.folder / WHOLE_DIR, {})
        return self._whole

    def sub_batch(self, g: GenerationOptions, reports: int) -> int:
        return 1 if self.device == "cpu" else super().sub_batch(g, reports)

    def generate_batch(
        self, prompts: Sequence[str], n: int, g: GenerationOptions
    ) -> list[list[str]]:
        tok = self.model.tokenizer
        found = self.draft_ids(prompts, n, g)
        out = []
        for seqs in found:
            texts = tok.batch_decode(seqs, skip_special_tokens=True)
            out.append([t.split("\n")[0].strip() for t in texts])
        return out

    def draft_ids(
        self, prompts: Sequence[str], n: int, g: GenerationOptions
    ) -> list[list[list[int]]]:
        """Each prompt's drafts as tokenizer ids.

        A shortlist copy can write only its kept tokens, and spells a prompt word outside
        them with kept pieces. Where a draft then misspells such a word of the report's
        findings ("Intiminal flap ... StaNford type A" for a CT report's "Intimal flap ...
        Stanford type A", the copy made from chest radiographs; "magnifid" in Open-i), the
        report is drafted again by the whole-vocabulary copy, which writes every token. Why
        not every report with such a word: the whole-vocabulary copy takes about a second a
        draft on one core (2.7x the multiply-adds a token, and no guess from the prompt), and
        36 of Open-i's 297 test reports have one; redrafting every draft with a word the
        prompt lacks took 8 s for 8 reports, 6 of them legitimate words ("Cardiomegaly").
        """
        ids = self.model.prompt_ids(prompts)
        if self.kept is None:
            return self.draft_kept(ids, n, g)
        found = self.draft_kept([self.respell(s) for s in ids], n, g)
        if not self.has_whole:  # copies exported before the whole-vocabulary sibling
            return found
        tok = self.model.tokenizer
        redo = []
        for k, prompt in enumerate(prompts):
            unwritable = self.unwritable_words(prompt)
            drafts = tok.batch_decode(found[k], skip_special_tokens=True) if unwritable else []
            if any(misspelt(d, prompt, unwritable) for d in drafts):
                redo.append(k)
        if redo:
            self.drafted_whole += len(redo)
            redrafted = self.whole().draft_kept([ids[k] for k in redo], n, g)
            for k, seqs in zip(redo, redrafted, strict=True):
                found[k] = seqs
        return found

    def unwritable_words(self, prompt: str) -> set[str]:
        """The words of the report's own findings (the prompt from its last findings line on)
        with a token this copy cannot write; the whole prompt's if it has no findings line."""
        words = sorted(set(_WORD.findall(prompt[max(prompt.rfind(FINDINGS_LABEL), 0) :])))
        if not words:
            return set()
        encoded = self.model.tokenizer([" " + w for w in words], add_special_tokens=False)
        return {
            w
            for w, ids in zip(words, encoded["input_ids"], strict=True)
            if not all(i in self.new_id for i in ids)
        }

    def draft_kept(
        self, ids: list[list[int]], n: int, g: GenerationOptions
    ) -> list[list[list[int]]]:
        """Drafts of prompts this copy can read, as tokenizer ids."""
        tok = self.model.tokenizer
        if self.looks_up(n, g):
            with ThreadPoolExecutor(self.replicas) as pool:
                drafted = list(pool.map(partial(self.greedy, g=g), ids))
            found = [[seq] for seq, _ in drafted]
            for _, counts in drafted:
                self.lookup_counts.update(counts)
        else:
            results = self.engine.generate_batch(
                [tok.convert_ids_to_tokens(s) for s in ids],
                max_length=g.max_new_tokens,
                include_prompt_in_result=False,
                end_token=self.stops,
                **self.decoding(n, g, len(ids)),
            )
            found = [[self.tokenizer_ids(s) for s in r.sequences_ids] for r in results]
        return found

    def tokenizer_ids(self, engine_ids: Sequence[int]) -> list[int]:
        """The engine's ids as the tokenizer's (a shortlist copy numbers its kept rows)."""
        return [self.kept[i] for i in engine_ids] if self.kept is not None else list(engine_ids)

    def looks_up(self, n: int, g: GenerationOptions) -> bool:
        """Whether this call's drafts check a guess from the prompt first (`greedy`): greedy,
        one candidate, no n-gram ban (one pass cannot apply it), on a copy that can."""
        return (
            self.can_look_up
            and g.prompt_lookup
            and n == 1
            and g.num_beams == 1
            and not g.do_sample
            and g.no_repeat_ngram_size == 0
        )

    def greedy(self, ids: list[int], g: GenerationOptions) -> tuple[list[int], Counter]:
        """One prompt's greedy draft, its guess from the prompt checked in one pass first,
        with what the guess saved: tokens guessed, kept, and whether decoding had to go on."""
        tok = self.model.tokenizer
        guess = guess_from_prompt(ids, self.stop_ids, g.max_new_tokens)
        logits = None
        if len(ids) + len(guess) <= self.lookup_limit:
            try:
                logits = self.engine.forward_batch([tok.convert_ids_to_tokens(ids + guess)])
            except ValueError:
                # One pass scores at most the model's attention window (Gemma 3's sliding
                # window: 512 tokens), where decoding step by step goes past it.
                self.lookup_limit = min(self.lookup_limit, len(ids) + len(guess) - 1)
        if logits is None:
            return self.decode_on(ids, [], g), Counter(prompts=1, too_long=1)
        choices = self.tokenizer_ids(np.asarray(logits)[0, len(ids) - 1 :].argmax(-1).tolist())
        out, kept, decode_on = checked(guess, choices, self.stop_ids, g.max_new_tokens)
        counts = Counter(prompts=1, guessed=len(guess), kept=kept, decoded_on=int(decode_on))
        return (self.decode_on(ids, out, g) if decode_on else out), counts

    def decode_on(self, ids: list[int], out: list[int], g: GenerationOptions) -> list[int]:
        """``out`` and what greedy decoding writes after prompt + ``out``."""
        rest = self.engine.generate_batch(
            [self.model.tokenizer.convert_ids_to_tokens(ids + out)],
            max_length=g.max_new_tokens - len(out),
            include_prompt_in_result=False,
            end_token=self.stops,
            beam_size=1,
        )[0]
        return out + self.tokenizer_ids(rest.sequences_ids[0])

    def respell(self, ids: list[int]) -> list[int]:
        """Prompt ids with every token outside the kept vocabulary spelled with kept pieces."""
        out: list[int] = []
        tok = self.model.tokenizer
        for i in ids:
            if i in self.new_id:
                out.append(i)
                continue
            self.respelled += 1
            out += self._pieces(tok.convert_ids_to_tokens(i))
        return out

    def _pieces(self, token: str) -> list[int]:
        """Longest kept prefixes, left to right; a character no kept token starts with is unknown."""
        pieces, rest = [], token
        unk = self.model.tokenizer.unk_token_id
        while rest:
            for end in range(len(rest), 0, -1):
                if rest[:end] in self.kept_tokens:
                    pieces.append(self.kept_tokens[rest[:end]])
                    rest = rest[end:]
                    break
            else:
                pieces.extend(self._bytes(rest[0]) or [unk])
                rest = rest[1:]
        return pieces

    def _bytes(self, char: str) -> list[int]:
        ids = [self.kept_tokens.get(f"<0x{b:02X}>") for b in char.encode("utf-8")]
        return [i for i in ids if i is not None] if all(i is not None for i in ids) else []
