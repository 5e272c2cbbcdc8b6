"""Tables of reports: CSV/TSV, JSON Lines (or a JSON array) and Parquet.

One row is one report. Columns map to Report fields through the options
(``--findings-col`` ...) or, when not given, through the usual names in
``options.DEFAULT_COLUMNS``; that is how the Open-i flat CSV
(``uid, MeSH, Problems, image, indication, comparison, findings, impression``)
is read without options: uid -> id, image -> exam, MeSH and Problems ->
``sections``. Every column that maps to no field is kept in ``sections``.

Many RIS exports hold the whole report in one column ("report_text", "narrative"...)
rather than one column per section. When a table has no findings column (or
``--report-col`` names one), that column's text is split into its sections by the
free-text parser, as a .txt report would be; columns that name a field (the id, an
indication column) fill what the text leaves out.
A JSONL already in radimpress Report form (``reports.jsonl`` from an earlier
ingest) reads back unchanged, ``sections`` included.

CSV is parsed with the ``csv`` module rather than pandas so that a broken
row is a reject with its line number, not the end of the file. A record that
spans several lines and then breaks (a quote never closed, a stray quote, the
wrong number of fields) is most likely one bad line that swallowed the good
ones after it, so only its first line is rejected and parsing restarts on the
next line: every bad row is its own reject and the rows after it are read.

JSON: ``.jsonl``/``.ndjson`` files are always one record per line. Other files
are one JSON document (an array of records, or one record) when the whole file
parses as one; when it does not and at least half of its lines are whole JSON
values by themselves, it is JSON Lines (decided by the whole file, so a first
line like ``[1, 2]`` does not make JSON Lines a document). A line that cannot
be used (bad JSON, nested too deeply, a number too long to convert, not an
object) is one reject and the next line is read. Text fields must be JSON strings: ``{"findings": 5}`` is a
reject naming the field, not the text "5".
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from typing import Any

from radimpress.formats.json_safe import load_json, looks_like_json_lines
from radimpress.formats.sections import split_narrative
from radimpress.ingest.decoding import excerpt, read_decoded
from radimpress.ingest.freetext import build_report
from radimpress.ingest.options import DEFAULT_COLUMNS, IngestOptions
from radimpress.ingest.sources import Source
from radimpress.records import Reject, Report

CSV_SUFFIXES = (".csv", ".tsv", ".tab")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
_OPTION = {
    "findings": "--findings-col",
    "impression": "--impression-col",
    "id": "--id-col",
    "indication": "--indication-col",
    "comparison": "--comparison-col",
    "exam": "--exam-col",
    "patient_id": "--patient-col",
    "study_id": "--study-col",
    "report": "--report-col",
}
_TEXT_FIELDS = ("findings", "impression", "indication", "comparison", "exam")
_ID_FIELDS = ("id", "patient_id", "study_id")


# ---------------------------------------------------------------- detection
def detect_csv(src: Source, head: bytes) -> bool:
    return src.suffix in CSV_SUFFIXES


def _looks_fhir(head: bytes) -> bool:
    # FHIR JSON and FHIR bulk-data NDJSON carry "resourceType"; a FHIR reader owns them.
    return b'"resourceType"' in head


def detect_jsonl(src: Source, head: bytes) -> bool:
    if _looks_fhir(head):
        return False
    if src.suffix in JSONL_SUFFIXES or src.suffix == ".json":
        return True
    if src.suffix:
        return False
    first = head.lstrip().split(b"\n", 1)[0]
    obj, _ = load_json(first.decode("utf-8", "replace"))
    return isinstance(obj, dict)


def detect_parquet(src: Source, head: bytes) -> bool:
    return src.suffix in PARQUET_SUFFIXES or head.startswith(b"PAR1")


# ---------------------------------------------------------------- mapping
def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve_columns(
    columns: list[str], options: IngestOptions, noun: str = "column"
) -> tuple[dict[str, str], str | None]:
    """Report field -> column, and an error message when a needed column is absent."""
    by_key: dict[str, str] = {}
    for col in columns:
        by_key.setdefault(_key(col), col)
    mapping: dict[str, str] = {}
    available = ", ".join(columns) if columns else "none"
    for fld, explicit in options.column_mapping().items():
        if explicit is not None:
            col = explicit if explicit in columns else by_key.get(_key(explicit))
            if col is None:
                return mapping, (
                    f"missing {noun}: '{explicit}' (given by {_OPTION[fld]}) not found; available: {available}"
                )
            mapping[fld] = col
            continue
        for cand in DEFAULT_COLUMNS[fld]:
            col = by_key.get(_key(cand))
            if col is not None and col not in mapping.values():
                mapping[fld] = col
                break
    if "report" in mapping and "findings" in mapping:
        if options.report_col is not None and options.findings_col is not None:
            return mapping, "give --findings-col or --report-col, not both"
        # the whole-report column is read only when it is asked for or nothing else has findings
        del mapping["findings" if options.report_col is not None else "report"]
    if "findings" not in mapping and "report" not in mapping:
        return mapping, (
            f"missing {noun}: no findings {noun} (tried {', '.join(DEFAULT_COLUMNS['findings'])}) "
            f"and no whole-report {noun} (tried {', '.join(DEFAULT_COLUMNS['report'])}); "
            f"available: {available}; name one with --findings-col or --report-col"
        )
    return mapping, None


def _value(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if v.is_integer():
            return str(int(v))
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    s = str(v).strip()
    return s or None


def _type_problem(fld: str, v: Any) -> str | None:
    """What a field's value should have been, or None when its type is usable."""
    if v is None or isinstance(v, str) or (isinstance(v, float) and math.isnan(v)):
        return None  # NaN: a missing cell in a pandas table
    if fld in _TEXT_FIELDS:
        return None if isinstance(v, bytes) else f"text, got {_json_type(v)}"
    if fld in _ID_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool):
        return None
    return f"text or a number, got {_json_type(v)}"


