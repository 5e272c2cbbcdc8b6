"""Probe: reranker variants, scored by 5-fold CV on the leave-one-out training table.

    OMP_NUM_THREADS=1 .venv/bin/python bench/research/rerank_cv.py [--retrievers words chars context]
        [--no-priors] [--drop PREFIX ...] [--k 20] [--test]

Validation has only ~300 reports (one ROUGE-L point is within its noise), so
choices are made on CV over the 2,400 training queries (each one scored
leave-one-out, as an unseen report would be) and confirmed on validation.
Baselines on the same split are printed for comparison. --test also scores the
test split (report only, never choose on it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).parent))
from common import dataset_split, openi_reports, rouge, split  # noqa: E402

from radimpress.models.baselines import RetrievalModel  # noqa: E402
from radimpress.models.rerank import RerankModel, group_mean  # noqa: E402


def chosen_scores(pred: np.ndarray, y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    out = np.zeros(groups.max() + 1)
    for q in np.unique(groups):
        s = np.flatnonzero(groups == q)
        out[q] = y[s[np.argmax(pred[s])]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--retrievers", nargs="+", default=["words", "chars", "context"])
    ap.add_argument("--no-priors", action="store_true")
    ap.add_argument("--token-ridge", type=float, default=0.3, help="0 disables the token predictor")
    ap.add_argument("--drop", nargs="*", default=[], help="drop features whose name contains this")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--n-frequent", type=int, default=10)
    ap.add_argument("--max-iter", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--leaves", type=int, default=31)
    ap.add_argument("--baselines", action="store_true")
    ap.add_argument("--test", action="store_true")
    ap.add_argument(
        "--uid-split",
        action="store_true",
        help="use the older uid-shuffle split (robustness check)",
    )
    ap.add_argument("--no-edit", action="store_true", help="skip the prefix editor stage")
    args = ap.parse_args()

    train, val, test = split(openi_reports()) if args.uid_split else dataset_split()
    m = RerankModel(
        k=args.k,
        n_frequent=args.n_frequent,
        retrievers=args.retrievers,
        use_priors=not args.no_priors,
        token_ridge=args.token_ridge or None,
        edit=not args.no_edit,
        max_iter=args.max_iter,
        learning_rate=args.lr,
        max_leaf_nodes=args.leaves,
    )
    t0 = time.perf_counter()
    m.prepare(train)
    x, y, g, cand_lists = m.training_table(train)
    table_s = time.perf_counter() - t0
    keep = [i for i, f in enumerate(m.features) if not any(d in f for d in args.drop)]
    x = x[:, keep]
    pred = np.zeros(len(y))
    for a, b in GroupKFold(5).split(x, y, g):
        reg = m.new_regressor().fit(
            x[a], y[a] - group_mean(y[a], np.unique(g[a], return_inverse=True)[1])
        )
        pred[b] = reg.predict(x[b])
    cv = chosen_scores(pred, y, g)
    oracle = chosen_scores(y, y, g)
    t0 = time.perf_counter()
    m.regressor = m.new_regressor().fit(x, y - group_mean(y, g))
    if m.options.edit:
        res_edit = m.fit_editor(train, x, y, g, cand_lists)
    fit_s = time.perf_counter() - t0
    res = {
        "cv_rougeL": round(100 * cv.mean(), 2),
        "cv_oracle": round(100 * oracle.mean(), 2),
        "table_s": round(table_s, 1),
        "fit_s": round(fit_s, 1),
        "features": len(keep),
        **(res_edit if m.options.edit else {}),
    }
    # Inference with the dropped features masked the same way.
    full_predict = m.regressor.predict
    m.regressor.predict = lambda xx: full_predict(xx[:, keep])  # type: ignore[method-assign]
    splits = [("val", val)] + ([("test", test)] if args.test else [])
    for name, rs in splits:
        t0 = time.perf_counter()
        preds = [c[0] for c in m.generate(rs)]
        rate = len(rs) / (time.perf_counter() - t0)
        res[name] = {**rouge(preds, [r.impression for r in rs]), "reports_per_s": round(rate, 1)}
        if m.editor is not None:
            editor, m.editor = m.editor, None
            res[f"{name}_noedit"] = rouge(
                [c[0] for c in m.generate(rs)], [r.impression for r in rs]
            )
            m.editor = editor
    if args.baselines:
        for ck in (1, 3, 5):
            b = RetrievalModel(consensus_k=ck)
            b.fit(train)
            for name, rs in splits:
                res[f"retrieval_k{ck}/{name}"] = rouge(
                    [c[0] for c in b.generate(rs)], [r.impression for r in rs]
                )
    print(json.dumps({"args": vars(args), **res}))


if __name__ == "__main__":
    main()
