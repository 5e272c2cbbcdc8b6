"""Clinical-label agreement and warning rates, next to ROUGE in `radimpress evaluate`.

ROUGE cannot tell "No pneumothorax." from "Pneumothorax."; label agreement can.
Labels come from radimpress's own rule-based extractor, so this is a
"rule-based label F1 (not CheXbert)": CheXbert needs a hub download and is not
used here. Numbers are comparable between systems scored with the same
radimpress version, not with published CheXbert F1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from radimpress.safety import vocabulary as V
from radimpress.safety.checks import WARNING_TYPES, SafetyChecker
from radimpress.safety.extractor import Mention, extract_many, labels_from_mentions

METRIC_NAME = "rule-based label F1 (not CheXbert)"
UNCERTAIN_MODES = ("not_present", "present", "separate")


def _binary_labels(labels: dict[str, str], uncertain: str) -> set[str]:
    """The set of positive labels of one report under the chosen uncertainty policy."""
    out = set()
    for obs, value in labels.items():
        if value == "present":
            out.add(obs)
        elif value == "uncertain":
            if uncertain == "present":
                out.add(obs)
            elif uncertain == "separate":
                out.add(f"{obs} (uncertain)")
    return out


def _f1(tp: int, fp: int, fn: int) -> float | None:
    return 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else None


def report_labels(
    texts: Sequence[str | None], observations: Sequence[str] = V.CHEXPERT_OBSERVATIONS
) -> list[dict[str, str]]:
    """present / uncertain / absent per observation for each text."""
    return [labels_from_mentions(ms, observations) for ms in extract_many(texts)]


GROUP_NOTE = (
    "'normal': radimpress's rule-based extractor finds no present or uncertain finding in the "
    "reference impression (support devices aside), e.g. 'No acute cardiopulmonary abnormality'; "
    "'abnormal': it finds at least one."
)


def reference_groups(references: Sequence[str | None]) -> list[str]:
    """'normal' or 'abnormal' for each reference impression (see GROUP_NOTE).

    Stock normal sentences are easy to copy; the abnormal half is where a
    model has to write what the findings say, so scores are reported for both.
    """
    return ["abnormal" if positive_findings(ms) else "normal" for ms in extract_many(references)]


def positive_findings(mentions: Sequence[Mention]) -> frozenset[str]:
    """The observations a text asserts now (present or uncertain, not history), devices aside:
    what makes an impression 'abnormal' (GROUP_NOTE)."""
    return frozenset(
        m.observation
        for m in mentions
        if m.polarity in ("present", "uncertain")
        and not m.historical
        and m.observation not in ("No Finding", "Support Devices")
    )


def label_metrics(
    references: Sequence[str | None],
    predictions: Sequence[str | None],
    observations: Sequence[str] = V.CHEXPERT_OBSERVATIONS,
    uncertain: str = "not_present",
) -> dict[str, Any]:
    """Per-observation and micro/macro F1 of predicted vs reference impression labels.

    ``uncertain``: "not_present" (default; "possible pneumonia" counts as not
    present), "present" (counts as present), or "separate" (uncertain mentions
    are their own labels, "Pneumonia (uncertain)", scored like the others).
    Macro F1 averages observations that are positive in at least one reference
    or prediction; an observation nobody mentions has no F1 and is left out.
    """
    if len(references) != len(predictions):
        raise ValueError(f"{len(references)} references but {len(predictions)} predictions")
    if uncertain not in UNCERTAIN_MODES:
        raise ValueError(f"uncertain must be one of {UNCERTAIN_MODES}, got {uncertain!r}")
    ref_labels = report_labels(references, observations)
    pred_labels = report_labels(predictions, observations)
    names = list(observations)
    if uncertain == "separate":
        names += [f"{o} (uncertain)" for o in observations if o != "No Finding"]
    counts = {n: {"tp": 0, "fp": 0, "fn": 0} for n in names}
    per_report = []
    for r, p in zip(ref_labels, pred_labels, strict=True):
        rs, ps = _binary_labels(r, uncertain), _binary_labels(p, uncertain)
        for n in rs & ps:
            counts[n]["tp"] += 1
        for n in ps - rs:
            counts[n]["fp"] += 1
        for n in rs - ps:
            counts[n]["fn"] += 1
        per_report.append(_f1(len(rs & ps), len(ps - rs), len(rs - ps)))
    per_obs = {}
    for n, c in counts.items():
        tp, fp, fn = c["tp"], c["fp"], c["fn"]
        per_obs[n] = {
            **c,
            "support": tp + fn,
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
            "f1": _f1(tp, fp, fn),
        }
    tp = sum(c["tp"] for c in counts.values())
    fp = sum(c["fp"] for c in counts.values())
    fn = sum(c["fn"] for c in counts.values())
    scored = [v["f1"] for v in per_obs.values() if v["f1"] is not None]
    return {
        "name": METRIC_NAME,
        "uncertain": uncertain,
        "n": len(references),
        "micro_f1": _f1(tp, fp, fn),
        "macro_f1": sum(scored) / len(scored) if scored else None,
        "per_observation": per_obs,
        "per_report_f1": per_report,
    }


def warning_rates(
    findings: Sequence[str | None],
    impressions: Sequence[str | None],
    checker: SafetyChecker | None = None,
    studies: Sequence[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fraction of reports with at least one warning of each type (and of any type).

    ``studies`` are the reports' exam, indication and comparison (`Report.study`), which
    the follow-up and comparison checks read, as they do when a draft is made.
    """
    checker = checker or SafetyChecker()
    warnings = checker.check_many(list(zip(findings, impressions, strict=True)), studies)
    n = len(warnings) or 1
    rates = {t: sum(any(w.type == t for w in ws) for ws in warnings) / n for t in WARNING_TYPES}
    rates["any"] = sum(bool(ws) for ws in warnings) / n
    rates["high"] = sum(any(w.severity == "high" for w in ws) for ws in warnings) / n
    return {"rates": rates, "warnings": warnings}


