"""Clinical safety checks for draft impressions, and guideline follow-up recommendations.

medspaCy is imported only when text is first parsed, so importing this package
(e.g. for the CLI's --help) stays cheap; the follow-up rules need only PyYAML.
"""

from radimpress.safety.checks import (
    CHECKS,
    DEFAULT_CRITICAL,
    WARNING_TYPES,
    CriticalRule,
    SafetyChecker,
    SafetyWarning,
    Warning,
    check,
    register_check,
    safest,
    select_safe,
)
from radimpress.safety.extractor import Mention, extract, extract_many
from radimpress.safety.followup import (
    FollowUpResult,
    Recommendation,
    append_recommendations,
    assess,
    recommend,
)

__all__ = [
    "CHECKS",
    "DEFAULT_CRITICAL",
    "WARNING_TYPES",
    "CriticalRule",
    "FollowUpResult",
    "Mention",
    "Recommendation",
    "SafetyChecker",
    "SafetyWarning",
    "Warning",
    "append_recommendations",
    "assess",
    "check",
    "extract",
    "extract_many",
    "recommend",
    "register_check",
    "safest",
    "select_safe",
]
