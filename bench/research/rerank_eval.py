"""Probe: learned reranker vs retrieval baselines on the Open-i split.

    OMP_NUM_THREADS=1 .venv/bin/python bench/research/rerank_eval.py [--k 20] [--n-frequent 10]

Prints ROUGE on validation and test for nearest neighbour, consensus top-3/5,
the oracle best of the candidate pool, and the reranker, with train time and
generation speed. Choices are made on validation; test is reported only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import openi_reports, rouge, split  # noqa: E402

from radimpress.models.baselines import RetrievalModel  # noqa: E402
from radimpress.models.rerank import RerankModel  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--n-frequent", type=int, default=10)
    ap.add_argument("--max-iter", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--leaves", type=int, default=31)
    ap.add_argument("--baselines", action="store_true")
    args = ap.parse_args()

    train, val, test = split(openi_reports())
    results = {}
    if args.baselines:
        for ck in (1, 3, 5):
            m = RetrievalModel(consensus_k=ck)
            m.fit(train)
            for name, rs in (("val", val), ("test", test)):
                preds = [c[0] for c in m.generate(rs)]
                results[f"retrieval_k{ck}/{name}"] = rouge(preds, [r.impression for r in rs])

    m = RerankModel(
        k=args.k,
        n_frequent=args.n_frequent,
        max_iter=args.max_iter,
        learning_rate=args.lr,
        max_leaf_nodes=args.leaves,
    )
    t0 = time.perf_counter()
    info = m.fit(train)
    train_s = time.perf_counter() - t0
    for name, rs in (("val", val), ("test", test)):
        t0 = time.perf_counter()
        ranked = m.rank(rs)
        gen_s = time.perf_counter() - t0
        refs = [r.impression for r in rs]
        preds = [m.bank.text[rk[0][0]] for rk in ranked]
        results[f"rerank/{name}"] = {
            **rouge(preds, refs),
            "reports_per_s": round(len(rs) / gen_s, 1),
        }
        from radimpress.models.features import rouge_l_f, rouge_tokens

        oracle = []
        for rk, ref in zip(ranked, refs, strict=True):
            rt = rouge_tokens(ref)
            oracle.append(max(rk, key=lambda cs: rouge_l_f(m.bank.tokens[cs[0]], rt))[0])
        results[f"oracle_pool/{name}"] = rouge([m.bank.text[c] for c in oracle], refs)
    print(json.dumps({"args": vars(args), "train_s": round(train_s, 1), **info}, indent=None))
    for k, v in results.items():
        print(f"{k:24s} {v}")


if __name__ == "__main__":
    main()
