"""Clinical safety checks for draft impressions, and rule-based clinical-label metrics.

medspaCy is imported only when text is first parsed, so importing this package
(e.g. for the CLI's --help) stays cheap.
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

__all__ = [
    "CHECKS",
    "DEFAULT_CRITICAL",
    "WARNING_TYPES",
    "CriticalRule",
    "Mention",
    "SafetyChecker",
    "SafetyWarning",
    "Warning",
    "check",
    "extract",
    "extract_many",
    "register_check",
    "safest",
    "select_safe",
]
