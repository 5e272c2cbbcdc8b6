"""SQLite store of drafts, reviews and imported evaluation runs.

One file, WAL mode, so the review pages read while the API writes. A draft is
committed before its response is sent: a client that got an id can always
find it again, even if the server is killed the next instant. Schema changes
are numbered migrations tracked in ``PRAGMA user_version``, so an old
database opens with a new server without losing reviews.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

STATUSES = ("draft", "accepted", "edited", "rejected")
REVIEWED = ("accepted", "edited", "rejected")

MIGRATIONS: list[str] = [
    # 1: drafts and their review
    """
    CREATE TABLE drafts (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        request_id TEXT,
        origin TEXT NOT NULL DEFAULT 'api',
        report_id TEXT,
        model_name TEXT NOT NULL,
        model_version TEXT NOT NULL,
        findings TEXT NOT NULL,
        indication TEXT,
        exam TEXT,
        reference TEXT,
        candidates TEXT NOT NULL,
        warnings TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'draft'
            CHECK (status IN ('draft', 'accepted', 'edited', 'rejected')),
        final_text TEXT,
        working_text TEXT,
        reviewer TEXT,
        opened_at REAL,
        reviewed_at REAL,
        review_seconds REAL
    );
    CREATE INDEX drafts_status ON drafts (status, created_at);
    CREATE INDEX drafts_model ON drafts (model_name, model_version);
    """,
    # 2: evaluation runs imported from `radimpress evaluate`
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        imported_at REAL NOT NULL,
        source_dir TEXT NOT NULL,
        model_name TEXT,
        model_version TEXT,
        metrics TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE run_reports (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        report_id TEXT NOT NULL,
        draft_id TEXT NOT NULL REFERENCES drafts (id),
        scores TEXT NOT NULL DEFAULT '{}',
        warning_types TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (run_id, report_id)
    );
    """,
    # 3: which front door a live draft came through (rest, fhir, hl7); 'origin' still
    # tells live drafts ('api') from imported evaluation runs
    """
    ALTER TABLE drafts ADD COLUMN channel TEXT NOT NULL DEFAULT 'rest';
    """,
]


class AlreadyDecided(RuntimeError):
    """Someone decided this draft already; it has to be reopened before a new decision."""


def _now() -> float:
    return time.time()


def new_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class Draft:
    id: str
    created_at: float
    model_name: str
    model_version: str
    findings: str
    candidates: list[str]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    status: str = "draft"
    origin: str = "api"
    request_id: str | None = None
    report_id: str | None = None
    indication: str | None = None
    exam: str | None = None
    reference: str | None = None
    final_text: str | None = None
    working_text: str | None = None
    reviewer: str | None = None
    opened_at: float | None = None
    reviewed_at: float | None = None
    review_seconds: float | None = None
    channel: str = "rest"  # the front door: rest, fhir or hl7

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Draft:
        d = dict(row)
        d["candidates"] = json.loads(d["candidates"])
        d["warnings"] = json.loads(d["warnings"])
        return cls(**d)

    def insert_values(self) -> tuple[Any, ...]:
        """The values for INSERT_DRAFT; review columns start empty, so a new draft is unreviewed."""
        return (
            self.id,
            self.created_at,
            self.request_id,
            self.origin,
            self.report_id,
            self.model_name,
            self.model_version,
            self.findings,
            self.indication,
            self.exam,
            self.reference,
            json.dumps(self.candidates, ensure_ascii=False),
            json.dumps(self.warnings, ensure_ascii=False),
            self.status,
            self.channel,
        )

    @property
    def text_for_review(self) -> str:
        """What the reviewer sees in the editor: their saved edit, else the top draft."""
        if self.working_text is not None:
            return self.working_text
        if self.final_text is not None:
            return self.final_text
        return self.candidates[0] if self.candidates else ""


