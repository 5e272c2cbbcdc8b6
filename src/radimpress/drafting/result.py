"""What a draft is when it leaves radimpress: candidates, the warnings on them, the model.

One typed warning class serves every front door: the REST API returns it,
the review page highlights its evidence spans, FHIR and HL7 quote its
message. Keeping it a pydantic model means the OpenAPI schema describes
exactly what the server sends.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Evidence(BaseModel):
    """Words in one of the two texts that show a warning (character offsets)."""

    field: Literal["findings", "impression"]
    start: int
    end: int
    text: str


class DraftWarning(BaseModel):
    """One problem a safety check found in one candidate."""

    type: str = Field(description="check that fired, e.g. laterality_mismatch")
    severity: Literal["high", "medium", "low"]
    message: str
    candidate: int = Field(description="index of the candidate it concerns (0 = the draft)")
    evidence: list[Evidence] = []

    @classmethod
    def from_safety(cls, warning: Any, candidate: int) -> DraftWarning:
        """From a `radimpress.safety.SafetyWarning` (or its ``to_dict()``)."""
        d = warning.to_dict() if hasattr(warning, "to_dict") else dict(warning)
        evidence = [Evidence(field="findings", **s) for s in d.get("findings_spans") or []]
        evidence += [Evidence(field="impression", **s) for s in d.get("impression_spans") or []]
        return cls(
            type=d["type"],
            severity=d["severity"],
            message=d.get("message") or d["type"],
            candidate=candidate,
            evidence=evidence,
        )


# Shown instead of silence when the checker failed, so "no warnings" never means "not checked".
CHECK_FAILED = DraftWarning(
    type="safety_check_failed",
    severity="medium",
    message="the safety checks failed on this draft; review it without their help",
    candidate=0,
)

DRAFTED_FROM_FINDINGS = DraftWarning(
    type="drafted_from_findings",
    severity="low",
    message="every candidate the model offered carried a high-severity warning; this draft is "
    "the findings' own abnormal sentences",
    candidate=0,
)


class ModelInfo(BaseModel):
    name: str
    version: str
    kind: str = ""


class DraftResult(BaseModel):
    """The drafts for one report, best first, with the warnings of every candidate."""

    report_id: str | None = None
    findings: str = Field(description="the findings as the model read them (cleaned)")
    candidates: list[str]
    warnings: list[DraftWarning] = []
    model: ModelInfo

    @property
    def impression(self) -> str:
        return self.candidates[0] if self.candidates else ""

    def warnings_for(self, candidate: int) -> list[DraftWarning]:
        return [w for w in self.warnings if w.candidate == candidate]

    def top(self, n: int) -> DraftResult:
        """The first n candidates and their warnings."""
        return self.model_copy(
            update={
                "candidates": self.candidates[:n],
                "warnings": [w for w in self.warnings if w.candidate < n],
            }
        )
