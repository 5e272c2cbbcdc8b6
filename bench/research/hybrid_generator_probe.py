"""Probe: the fine-tuned Gemma as the hybrid's generator (its beams in the pool, its
log-likelihood of every candidate among the features), against the hybrid without one.

    python bench/research/hybrid_generator_probe.py GEMMA_DIR DATA OUT.jsonl BEAMS ll|noll

GEMMA_DIR: a `gemma3-270m-lora` model folder with its CTranslate2 copy (`radimpress
export --quantization int8 --vocabulary-shortlist`), so that the generator is not trained
again; DATA: bench/quality.py's Open-i split. The choice is trained as the recipe trains it
(out-of-fold training pairs without the generator's features, the validation split with
them); OUT gets the test split's drafts for `radimpress evaluate`. Beams and scores come
from the CTranslate2 copy, one sequence at a time (CTranslate2 4.8.5's score_batch fails on
batches of Gemma 3 prompts, and on sequences past 512 tokens, so a long prompt loses its
start). Result (2026-12-02, BENCHMARKS.md quality note 10): 70.49 with likelihoods and
70.58 without, against the hybrid's 70.94; not adopted.
"""

# ruff: noqa: E402  (threads are set before the libraries load)
import json
import sys
import time

from radimpress.threads import configure_threads

configure_threads(2)

import numpy as np

import radimpress.models.training.hybrid as hybrid_training
from radimpress.models.base import load_model
from radimpress.models.recipes import parse_recipe, recipe_tree
from radimpress.models.training.data import TrainingData
from radimpress.records import read_reports

CT2_SCORING_LIMIT = 500  # tokens of prompt + candidate (see the docstring)


def ct2_scorer(gen):
    """The generator's log-likelihoods through its CTranslate2 copy (the hybrid's interface)."""
    runner, tok = gen.fast, gen.tokenizer

    def log_likelihoods(reports, candidates):
        prompts = gen.prompt_ids(gen.builder.prompts(reports))
        seqs, spans = [], []
        for prompt, cands in zip(prompts, candidates, strict=True):
            p = runner.respell(prompt)
            for c in gen.completion_ids([" ".join(x.split()) for x in cands]) if cands else []:
                c = runner.respell(c)[:200]
                room = CT2_SCORING_LIMIT - len(c)
                kept = p if len(p) <= room else p[:1] + p[len(p) - room + 1 :]
                seqs.append(tok.convert_ids_to_tokens(kept + c))
                spans.append(len(c))
        results = runner.engine.score_batch(seqs, max_batch_size=1) if seqs else []
        flat = [(float(sum(r.log_probs[-n:])), n) for r, n in zip(results, spans, strict=True)]
        out, k = [], 0
        for cands in candidates:
            out.append(flat[k : k + len(cands)])
            k += len(cands)
        return out

    return log_likelihoods


def main() -> None:
    gemma_dir, data_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]
    beams, likelihoods = int(sys.argv[4]), sys.argv[5] == "ll"
    gen = load_model(gemma_dir, backend="ctranslate2")
    gen.log_likelihoods = (
        ct2_scorer(gen)
        if likelihoods
        else (lambda reports, cands: [[(np.nan, 1) for _ in cs] for cs in cands])
    )

    class Trained:  # the generator step of the recipe, already done
        device = "cpu"
        metrics: dict = {}

        def run(self, *args, **kwargs):
            return gen

    hybrid_training.training_recipe = lambda *args, **kwargs: Trained()
    tree = recipe_tree("hybrid")
    tree["generator"] = {
        k: v for k, v in recipe_tree("gemma3-270m-lora").items() if k != "description"
    }
    tree["choice"]["beams"] = beams
    training = hybrid_training.HybridTraining(
        parse_recipe(tree, "probe"), TrainingData.from_folder(data_dir)
    )
    training.setup()
    start = time.perf_counter()
    metrics = training.train()
    choice = {k: v for k, v in metrics.items() if k.startswith("choice")}
    print("train", round(time.perf_counter() - start, 1), json.dumps(choice))
    test = read_reports(f"{data_dir}/test.jsonl")
    start = time.perf_counter()
    drafts = training.model.generate(test, 1)
    print("generate", round(time.perf_counter() - start, 1))
    with open(out, "w") as fh:
        for report, draft in zip(test, drafts, strict=True):
            fh.write(json.dumps({"id": report.id, "prediction": draft[0], "warnings": []}) + "\n")


if __name__ == "__main__":
    main()
