"""Why a draft could not be made, as exceptions each front door translates.

REST answers 4xx/5xx with the reason, FHIR an OperationOutcome, HL7 an AE/AR
acknowledgement; none of them passes response objects around. Messages
never quote report text (it is PHI).
"""

from __future__ import annotations

from dataclasses import dataclass


class DraftError(Exception):
    """Base class: a draft was not made."""


@dataclass
class FieldProblem:
    field: str  # dotted path in the request, e.g. "reports.3.findings"
    message: str
    kind: str = "value_error"  # too_long, too_large, empty, unsupported


class InvalidRequest(DraftError):
    """The request breaks a limit or asks for something the model cannot do."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


class ModelNotReady(DraftError):
    """The model is still loading, or failed to load (``failed`` says which)."""

    def __init__(self, failed: bool = False) -> None:
        self.failed = failed
        super().__init__("model failed to load" if failed else "model is not loaded yet")


class ModelFailed(DraftError):
    """The model raised while drafting; ``error_id`` ties the reply to the log line."""

    def __init__(self, error_id: str) -> None:
        self.error_id = error_id
        super().__init__(f"the model failed to draft this report (error_id {error_id})")


class RequestTooLarge(DraftError):
    """The request as a whole is over a size limit (``limit`` names it, e.g. max_batch_chars)."""

    def __init__(self, limit: str, size: int, allowed: int, unit: str = "characters") -> None:
        self.limit, self.size, self.allowed = limit, size, allowed
        super().__init__(f"the request holds {size} {unit}; the limit ({limit}) is {allowed}")


class DeadlineExceeded(DraftError):
    """The draft was not done within the request deadline; its remaining work was dropped."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(
            f"the draft was not done within the {seconds:g} s request deadline; "
            "its work was dropped, try again later"
        )
