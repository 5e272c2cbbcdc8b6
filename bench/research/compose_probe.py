"""Probe: impression sentences looked up by the findings' labels, against the findings' own.

    python bench/research/compose_probe.py [DATA]

Why: the hybrid's extractive candidates restate the findings in the findings' words ("The
cardiac silhouette is enlarged."), where radiologists write impression words
("Cardiomegaly."). A candidate composed of training-impression sentences, each chosen as the
commonest sentence whose positive labels (radimpress's rule-based extractor) equal those of
one abnormal findings sentence, would say the same thing in the radiologists' words, and
could combine findings that no single neighbour's impression combined.

Result (2026-12-02, BENCHMARKS.md quality note 11): on the test split's 83 abnormal
references the composed candidate ("first sentence + the commonest normal sentence") scores
16.49 ROUGE-L against 24.03 for the extractive one built the same way, better on 16 reports,
worse on 37; with all sentences 16.85 against 28.94. The labels carry no side, site or size,
so the looked-up sentence often names another side or lobe ("Left basilar airspace disease."
for right lower lung opacities): the danger the product is designed against. Not added to
the pool.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

from radimpress.evaluate.clinical import positive_findings, reference_groups
from radimpress.evaluate.rouge import rouge_scores
from radimpress.models.extractive import tidy
from radimpress.models.features import abnormal_sentences
from radimpress.records import read_reports
from radimpress.safety.extractor import extract_many

SENTENCES = re.compile(r"(?<=[.;])\s+|\s*\b\d{1,2}[.)]\s+")


def sentence_bank(train) -> tuple[dict, str]:
    """{label set: Counter of impression sentences}, and the commonest normal sentence."""
    sents = [s.strip() for r in train for s in SENTENCES.split(r.impression or "") if s.strip()]
    bank: dict = collections.defaultdict(collections.Counter)
    normal: collections.Counter = collections.Counter()
    for sentence, mentions in zip(sents, extract_many(sents), strict=True):
        text = sentence.rstrip(" .;") + "."
        text = text[:1].upper() + text[1:]
        labels = positive_findings(mentions)
        (bank[labels] if labels else normal)[text] += 1
    return bank, normal.most_common(1)[0][0]


def main() -> None:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/bench-quality/data")
    train = [r for r in read_reports(data / "train.jsonl") if r.trainable]
    test = [r for r in read_reports(data / "test.jsonl") if r.trainable]
    bank, normal = sentence_bank(train)
    rows: dict[str, list[str]] = {k: [] for k in ("extractive", "composed", "ext_all", "comp_all")}
    for report in test:
        found = abnormal_sentences(report.findings or "")
        if not found:
            for texts in rows.values():
                texts.append(normal)
            continue
        looked_up = []
        for sentence, mentions in zip(found, extract_many(found), strict=True):
            hits = bank.get(positive_findings(mentions))
            looked_up.append(hits.most_common(1)[0][0] if hits else tidy(sentence))
        looked_up = list(dict.fromkeys(looked_up))
        rows["extractive"].append(f"{tidy(found[0])} {normal}")
        rows["composed"].append(f"{looked_up[0]} {normal}")
        rows["ext_all"].append(" ".join(tidy(s) for s in found))
        rows["comp_all"].append(" ".join(looked_up))
    refs = [r.impression or "" for r in test]
    abnormal = [i for i, g in enumerate(reference_groups(refs)) if g == "abnormal"]
    scores = {k: rouge_scores(v, refs)["rougeL"] for k, v in rows.items()}
    for name, s in scores.items():
        print(f"{name:10s} all {100 * s.mean():.2f}  abnormal {100 * s[abnormal].mean():.2f}")
    better = sum(scores["composed"][i] > scores["extractive"][i] for i in abnormal)
    worse = sum(scores["composed"][i] < scores["extractive"][i] for i in abnormal)
    print(
        f"composed against extractive on {len(abnormal)} abnormal: {better} better, {worse} worse"
    )


if __name__ == "__main__":
    main()