def _json_type(v: Any) -> str:
    names = {
        bool: "boolean",
        int: "number",
        float: "number",
        list: "array",
        dict: "object",
        type(None): "null",
    }
    return next((n for t, n in names.items() if isinstance(v, t)), type(v).__name__)


def row_to_report(
    row: dict[str, Any],
    mapping: dict[str, str],
    label: str,
    where: str,
    default_id: str,
    source: str,
    options: IngestOptions | None = None,
    noun: str = "column",
) -> Report | Reject:
    """One table row (or JSON object) -> Report, or the reason it cannot be one."""
    raw = excerpt(" | ".join(str(v) for v in row.values() if v is not None))
    for fld, col in mapping.items():
        problem = _type_problem(fld, row.get(col))
        if problem:
            return Reject(label, where, f"invalid record: field '{col}' must be {problem}", raw)
    values = {fld: _value(row.get(col)) for fld, col in mapping.items()}
    sections: dict[str, str] = {}
    if "report" in mapping:
        parsed = _split_report_cell(
            values.pop("report"),
            f"{noun} '{mapping['report']}'",
            label,
            where,
            raw,
            default_id,
            options,
        )
        if isinstance(parsed, Reject):
            return parsed
        # a column that names a field wins over the text's own section or header
        for fld in (*_TEXT_FIELDS, *_ID_FIELDS):
            values[fld] = values.get(fld) or getattr(parsed, fld)
        sections.update(parsed.sections)
    else:
        sections.update(_split_findings_cell(values, mapping["findings"]))
    if not values.get("findings"):
        return Reject(label, where, "empty findings", raw)
    used = set(mapping.values())
    for col, v in row.items():
        if col in used or col in ("trainable", "source"):
            continue
        if col == "sections" and isinstance(v, dict):
            sections.update(
                {str(k): str(x) for k, x in v.items() if isinstance(x, str) and x.strip()}
            )
            continue
        text = _value(v) if not isinstance(v, (list, dict)) else None
        if text:
            sections[str(col)] = text
    original = row.get("source")
    return Report(
        id=values.get("id") or default_id,
        findings=values["findings"],
        impression=values.get("impression"),
        source=original if isinstance(original, str) and original else source,
        exam=values.get("exam"),
        indication=values.get("indication"),
        comparison=values.get("comparison"),
        patient_id=values.get("patient_id"),
        study_id=values.get("study_id"),
        sections=sections,
    )


def _split_report_cell(
    text: str | None,
    cell: str,
    label: str,
    where: str,
    raw: str,
    default_id: str,
    options: IngestOptions | None,
) -> Report | Reject:
    """A whole report held in one cell, parsed into sections as a free-text file is."""
    if not text:
        return Reject(label, where, f"empty report text in {cell}", raw)
    parsed = build_report(
        parse_lines=text.splitlines(keepends=True),
        default_id=default_id,
        source="",
        label=label,
        where=where,
        options=options or IngestOptions(),
    )
    if isinstance(parsed, Reject):
        hint = ""
        if parsed.reason == "no findings section":
            hint = " (a cell of findings with no header: --headerless-as-findings)"
        return Reject(label, where, f"{parsed.reason} in {cell}{hint}", raw)
    return parsed


