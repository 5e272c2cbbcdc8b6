"""Excel workbooks (.xlsx, .xlsm): the table a department most often has its reports in.

A worksheet is read as a CSV is (``tabular``): the first non-empty row is the
header, columns map to Report fields by ``--findings-col`` ... or their usual
names, and a whole report in one column is split into its sections. Every
sheet whose header names findings (or a whole report) is read; a sheet that
does not is one reject naming it, so a "Notes" sheet costs one line, not the
file. Locations are the row numbers Excel shows (``row 2`` is the first data
row under a header in row 1), with the sheet's name when the workbook has more
than one.

An .xlsx is a zip archive, so the same caps as any archive apply before
openpyxl inflates it: no member larger than ``--max-file-mb`` and no ratio
above ``--max-ratio``, checked from the declared sizes before anything is
inflated. openpyxl reads in read-only mode (rows streamed, formulas as their
cached values).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from typing import Any

from radimpress.ingest.options import IngestOptions
from radimpress.ingest.sources import Source, zip_declared_problem
from radimpress.ingest.tabular import guarded, resolve_columns, row_to_report
from radimpress.records import Reject, Report

EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def detect(src: Source, head: bytes) -> bool:
    return src.suffix in EXCEL_SUFFIXES and head.startswith(b"PK")


def _over_a_cap(data: bytes, options: IngestOptions) -> str | None:
    """Why this workbook must not be inflated (a broken zip, a bomb), or None."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as e:
        return f"unreadable Excel workbook: {e}"
    problem = zip_declared_problem(members, options, len(data))
    return f"Excel workbook not read: {problem}" if problem else None


def _cell(v: Any) -> Any:
    # a date typed into a comparison or indication column is text to a report; Excel
    # stores every date as a date and time
    if isinstance(v, dt.datetime) and v.time() == dt.time(0):
        v = v.date()
    return v.isoformat() if isinstance(v, (dt.date, dt.time)) else v


def read(src: Source, options: IngestOptions) -> Iterator[Report | Reject]:
    try:
        import openpyxl
    except ImportError:
        yield Reject(
            src.label, "", "reading Excel needs openpyxl: pip install 'radimpress[formats]'"
        )
        return
    data = src.read_bytes()
    problem = _over_a_cap(data, options)
    if problem:
        yield Reject(src.label, "", problem)
        return
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - openpyxl raises many types for broken workbooks
        yield Reject(src.label, "", f"unreadable Excel workbook: {type(e).__name__}: {e}")
        return
    try:
        sheets = book.worksheets
        n_rows = 0
        empty, headed = True, False
        for sheet in sheets:
            at = f"sheet '{sheet.title}' " if len(sheets) > 1 else ""
            header: list[str] | None = None
            mapping: dict[str, str] = {}
            for excel_row, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                if not any(v is not None and str(v).strip() for v in values):
                    continue
                empty = False
                if header is None:
                    header = [str(v).strip() if v is not None else "" for v in values]
                    mapping, problem = resolve_columns(header, options)
                    if problem:
                        yield Reject(src.label, at.strip(), problem)
                        break
                    headed = True
                    continue
                n_rows += 1
                where = f"{at}row {excel_row}"
                row = {
                    col: _cell(v)
                    for col, v in zip(header, values, strict=False)
                    if col  # a column without a header holds nothing we can name
                }
                yield guarded(
                    src.label,
                    where,
                    row_to_report,
                    row,
                    mapping,
                    src.label,
                    where,
                    f"{src.stem}#{n_rows}",
                    f"{src.label}:{where}",
                    options,
                )
        if empty:
            yield Reject(src.label, "", "empty workbook")
        elif headed and n_rows == 0:
            yield Reject(src.label, "", "no data rows (header only)")
    finally:
        book.close()
