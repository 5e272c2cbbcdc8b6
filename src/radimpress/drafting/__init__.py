"""Drafting: the one path from findings to a checked draft impression.

``Drafter(model).draft(reports)`` cleans the findings exactly as
``radimpress dataset build`` cleaned the training pairs, asks the model for
candidates, runs the safety checks on each, puts the first candidate without
a high-severity warning first, and returns `DraftResult` objects. The REST
and FHIR endpoints, the MLLP listener, ``radimpress generate`` and the demo
all draft through it.
"""

from radimpress.drafting.drafter import SAFE_POOL, Drafter, DraftOptions
from radimpress.drafting.errors import (
    DeadlineExceeded,
    DraftError,
    FieldProblem,
    InvalidRequest,
    ModelFailed,
    ModelNotReady,
    RequestTooLarge,
)
from radimpress.drafting.result import CHECK_FAILED, DraftResult, DraftWarning, Evidence, ModelInfo

__all__ = [
    "CHECK_FAILED",
    "SAFE_POOL",
    "DeadlineExceeded",
    "DraftError",
    "DraftOptions",
    "DraftResult",
    "DraftWarning",
    "Drafter",
    "Evidence",
    "FieldProblem",
    "InvalidRequest",
    "ModelFailed",
    "ModelInfo",
    "ModelNotReady",
    "RequestTooLarge",
]