def _split_findings_cell(values: dict[str, str | None], column: str) -> dict[str, str]:
    """Take the other sections out of a findings cell that holds them too (its impression
    above all); fills ``values`` and returns what no field takes, for ``sections``."""
    own = split_narrative(values.get("findings"), leading_text_is_findings=True)
    if not own:
        return {}
    values["findings"] = own.pop("findings", "")
    for fld in ("impression", "indication", "comparison", "exam"):
        in_cell = own.pop(fld, None)
        if values.get(fld) and in_cell and in_cell != values[fld]:
            own[f"{fld} (in {column})"] = in_cell  # a column of its own wins; keep the other
        values[fld] = values.get(fld) or in_cell or None
    return {k: v for k, v in own.items() if v}


# ---------------------------------------------------------------- CSV
def _delimiter(src: Source, header_line: str) -> str:
    if src.suffix in (".tsv", ".tab"):
        return "\t"
    counts = {d: header_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_records(lines: list[str], delimiter: str) -> Iterator[tuple[int, int, list[str] | str]]:
    """(first line, last line, fields or error message) for each record, 1-based lines.

    The first non-empty row is the header; later records spanning several lines
    that fail, or whose field count differs from the header's, are reported on
    their first line only and parsing restarts on the line after it.
    """
    n = len(lines)
    pos = 0  # index of the line the current csv.reader started on
    width: int | None = None
    while pos < n:
        reader = csv.reader((lines[i] for i in range(pos, n)), delimiter=delimiter, strict=True)
        restart: int | None = None
        while True:
            before = reader.line_num
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                first, last = pos + before + 1, pos + reader.line_num
                msg = str(e)
                if "unexpected end of data" in msg:
                    msg = f"quoted field opened on line {first} is never closed"
                elif "field larger than field limit" in msg:
                    msg = f"a field longer than {csv.field_size_limit():,} characters (a quote never closed?)"
                yield first, first, _spanning(f"broken CSV quoting: {msg}", first, last)
                if last > first:
                    restart = first  # index of the line after `first`
                    break
                continue
            first, last = pos + before + 1, pos + reader.line_num
            if width is None:
                if row:
                    width = len(row)
            elif last > first and len(row) != width:
                yield (
                    first,
                    first,
                    _spanning(
                        f"broken CSV row: {len(row)} fields but the header has {width} "
                        "(a quote opened on this line that should not have been?)",
                        first,
                        last,
                    ),
                )
                restart = first
                break
            yield first, last, row
        if restart is None:
            return
        pos = restart


def _spanning(reason: str, first: int, last: int) -> str:
    if last <= first:
        return reason
    return f"{reason} (it ran to line {last}); only line {first} is rejected and reading resumes on line {first + 1}"


def read_csv(src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
    decoded = read_decoded(src, options.encoding)
    if isinstance(decoded, Reject):
        yield decoded
        return
    lines = decoded.lines
    header_idx = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if header_idx is None:  # a byte-order mark or blank lines only
        yield Reject(src.label, "", "empty file")
        return
    delimiter = _delimiter(src, lines[header_idx])
    records = _csv_records(lines, delimiter)
    header: list[str] | None = None
    mapping: dict[str, str] = {}
    n_rows = 0
    for first, last, row in records:
        where = f"line {first}"
        raw_text = "".join(lines[first - 1 : last])
        if header is None:
            if isinstance(row, str) or not row:
                if isinstance(row, str):
                    yield Reject(src.label, where, f"{row} (in the header row)", excerpt(raw_text))
                    return
                continue
            bad = decoded.first_bad(first, last)
            if bad is not None:
                yield Reject(
                    src.label,
                    where,
                    bad.describe(options.encoding) + " (in the header row)",
                    excerpt(raw_text),
                )
                return
            header = [h.strip() for h in row]
            mapping, problem = resolve_columns(header, options)
            if problem:
                yield Reject(src.label, "", problem, excerpt(raw_text))
                return
            continue
        if isinstance(row, str):
            n_rows += 1  # counted, so default ids (stem#n) do not shift once the row is fixed
            yield Reject(src.label, where, row, excerpt(lines[first - 1]))
            continue
        if not row or not any(cell.strip() for cell in row):
            continue
        n_rows += 1
        bad = decoded.first_bad(first, last)
        if bad is not None:
            yield Reject(src.label, where, bad.describe(options.encoding), excerpt(raw_text))
            continue
        if len(row) != len(header):
            yield Reject(
                src.label,
                where,
                f"broken CSV row: {len(row)} fields but the header has {len(header)} "
                "(an unquoted delimiter or a broken quote?)",
                excerpt(raw_text),
            )
            continue
        yield guarded(
            src.label,
            where,
            row_to_report,
            dict(zip(header, row, strict=True)),
            mapping,
            src.label,
            where,
            f"{src.stem}#{n_rows}",
            f"{src.label}:{first}",
            options,
        )
    if header is not None and n_rows == 0:
        yield Reject(src.label, "", "no data rows (header only)", excerpt(",".join(header)))


# ---------------------------------------------------------------- JSON Lines / JSON
def guarded(label: str, where: str, make: Any, *args: Any) -> Report | Reject:
    """One record's conversion; a value too deep or too large to handle is that record's reject."""
    try:
        return make(*args)
    except (RecursionError, ValueError, TypeError) as e:
        return Reject(label, where, f"invalid record: {type(e).__name__}: {str(e)[:200]}")


def _object_to_report(
    obj: Any,
    options: IngestOptions,
    label: str,
    where: str,
    default_id: str,
    source: str,
    raw: str,
) -> Report | Reject:
    if not isinstance(obj, dict):
        return Reject(
            label,
            where,
            f"invalid record: expected a JSON object, got {_json_type(obj)}",
            excerpt(raw),
        )
    mapping, problem = resolve_columns([str(k) for k in obj], options, noun="field")
    if problem:
        return Reject(label, where, problem, excerpt(raw))
    return row_to_report(obj, mapping, label, where, default_id, source, options, "field")


def _guarded_object(
    src: Source,
    options: IngestOptions,
    where: str,
    obj: Any,
    default_id: str,
    source: str,
    raw: str,
) -> Report | Reject:
    """One JSON value as a report, or as that record's reject (see guarded)."""
    return guarded(
        src.label, where, _object_to_report, obj, options, src.label, where, default_id, source, raw
    )


def _item_text(obj: Any) -> str:
    try:
        return json.dumps(obj, ensure_ascii=False)[:1000]
    except (RecursionError, ValueError):
        return ""


def read_jsonl(src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
    decoded = read_decoded(src, options.encoding)
    if isinstance(decoded, Reject):
        yield decoded
        return
    nonblank = [no for no, ln in enumerate(decoded.lines, start=1) if ln.strip()]
    if not nonblank:
        yield Reject(src.label, "", "empty file")
        return
    if src.suffix not in JSONL_SUFFIXES:
        doc, problem = (None, "") if decoded.bad else load_json("".join(decoded.lines))
        lines_form = problem is not None and looks_like_json_lines(decoded.lines)
        if not lines_form:
            yield from _json_document(src, options, decoded, doc, problem)
            return
    n = 0
    for no in nonblank:
        line = decoded.lines[no - 1]
        n += 1
        where = f"line {no}"
        bad = decoded.bad.get(no)
        if bad is not None:
            yield Reject(src.label, where, bad.describe(options.encoding), excerpt(line))
            continue
        obj, problem = load_json(line)
        if problem is not None:
            yield Reject(src.label, where, problem.replace(" (line 1, ", " ("), excerpt(line))
            continue
        yield _guarded_object(
            src, options, where, obj, f"{src.stem}#{n}", f"{src.label}:{no}", line
        )


def _json_document(
    src: Source, options: IngestOptions, decoded: Any, doc: Any, problem: str | None
) -> Iterator[Report | Reject]:
    """A file that is one JSON document: an array of records or a single record."""
    if decoded.bad:
        bad = next(iter(decoded.bad.values()))
        yield Reject(src.label, f"line {bad.line}", bad.describe(options.encoding))
        return
    if problem is not None:
        yield Reject(src.label, "", problem, excerpt("".join(decoded.lines[:5])))
        return
    items = doc if isinstance(doc, list) else [doc]
    for i, obj in enumerate(items, start=1):
        where = f"item {i}" if isinstance(doc, list) else ""
        yield _guarded_object(
            src,
            options,
            where,
            obj,
            f"{src.stem}#{i}",
            f"{src.label}:{where or 'document'}",
            _item_text(obj),
        )


# ---------------------------------------------------------------- Parquet
def read_parquet(src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
    import pandas as pd

    data = src.read_bytes()
    if not data:
        yield Reject(src.label, "", "empty file")
        return
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as e:  # pyarrow raises several types for corrupt files
        yield Reject(src.label, "", f"unreadable Parquet: {type(e).__name__}: {e}")
        return
    columns = [str(c) for c in frame.columns]
    mapping, problem = resolve_columns(columns, options)
    if problem:
        yield Reject(src.label, "", problem)
        return
    if frame.empty:
        yield Reject(src.label, "", "no data rows")
        return
    frame.columns = columns
    for i, row in enumerate(frame.to_dict("records"), start=1):
        yield guarded(
            src.label,
            f"row {i}",
            row_to_report,
            row,
            mapping,
            src.label,
            f"row {i}",
            f"{src.stem}#{i}",
            f"{src.label}:row {i}",
            options,
        )
