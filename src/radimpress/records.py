"""The one record type every stage passes along, and its JSONL form.

Keeping a single flat record (rather than one class per source format) means
ingest, dataset, models, evaluate, safety and serve all agree on field names,
and a JSONL line written by one stage can be read by any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


class InputError(ValueError):
    """Bad user input; the message names the file, line or field."""


@dataclass
class Report:
    """A radiology report reduced to the sections radimpress uses."""

    id: str
    findings: str
    impression: str | None = None
    source: str = ""  # where it came from: "file.txt:12", "archive.tgz:ecgen-radiology/1.xml"
    exam: str | None = None  # modality / examination name when known
    indication: str | None = None
    comparison: str | None = None
    patient_id: str | None = None
    study_id: str | None = None
    sections: dict[str, str] = field(default_factory=dict)  # other named sections, verbatim

    @property
    def trainable(self) -> bool:
        """A pair can be trained on only when both sides carry text."""
        return bool(
            self.findings and self.findings.strip() and self.impression and self.impression.strip()
        )

    def study(self) -> dict[str, str | None]:
        """What the safety checks read beside the two texts: the exam (CT or radiograph, body
        region), the indication (risk, exclusions) and the comparison (was there one)."""
        return {"exam": self.exam, "indication": self.indication, "comparison": self.comparison}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["trainable"] = self.trainable
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "") -> Report:
        """Build from a JSON object; unknown keys go to ``sections`` so nothing is lost."""
        if not isinstance(d, dict):
            raise InputError(f"{where}: expected a JSON object, got {type(d).__name__}")
        if "findings" not in d or d["findings"] is None:
            raise InputError(f"{where}: missing field 'findings'")
        if "id" not in d or d["id"] in (None, ""):
            raise InputError(f"{where}: missing field 'id'")
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in d.items() if k in known}
        extra = {k: v for k, v in d.items() if k not in known and k != "trainable"}
        sections = dict(kwargs.pop("sections", None) or {})
        for k, v in extra.items():
            if isinstance(v, str):
                sections.setdefault(k, v)
        kwargs["id"] = str(kwargs["id"])
        for key in ("findings", "impression", "exam", "indication", "comparison"):
            v = kwargs.get(key)
            if v is not None and not isinstance(v, str):
                raise InputError(f"{where}: field '{key}' must be a string, got {type(v).__name__}")
        return cls(sections=sections, **kwargs)

    @classmethod
    def draftable(cls, d: dict[str, Any], where: str = "") -> Report:
        """`from_dict` for a record to draft from: its findings must hold text.

        `generate` and `batch` read a line through this one rule, so a blank findings
        field is a reject on both paths (it was drafted as a normal study before).
        """
        report = cls.from_dict(d, where)
        if not report.findings.strip():
            raise InputError(f"{where}: empty findings")
        return report


@dataclass
class Reject:
    """A record that could not be used, kept with the reason so nothing is lost."""

    source: str  # file path
    location: str  # line, row, element or member inside the file ("" for whole file)
    reason: str
    excerpt: str = ""  # the first characters of the raw record, to find it again

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of_line(cls, path: str | Path, no: int, reason: str, value: Any) -> Reject:
        """A JSONL line that could not be used; its excerpt is the record as JSON (or the
        raw text of a line that is not JSON), as every command's rejects file shows it."""
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return cls(str(path), f"line {no}", reason, text.strip()[:200])


def jsonl_lines(path: str | Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, value, None) for each JSON line, or (line number, the raw line, why it
    cannot be read), so a reader can keep a bad line as a reject and go on; blank lines are
    skipped."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    with path.open("r", encoding="utf-8", errors="surrogateescape") as fh:
        for no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                line.encode("utf-8")
            except UnicodeEncodeError as e:  # a byte that is not UTF-8, kept as a surrogate
                shown = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                yield no, shown, f"not UTF-8 (character {e.start + 1} of the line)"
                continue
            try:
                yield no, json.loads(line), None
            except json.JSONDecodeError as e:
                yield no, line, f"invalid JSON ({e.msg})"
            except RecursionError:
                yield no, line, "invalid JSON (nested too deeply)"
            except ValueError as e:  # e.g. an integer of more than 4,300 digits
                yield no, line, f"invalid JSON ({e})"


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) and fail with file:line on a broken line."""
    for no, value, why in jsonl_lines(path):
        if why is not None:
            raise InputError(f"{path}:{no}: {why}")
        yield no, value


def jsonl_in_folder(path: str | Path, name: str, made_by: str) -> Path:
    """A JSONL file, or the ``name`` file inside a folder an earlier stage wrote.

    Stages accept the folder the previous command printed so users need not
    know its file names; a folder without the file says which command makes it.
    """
    path = Path(path)
    if path.is_dir():
        candidate = path / name
        if not candidate.exists():
            raise InputError(f"{path}: folder has no {name} ({made_by})")
        return candidate
    if not path.exists():
        raise InputError(f"{path}: file not found")
    return path


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> int:
    """Write dicts or objects with ``to_dict``; return how many lines were written.

    Writes to a temporary name and renames, so a killed run never leaves a
    half-written file that a re-run would trust.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            obj = row.to_dict() if hasattr(row, "to_dict") else row
            fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def read_reports(path: str | Path) -> list[Report]:
    """Read a reports JSONL (as written by ingest or dataset build)."""
    return [Report.from_dict(obj, f"{path}:{no}") for no, obj in read_jsonl(path)]


def read_reports_and_rejects(path: str | Path) -> tuple[list[Report], list[Reject]]:
    """Every usable report of a JSONL file, and a Reject (file, line, reason) for every other line.

    Why not `read_reports`: it stops at the first bad line, which suits a dataset an earlier
    stage wrote, but a file a user exports for drafting may have a few broken or id-less lines
    among thousands of good ones; those are kept with their reason, not lost, and the rest is
    drafted. A repeated id is a reject too: two drafts under one id could not be told apart.
    """
    reports: list[Report] = []
    rejects: list[Reject] = []
    first_line: dict[str, int] = {}
    for no, value, why in jsonl_lines(path):
        if why is None:
            try:
                report = Report.draftable(value, f"{path}:{no}")
            except InputError as e:
                why = str(e).removeprefix(f"{path}:{no}: ")
            else:
                if report.id not in first_line:
                    first_line[report.id] = no
                    reports.append(report)
                    continue
                why = f"id {report.id!r} already on line {first_line[report.id]}"
        rejects.append(Reject.of_line(path, no, why, value))
    return reports, rejects


def write_rejects(output: str | Path, rejects: Sequence[Reject]) -> Path | None:
    """OUTPUT.rejects.jsonl beside a command's OUTPUT, holding what it could not use; with
    nothing rejected, no such file (an earlier run's would mislead). Returns its path."""
    path = Path(f"{output}.rejects.jsonl")
    if not rejects:
        path.unlink(missing_ok=True)
        return None
    write_jsonl(path, rejects)
    return path
