"""Evaluation stage: ROUGE and pluggable metric families, statistics and reports.

Python use::

    from radimpress.evaluate import evaluate_systems, write_report
    result = evaluate_systems(test_reports, {"constant": {id: pred}, "retrieval": {...}})
    write_report(result, "eval/")

Names are resolved lazily so that `radimpress --help` does not import numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "align_predictions": "radimpress.evaluate.inputs",
    "load_predictions": "radimpress.evaluate.inputs",
    "load_references": "radimpress.evaluate.inputs",
    "ROUGE_METRICS": "radimpress.evaluate.rouge",
    "rouge_scores": "radimpress.evaluate.rouge",
    "split_sentences": "radimpress.evaluate.rouge",
    "EvaluationResult": "radimpress.evaluate.scoring",
    "MetricInfo": "radimpress.evaluate.scoring",
    "RougeScorer": "radimpress.evaluate.scoring",
    "Scorer": "radimpress.evaluate.scoring",
    "ScorerOutput": "radimpress.evaluate.scoring",
    "evaluate_systems": "radimpress.evaluate.scoring",
    "write_report": "radimpress.evaluate.report",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'radimpress.evaluate' has no attribute {name!r}")
