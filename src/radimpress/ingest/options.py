"""Options every reader receives, so a new format needs no new plumbing."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, fields
from typing import Any

from radimpress.records import InputError

MIB = 2**20

# Report field -> column names tried (case-insensitively) when the user names none.
# The Open-i flat CSV (uid, MeSH, Problems, image, indication, comparison,
# findings, impression) is covered by these defaults, so it needs no options.
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "findings": ("findings", "finding", "findings_text"),
    "impression": ("impression", "impressions", "conclusion", "impression_text"),
    "id": ("id", "uid", "report_id", "accession", "accession_number"),
    "indication": ("indication", "clinical_history", "history", "reason_for_exam"),
    "comparison": ("comparison",),
    "exam": ("exam", "examination", "image", "procedure", "modality", "study_description"),
    "patient_id": ("patient_id", "patient", "subject_id", "mrn"),
    "study_id": ("study_id", "study"),
    # a whole report in one cell, split into its sections as free text is (read only when
    # no findings column is there, or when --report-col names it)
    "report": ("report", "report_text", "full_report", "report_body", "narrative", "text"),
}


@dataclass
class IngestOptions:
    """How to read inputs. Field names double as ``ingest_paths`` keyword names."""

    format: str | None = (
        None  # force one reader for every file (a name from formats.format_names())
    )
    encoding: str = "utf-8"
    findings_col: str | None = None
    impression_col: str | None = None
    id_col: str | None = None
    indication_col: str | None = None
    comparison_col: str | None = None
    exam_col: str | None = None
    patient_col: str | None = None
    study_col: str | None = None
    report_col: str | None = None
    # Free text with no recognised header at all: reject (default) or take it all as findings,
    # which is what a user who pastes bare findings into a file for `generate` means.
    headerless_as_findings: bool = False
    progress: bool = False
    # Caps on what one input may cost (see ingest/sources.py): the largest file or archive
    # member read (readers hold a file in memory, a few times its size at peak), the most
    # one archive may inflate to, and the largest inflated:compressed ratio accepted.
    # Real report sets compress 5-20:1; decompression bombs 1000:1.
    max_file_bytes: int = 256 * MIB
    max_archive_bytes: int = 4096 * MIB
    max_compression_ratio: float = 200.0

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> IngestOptions:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise TypeError(
                f"unknown ingest option(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        opts = cls(**kwargs)
        try:
            codecs.lookup(opts.encoding)
        except LookupError:
            raise InputError(f"unknown encoding {opts.encoding!r} (--encoding)") from None
        for name in ("max_file_bytes", "max_archive_bytes", "max_compression_ratio"):
            if not getattr(opts, name) > 0:
                raise InputError(
                    f"ingest option {name} must be positive, got {getattr(opts, name)!r}"
                )
        return opts

    def column_mapping(self) -> dict[str, str | None]:
        """Report field -> column the user named (None: use DEFAULT_COLUMNS)."""
        return {
            "findings": self.findings_col,
            "impression": self.impression_col,
            "id": self.id_col,
            "indication": self.indication_col,
            "comparison": self.comparison_col,
            "exam": self.exam_col,
            "patient_id": self.patient_col,
            "study_id": self.study_col,
            "report": self.report_col,
        }
