"""ROUGE F1 per report with Google's ``rouge-score``, the way published tables compute it.

Published impression-summarisation results (e.g. on Open-i and MIMIC-CXR) use
``rouge_score.rouge_scorer.RougeScorer`` without stemming; using the same code
and the same default keeps radimpress numbers comparable. ``rougeLsum`` needs
one sentence per line and rouge-score would otherwise ask nltk's punkt model
(a download, unavailable offline), so `split_sentences` does it here with rules
that suit radiology text: numbered items, decimals and common abbreviations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

ROUGE_METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_LABELS = {
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "rougeLsum": "ROUGE-Lsum",
}

# Words after which a full stop does not end a sentence. Not "no" ("Effusion: No.") and
# not units ("measures 3 cm. Stable" ends a sentence).
_ABBREVIATIONS = frozenset(
    [
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "vs",
        "approx",
        "e.g",
        "i.e",
        "eg",
        "ie",
        "etc",
        "fig",
        "figs",
        "incl",
        "cf",
        "al",
        "resp",
        "ca",
    ]
)

_LIST_MARKER = re.compile(r"(?:(?<=^)|(?<=\s))(\d{1,2})[.)](?=\s)")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s+\S)")


def _split_numbered(line: str) -> list[str]:
    """Split "1. A 2. B" before each marker, but only for a 1, 2, 3... sequence."""
    cuts: list[int] = []
    expected = 1
    for m in _LIST_MARKER.finditer(line):
        if int(m.group(1)) == expected:
            cuts.append(m.start())
            expected += 1
    if len(cuts) < 2 or line[: cuts[0]].strip():
        # Not a list: one lone "1." or a number inside a sentence before the first item.
        return [line]
    cuts.append(len(line))
    return [line[a:b].strip() for a, b in zip(cuts, cuts[1:], strict=False) if line[a:b].strip()]


def _split_punctuation(chunk: str) -> list[str]:
    """Split after . ! ? followed by a capital or a digit (any letter if the text is all lowercase)."""
    lowercase_text = not any(c.isupper() for c in chunk)
    out: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(chunk):
        end = m.end()
        rest = chunk[end:].lstrip()
        nxt = rest[0]
        if not (nxt.isupper() or nxt.isdigit() or (lowercase_text and nxt.isalpha())):
            continue
        current = chunk[start:end].strip()
        words = current[: -len(m.group())].split()
        last_word = words[-1].lower() if words else ""
        if m.group() == "." and last_word.rstrip(".") in _ABBREVIATIONS:
            continue
        if re.fullmatch(r"\d{1,2}", current[:-1].strip()):
            continue  # "1. No acute disease": the marker is not a sentence
        out.append(current)
        start = end
    tail = chunk[start:].strip()
    if tail:
        out.append(tail)
    return out


def split_sentences(text: str) -> list[str]:
    """Split an impression into sentences for ROUGE-Lsum.

    Splits on newlines, before numbered items ("1. ... 2. ..."), and after
    ``.``/``!``/``?`` followed by a space and a capital or digit. Does not split
    inside decimals ("1.5 cm") or after abbreviations ("Dr.", "e.g.", "vs.").
    """
    sentences: list[str] = []
    for line in (text or "").split("\n"):
        line = line.strip()
        if not line:
            continue
        for chunk in _split_numbered(line):
            sentences.extend(_split_punctuation(chunk))
    return sentences


def for_lsum(text: str) -> str:
    """Text with one sentence per line, as ``rougeLsum`` expects."""
    return "\n".join(split_sentences(text))


def rouge_scores(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    use_stemmer: bool = False,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Return {metric: F1 per pair, in [0, 1]} for aligned predictions and references.

    Newlines do not change ROUGE-1/2/L (rouge-score's tokenizer drops
    punctuation and whitespace), so the sentence-split text is used for all four.
    """
    import logging

    from rouge_score import rouge_scorer

    logging.getLogger("absl").setLevel(logging.WARNING)  # "Using default tokenizer" on every call
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_METRICS), use_stemmer=use_stemmer)
    out = {m: np.zeros(len(predictions), dtype=float) for m in ROUGE_METRICS}
    pairs = zip(predictions, references, strict=True)
    if progress:
        from tqdm import tqdm

        pairs = tqdm(pairs, total=len(predictions), desc="ROUGE", unit="report", leave=False)
    for i, (pred, ref) in enumerate(pairs):
        scores = scorer.score(for_lsum(ref or ""), for_lsum(pred or ""))
        for m in ROUGE_METRICS:
            out[m][i] = scores[m].fmeasure
    return out