class ClinicalScorer:
    """Extra scorer for `radimpress.evaluate.evaluate_systems(..., extra_scorers=[ClinicalScorer()])`.

    Per report: label F1 against the reference impression (x100), the number of
    safety warnings against the reference findings, and one 0/1 column per
    warning type, so the report's means are warning rates and the paired
    bootstrap compares systems on them. The micro and macro label F1 are
    system-level aggregates, named as such next to the per-report mean.
    """

    name = "clinical"

    def __init__(
        self, uncertain: str = "not_present", checker: SafetyChecker | None = None
    ) -> None:
        if uncertain not in UNCERTAIN_MODES:
            raise ValueError(f"uncertain must be one of {UNCERTAIN_MODES}, got {uncertain!r}")
        self.uncertain = uncertain
        self.checker = checker

    def __call__(self, references, predictions):
        import numpy as np

        from radimpress.evaluate.scoring import MetricInfo, ScorerOutput

        refs = [r.impression or "" for r in references]
        lm = label_metrics(refs, predictions, uncertain=self.uncertain)
        wr = warning_rates(
            [r.findings for r in references],
            predictions,
            self.checker,
            [r.study() for r in references],
        )
        per_f1 = np.array([100.0 * (v if v is not None else 1.0) for v in lm["per_report_f1"]])
        n_warn = np.array([float(len(ws)) for ws in wr["warnings"]])
        metrics = {"label_f1": per_f1, "safety_warnings": n_warn}
        info = {
            "label_f1": MetricInfo(
                "label_f1",
                "Label F1 (per-report mean, rule-based)",
                scale="F1 x 100",
                description=f"{METRIC_NAME}: F1 of each report's positive labels over "
                f"{len(V.CHEXPERT_OBSERVATIONS)} CheXpert observations from radimpress's rule-based "
                f"extractor, averaged over reports (a report where neither text has a label scores "
                f"100); uncertain = {self.uncertain}. Not the micro or macro F1 over labels.",
            ),
            "safety_warnings": MetricInfo(
                "safety_warnings",
                "Safety warnings per report",
                scale="count",
                higher_is_better=False,
                description="warnings of `radimpress check` for the prediction against the reference findings",
                kind="count",
            ),
        }
        for t in WARNING_TYPES:
            key = f"warn_{t}"
            metrics[key] = np.array([float(any(w.type == t for w in ws)) for ws in wr["warnings"]])
            info[key] = MetricInfo(
                key,
                f"Reports with {'an' if t[0] in 'aeiou' else 'a'} {t.replace('_', ' ')} warning",
                scale="share of reports",
                higher_is_better=False,
                description=f"share of reports whose prediction has a {t} warning",
                kind="rate",
            )
        # The per-type rates are the means of the warn_* columns above; only the
        # numbers that are not a mean of a per-report column are aggregates.
        aggregates = {
            "label_micro_f1": 100.0 * (lm["micro_f1"] or 0.0),
            "label_macro_f1": 100.0 * (lm["macro_f1"] or 0.0),
            "rate_any": wr["rates"]["any"],
            "rate_high": wr["rates"]["high"],
        }
        aggregate_info = {
            "label_micro_f1": MetricInfo(
                "label_micro_f1",
                "Label F1 (micro, rule-based)",
                scale="F1 x 100",
                description=f"{METRIC_NAME}: F1 of all (report, observation) labels pooled",
            ),
            "label_macro_f1": MetricInfo(
                "label_macro_f1",
                "Label F1 (macro, rule-based)",
                scale="F1 x 100",
                description=f"{METRIC_NAME}: mean of the per-observation F1 over observations "
                "mentioned in a reference or a prediction",
            ),
            "rate_any": MetricInfo(
                "rate_any",
                "Reports with any warning",
                scale="share of reports",
                higher_is_better=False,
                kind="rate",
            ),
            "rate_high": MetricInfo(
                "rate_high",
                "Reports with a high-severity warning",
                scale="share of reports",
                higher_is_better=False,
                kind="rate",
            ),
        }
        table = [
            {
                "observation": o,
                "support": v["support"],
                "precision": None if v["precision"] is None else round(100 * v["precision"], 1),
                "recall": None if v["recall"] is None else round(100 * v["recall"], 1),
                "f1": None if v["f1"] is None else round(100 * v["f1"], 1),
            }
            for o, v in lm["per_observation"].items()
        ]
        columns = {
            "warning_details": [
                "; ".join(f"{w.type}: {w.message}" for w in ws) for ws in wr["warnings"]
            ]
        }
        return ScorerOutput(
            metrics=metrics,
            info=info,
            columns=columns,
            aggregates=aggregates,
            aggregate_info=aggregate_info,
            tables={f"Clinical labels: {METRIC_NAME}, F1 x 100 per observation": table},
        )