INSERT_DRAFT = (
    "INSERT INTO drafts (id, created_at, request_id, origin, report_id, model_name,"
    " model_version, findings, indication, exam, reference, candidates, warnings,"
    " status, channel) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


class Store:
    """Thread-safe access to one database file (one connection, one lock).

    SQLite serialises writers anyway; one connection keeps WAL checkpoints and
    the lock simple. Each call is short (milliseconds), and the server calls
    it from worker threads, never from the event loop.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL survives a killed process (the WAL is in the OS cache); FULL
        # would also survive power loss at the cost of an fsync per draft.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self.migrate()

    # -- schema ---------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        with self._lock:
            version = self.schema_version
            if version > len(MIGRATIONS):
                raise RuntimeError(
                    f"{self.path}: database schema {version} is newer than this radimpress "
                    f"({len(MIGRATIONS)}); upgrade radimpress"
                )
            for number, sql in enumerate(MIGRATIONS[version:], start=version + 1):
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in sql.split(";"):
                        if statement.strip():
                            self._conn.execute(statement)
                    self._conn.execute(f"PRAGMA user_version={number}")
                    self._conn.execute("COMMIT")
                except Exception:
                    self._conn.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- drafts ---------------------------------------------------------

    def add_drafts(self, drafts: Sequence[Draft]) -> None:
        """Insert drafts in one transaction; returns after COMMIT."""
        rows = [d.insert_values() for d in drafts]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(INSERT_DRAFT, rows)
                self._conn.execute("COMMIT")
            except Exception:
                self._conn.execute("ROLLBACK")
                raise

    def get_draft(self, draft_id: str) -> Draft | None:
        with self._lock:
            row = self._conn.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,)).fetchone()
        return Draft.from_row(row) if row else None

    def list_drafts(
        self,
        status: str | None = "draft",
        origin: str | None = "api",
        model_version: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Draft]:
        where, params = self._filters(status, origin, model_version)
        order = "ASC" if status == "draft" else "DESC"  # oldest waiting first
        with self._lock:
            rows = self._conn.execute(
                f"SELECT * FROM drafts {where} ORDER BY created_at {order}, id LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [Draft.from_row(r) for r in rows]

    def count_drafts(self, status: str | None = None, origin: str | None = None) -> int:
        where, params = self._filters(status, origin, None)
        with self._lock:
            return int(
                self._conn.execute(f"SELECT COUNT(*) FROM drafts {where}", params).fetchone()[0]
            )

    @staticmethod
    def _filters(status, origin, model_version) -> tuple[str, tuple]:
        clauses, params = [], []
        for column, value in (
            ("status", status),
            ("origin", origin),
            ("model_version", model_version),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if status == "draft" and not origin:
            # Imported evaluation rows are stored unreviewed, but nobody is waiting on them:
            # "waiting" across origins means waiting for a reviewer.
            clauses.append("origin != 'evaluation'")
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def next_draft_id(self, after: Draft) -> str | None:
        """The next draft waiting for review (same origin), for 'next' after a decision."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id FROM drafts WHERE status = 'draft' AND origin = ? AND id != ?"
                " ORDER BY (created_at < ?), created_at, id LIMIT 1",
                (after.origin, after.id, after.created_at),
            ).fetchone()
        return row[0] if row else None

    def mark_opened(self, draft_id: str) -> None:
        """Start the review clock the first time a reviewer opens the draft."""
        with self._lock:
            self._conn.execute(
                "UPDATE drafts SET opened_at = ? WHERE id = ? AND opened_at IS NULL",
                (_now(), draft_id),
            )

    def save_edit(self, draft_id: str, text: str) -> str:
        """Keep the reviewer's text as they type; the status is unchanged until they decide.

        Returns "saved", "missing" or "decided" (a decided draft's text is final).
        """
        with self._lock:
            cur = self._conn.execute(
                "UPDATE drafts SET working_text = ? WHERE id = ? AND status = 'draft'",
                (text, draft_id),
            )
            if cur.rowcount == 1:
                return "saved"
            row = self._conn.execute("SELECT 1 FROM drafts WHERE id = ?", (draft_id,)).fetchone()
        return "decided" if row else "missing"

    def decide(self, draft_id: str, decision: str, reviewer: str, text: str | None = None) -> Draft:
        """Accept (as drafted or edited) or reject; an accepted text that differs is 'edited'."""
        draft = self.get_draft(draft_id)
        if draft is None:
            raise KeyError(draft_id)
        if decision not in ("accept", "reject", "reopen"):
            raise ValueError(f"unknown decision '{decision}'")
        if decision != "reopen" and draft.status != "draft":
            raise AlreadyDecided(
                f"already {draft.status} by {draft.reviewer or 'someone'}; reopen it first"
            )
        now = _now()
        if decision == "reopen":
            status, final = "draft", None
        elif decision == "reject":
            status, final = "rejected", None
        else:
            final = (text if text is not None else draft.text_for_review).strip()
            if not final:
                raise ValueError("cannot accept an empty impression")
            # Taking any of the model's candidates as is counts as accepting the draft.
            status = "accepted" if final in {c.strip() for c in draft.candidates} else "edited"
        opened = draft.opened_at or now
        seconds = None if decision == "reopen" else round(now - opened, 3)
        with self._lock:
            # Only if nobody decided in between (two reviewers on one draft).
            cur = self._conn.execute(
                "UPDATE drafts SET status = ?, final_text = ?, working_text = ?, reviewer = ?,"
                " reviewed_at = ?, review_seconds = ? WHERE id = ? AND status = ?",
                (
                    status,
                    final,
                    final if final is not None else draft.working_text,
                    None if decision == "reopen" else reviewer,
                    None if decision == "reopen" else now,
                    seconds,
                    draft_id,
                    draft.status,
                ),
            )
        if cur.rowcount != 1:
            raise AlreadyDecided("decided by someone else meanwhile; reload the page")
        return self.get_draft(draft_id)  # type: ignore[return-value]

    def reviewed(self, statuses: Iterable[str] = ("accepted", "edited")) -> list[Draft]:
        statuses = tuple(statuses)
        marks = ",".join("?" * len(statuses))
        with self._lock:
            rows = self._conn.execute(
                f"SELECT * FROM drafts WHERE status IN ({marks}) ORDER BY reviewed_at, id", statuses
            ).fetchall()
        return [Draft.from_row(r) for r in rows]

    def review_stats(self) -> list[dict[str, Any]]:
        """Acceptance and edit rate per model version: the feedback loop's scoreboard."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT model_name, model_version, COUNT(*) AS drafts,"
                " SUM(status = 'accepted') AS accepted, SUM(status = 'edited') AS edited,"
                " SUM(status = 'rejected') AS rejected, SUM(status = 'draft') AS waiting,"
                " AVG(review_seconds) AS mean_review_seconds"
                " FROM drafts WHERE origin = 'api' GROUP BY model_name, model_version"
                " ORDER BY MIN(created_at)"
            ).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            decided = d["accepted"] + d["edited"] + d["rejected"]
            d["reviewed"] = decided
            d["acceptance_rate"] = (d["accepted"] + d["edited"]) / decided if decided else None
            d["unchanged_rate"] = d["accepted"] / decided if decided else None
            d["edit_rate"] = d["edited"] / decided if decided else None
            d["reject_rate"] = d["rejected"] / decided if decided else None
            out.append(d)
        return out

    # -- evaluation runs --------------------------------------------------

    def add_run(
        self,
        run_id: str,
        name: str,
        source_dir: str,
        model_name: str | None,
        model_version: str | None,
        metrics: dict[str, Any],
        rows: Sequence[tuple[Draft, dict[str, float]]],
    ) -> None:
        """Store a run and one draft per report (so each row opens the report page)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                old = [
                    r[0]
                    for r in self._conn.execute(
                        "SELECT draft_id FROM run_reports WHERE run_id = ?", (run_id,)
                    )
                ]
                self._conn.execute("DELETE FROM run_reports WHERE run_id = ?", (run_id,))
                self._conn.executemany(
                    "DELETE FROM drafts WHERE id = ? AND origin = 'evaluation'", [(i,) for i in old]
                )
                self._conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
                self._conn.execute(
                    "INSERT INTO runs (id, name, imported_at, source_dir, model_name, model_version,"
                    " metrics) VALUES (?,?,?,?,?,?,?)",
                    (
                        run_id,
                        name,
                        _now(),
                        source_dir,
                        model_name,
                        model_version,
                        json.dumps(metrics, ensure_ascii=False),
                    ),
                )
                for d, scores in rows:
                    # Stored as unreviewed evaluation drafts, whatever the caller's draft says.
                    d = replace(d, origin="evaluation", request_id=None, status="draft")
                    self._conn.execute(INSERT_DRAFT, d.insert_values())
                    types = ",".join(sorted({str(w.get("type", "")) for w in d.warnings}))
                    self._conn.execute(
                        "INSERT INTO run_reports (run_id, report_id, draft_id, scores, warning_types)"
                        " VALUES (?,?,?,?,?)",
                        (run_id, d.report_id, d.id, json.dumps(scores), types),
                    )
                self._conn.execute("COMMIT")
            except Exception:
                self._conn.execute("ROLLBACK")
                raise

    def runs(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT r.*, COUNT(rr.report_id) AS reports FROM runs r"
                " LEFT JOIN run_reports rr ON rr.run_id = r.id GROUP BY r.id ORDER BY r.imported_at"
            ).fetchall()
        return [{**dict(r), "metrics": json.loads(r["metrics"])} for r in rows]

    def run_reports(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT rr.report_id, rr.draft_id, rr.scores, rr.warning_types, d.candidates,"
                " d.reference FROM run_reports rr JOIN drafts d ON d.id = rr.draft_id"
                " WHERE rr.run_id = ?",
                (run_id,),
            ).fetchall()
        out = []
        for r in rows:
            cands = json.loads(r["candidates"])
            out.append(
                {
                    "report_id": r["report_id"],
                    "draft_id": r["draft_id"],
                    "scores": json.loads(r["scores"]),
                    "warning_types": [t for t in r["warning_types"].split(",") if t],
                    "prediction": cands[0] if cands else "",
                    "reference": r["reference"] or "",
                }
            )
        return out
