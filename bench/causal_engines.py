"""Where a fine-tuned causal model's CPU drafting time goes, and CTranslate2 against llama.cpp.

    .venv/bin/python bench/causal_engines.py --model runs/recipe [--reports 297] [--threads 2]
        [--batches 1,4,8,16] [--gguf model-q8_0.gguf]

MODEL is a causal model folder from `radimpress train` with its CTranslate2 copy
(`radimpress export`). On the first REPORTS test reports of the Open-i split
(bench/quality.py's data), greedily, the same prompt token ids for every engine:

1. CTranslate2 as `generate` runs it (one prompt at a time per replica on a CPU),
   and the same prompts with one new token only: the prompt's share of the time.
2. CTranslate2 with batches of each size in ``--batches`` (prompts sorted by length):
   batching amortises the decoding steps, but the engine runs each longer prompt's
   extra tokens as decoding steps of the whole batch.
3. llama.cpp (llama-cpp-python) on a GGUF copy of the same merged weights, when
   ``--gguf`` is given. Why measure it: llama.cpp is the usual engine for GGUF
   causal models on a CPU, and issue 10 asked for it where it beats CTranslate2.
   Build and convert (no download; llama.cpp's converter is in the sdist)::

       CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VNNI=ON" \\
           pip install --no-build-isolation llama-cpp-python   # needs scikit-build-core
       python vendor/llama.cpp/convert_hf_to_gguf.py MODEL/model --outtype q8_0 \\
           --outfile model-q8_0.gguf                            # from the sdist

Prints one JSON line per measurement (reports/s of generation only; ROUGE-L of the
drafts against the radiologists' impressions, scored as `radimpress evaluate` scores; how
many drafts equal the first row's) and a Markdown table with the command, machine and date;
the Gemma notes quote it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks_md import ROOT, provenance  # noqa: E402
from quality import prepare_data  # noqa: E402
from radimpress.evaluate.rouge import rouge_scores  # noqa: E402
from radimpress.threads import configure_threads  # noqa: E402


def ctranslate2_rows(model, prompt_ids, batches: list[int]) -> list[tuple[str, float, list]]:
    """(setting, seconds, drafts' token ids) for each CTranslate2 setting."""
    runner, tok = model.fast, model.tokenizer
    tokens = [tok.convert_ids_to_tokens(runner.respell(ids)) for ids in prompt_ids]
    order = sorted(range(len(tokens)), key=lambda i: len(tokens[i]))

    def run(batch: int, new_tokens: int) -> tuple[float, list]:
        start = time.perf_counter()
        results = runner.engine.generate_batch(
            [tokens[i] for i in order],
            max_length=new_tokens,
            include_prompt_in_result=False,
            end_token=runner.stops,
            beam_size=1,
            max_batch_size=batch,
        )
        seconds = time.perf_counter() - start
        ids: list = [None] * len(tokens)
        for i, r in zip(order, results, strict=True):
            ids[i] = (
                [runner.kept[t] for t in r.sequences_ids[0]] if runner.kept else r.sequences_ids[0]
            )
        return seconds, ids

    run(1, 4)  # warm-up
    rows = []
    for batch in batches:
        seconds, ids = run(batch, 64)
        rows.append((f"CTranslate2, batches of {batch}", seconds, ids))
        if batch == 1:
            prompt_s, _ = run(1, 1)
            rows.append(("CTranslate2, prompt only (1 new token)", prompt_s, None))
    return rows


def llama_cpp_row(gguf: Path, prompt_ids, stops: set[int], threads: int) -> tuple[str, float, list]:
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(gguf), n_ctx=1024, n_threads=threads, n_threads_batch=threads, verbose=False
    )

    def draft(ids: list[int]) -> list[int]:
        out: list[int] = []
        for t in llm.generate(ids, top_k=1, temp=0.0, reset=True):
            if t in stops or len(out) >= 64:
                break
            out.append(t)
        return out

    draft(prompt_ids[0])  # warm-up
    start = time.perf_counter()
    ids = [draft(p) for p in prompt_ids]
    return f"llama.cpp, {gguf.name}", time.perf_counter() - start, ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--gguf", type=Path, help="GGUF copy of the model's merged weights")
    ap.add_argument("--reports", type=int, default=297)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,4,8,16")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "bench-quality")
    args = ap.parse_args()
    configure_threads(args.threads)

    from radimpress.models.base import load_model
    from radimpress.records import read_reports

    data = prepare_data(args.work)
    reports = read_reports(data / "test.jsonl")[: args.reports]
    model = load_model(args.model, backend="ctranslate2")
    prompt_ids = model.prompt_ids(model.builder.prompts(reports))
    rows = ctranslate2_rows(model, prompt_ids, [int(b) for b in args.batches.split(",")])
    if args.gguf:
        rows.append(llama_cpp_row(args.gguf, prompt_ids, set(model.stop_token_ids()), args.threads))

    references = [r.impression or "" for r in reports]
    first = rows[0][2]
    table = [
        "| engine, setting | seconds | reports/s | ROUGE-L | drafts as the first row's |",
        "|---|---|---|---|---|",
    ]
    for name, seconds, ids in rows:
        result = {
            "setting": name,
            "seconds": round(seconds, 2),
            "reports_per_s": round(len(reports) / seconds, 2),
        }
        if ids is not None:
            drafts = [
                model.tokenizer.decode(i, skip_special_tokens=True).split("\n")[0].strip()
                for i in ids
            ]
            result["rougeL"] = round(
                100 * float(rouge_scores(drafts, references)["rougeL"].mean()), 2
            )
            result["same_as_first"] = sum(a == b for a, b in zip(ids, first, strict=True))
        print(json.dumps(result))
        table.append(
            f"| {name} | {result['seconds']} | {result['reports_per_s']} | "
            f"{result.get('rougeL', '')} | {result.get('same_as_first', '')} |"
        )
    print(f"\n{len(reports)} test reports, greedy, {args.threads} threads\n{provenance()}")
    print("\n".join(table))


if __name__ == "__main__":
    main()
