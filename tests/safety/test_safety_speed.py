"""The checks' cost grows linearly with the text (issue 13 measured 4x per doubling before)."""

from __future__ import annotations

import time

from radimpress.safety import SafetyChecker

SENTENCES = [
    "There is a small right pleural effusion with adjacent atelectasis.",
    "No pneumothorax is seen.",
    "The cardiomediastinal silhouette is normal in size and contour.",
    "Patchy left lower lobe airspace disease may represent pneumonia.",
    "A 7 mm nodule is noted in the right upper lobe, not seen on the prior study.",
    "Degenerative changes of the thoracic spine.",
    "Right internal jugular catheter with tip in the superior vena cava.",
    "Elevated left hemidiaphragm, unchanged.",
]
DRAFT = "Small right pleural effusion. Left lower lobe pneumonia. 7 mm right upper lobe nodule."


def report(chars: int) -> str:
    out, k = [], 0
    while sum(len(s) + 1 for s in out) < chars:
        out.append(SENTENCES[k % len(SENTENCES)])
        k += 1
    return " ".join(out)


def best_of(checker: SafetyChecker, text: str, rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        checker.check(text, DRAFT)
        best = min(best, time.perf_counter() - start)
    return best


def test_doubling_the_text_at_most_about_doubles_the_time():
    checker = SafetyChecker()
    checker.check("Small effusion.", "Effusion.")  # load the pipeline outside the timing
    small, large = best_of(checker, report(9600)), best_of(checker, report(19200))
    # 2.5x leaves room for noise on a shared machine; below 0.5 s the ratio is noise
    assert large <= max(2.5 * small, 0.5), (small, large)
