"""`radimpress serve`, `radimpress mllp` and `radimpress feedback` (export reviewed drafts, import evaluation runs)."""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from radimpress.cli_flags import add_model_flag, output_folder
from radimpress.models.backends import BACKENDS
from radimpress.records import InputError
from radimpress.serve import mllp
from radimpress.serve.auth import load_tokens
from radimpress.serve.feedback import export_feedback
from radimpress.serve.pages import pct
from radimpress.serve.runs import import_run
from radimpress.serve.settings import SETTINGS_ENV, ServeSettings
from radimpress.serve.store import Store

DEFAULTS = ServeSettings()  # every flag's default is the setting's own


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """--help shows every default, and descriptions keep their line breaks."""


def build_settings(args: argparse.Namespace) -> ServeSettings:
    """Settings from `serve`/`mllp` arguments (their defaults are ServeSettings' own)."""
    host = getattr(args, "host", "127.0.0.1")
    insecure = getattr(args, "insecure_local", False)
    if insecure and host not in ("127.0.0.1", "localhost"):
        raise InputError(
            "--insecure-local only binds to 127.0.0.1; drop --host or drop --insecure-local"
        )
    tokens = {} if insecure else load_tokens(getattr(args, "tokens_file", None))
    if not tokens and not insecure and args.command == "serve":
        raise InputError(
            "no API tokens: give --tokens-file FILE (lines 'reviewer:token', tokens of at least "
            "16 characters) or set RADIMPRESS_TOKENS, or use --insecure-local to serve on "
            "127.0.0.1 without authentication"
        )
    model_dir = Path(args.model)
    if not (model_dir / "radimpress.json").exists():
        raise InputError(f"{model_dir}: not a radimpress model folder (no radimpress.json)")
    settings = ServeSettings(
        model_dir=str(model_dir),
        db_path=str(args.db),
        tokens=tokens,
        insecure_local=insecure,
        safety_checks=not args.no_safety_checks,
    )
    for name in _TUNABLE:
        value = getattr(args, name, None)
        if value is not None:
            setattr(settings, name, value)
    if getattr(args, "no_batching", False):
        settings.batching = False
    # The server checks in a separate process unless told otherwise; `radimpress mllp` in process.
    settings.safety_process = args.command == "serve" and not getattr(
        args, "safety_in_thread", False
    )
    settings.recommend = bool(getattr(args, "recommend", False))
    if getattr(args, "no_safe_select", False):
        settings.safe_select = False
    if getattr(args, "no_fallback", False):
        settings.fallback = False
    if getattr(args, "reviewer", None):
        settings.local_reviewer = args.reviewer
    if settings.mllp_port is not None and getattr(args, "workers", 1) > 1:
        raise InputError("--mllp-port needs --workers 1 (one listener per port)")
    return settings


# `serve` flags of the batching and limit settings: setting -> (flag, help); the type and
# default are the setting's own (ServeSettings).
LIMIT_FLAGS: dict[str, tuple[str, str]] = {
    "max_batch_size": ("--max-batch-size", "reports per model call"),
    "max_wait_ms": ("--max-wait-ms", "how long the first request of a batch waits for others"),
    "max_findings_chars": ("--max-findings-chars", "longer findings get 422"),
    "max_field_chars": ("--max-field-chars", "longer indication/exam/comparison get 422"),
    "max_batch_items": ("--max-batch-items", "reports per /batch call"),
    "max_batch_chars": (
        "--max-batch-chars",
        "characters of findings and context fields in one /batch call, all reports together; "
        "more gets 413",
    ),
    "max_candidates": ("--max-candidates", "most candidates a request may ask for"),
    "max_body_bytes": (
        "--max-body-bytes",
        "request bodies are counted as they arrive (chunked or not); past this many bytes the "
        "answer is 413 and the rest is not read",
    ),
    "request_timeout_s": (
        "--request-timeout",
        "seconds: a draft not done this long after its request arrived gets 503 and its queued "
        "work is dropped (a body not in by then gets 408); 0 = no deadline",
    ),
    "safety_bulk_chars": (
        "--safety-bulk-chars",
        "requests with more characters of findings than this are checked by a second, "
        "low-priority safety worker, so big batches never hold up small requests; 0 = one worker",
    ),
}
# Flags whose value is copied into ServeSettings as is (same name).
_TUNABLE = (
    *LIMIT_FLAGS,
    "backend",
    "mllp_port",
    "mllp_host",
    "mllp_max_frame",
    "mllp_scrub",
)


def log_config() -> dict:
    """uvicorn's logging plus our own logger; uvicorn's access log is off (ours has request ids)."""
    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["loggers"]["radimpress"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return cfg


def cmd_serve(args: argparse.Namespace) -> int:
    settings = build_settings(args)
    if args.import_run:
        store = Store(settings.db)
        for run_dir in args.import_run:
            print(f"imported {', '.join(import_run(store, run_dir))} from {run_dir}")
        store.close()
    else:
        Store(settings.db).close()  # create / migrate once, before workers race to do it
    os.environ[SETTINGS_ENV] = settings.to_json()
    auth = (
        "OFF (--insecure-local)" if settings.insecure_local else f"{len(settings.tokens)} token(s)"
    )
    print(
        f"radimpress serve: model {settings.model_dir} (backend {settings.backend}), "
        f"db {settings.db}, auth {auth}, "
        f"batching {'on' if settings.batching else 'off'} "
        f"(max {settings.max_batch_size} reports / {settings.max_wait_ms:g} ms); "
        f"review pages at http://{args.host}:{args.port}/review",
        file=sys.stderr,
    )
    uvicorn.run(
        "radimpress.serve.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=log_config(),
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        raise InputError(f"{args.db}: database not found")
    m = export_feedback(
        args.db,
        args.out,
        validation_fraction=args.validation_fraction,
        include_evaluation=args.include_evaluation,
    )
    c = m["counts"]
    print(
        f"exported {c['train'] + c['validation']} reviewed pairs ({c['accepted']} accepted as drafted, "
        f"{c['edited']} edited): train {c['train']}, validation {c['validation']} -> {args.out}"
    )
    return 0


def cmd_import_run(args: argparse.Namespace) -> int:
    store = Store(args.db)
    try:
        for run_dir in args.run:
            print(
                f"imported {', '.join(import_run(store, run_dir, name=args.name))} from {run_dir}"
            )
    finally:
        store.close()
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    if not Path(args.db).exists():
        raise InputError(f"{args.db}: database not found")
    store = Store(args.db)
    try:
        rows = store.review_stats()
    finally:
        store.close()
    print("model\tversion\tdrafts\treviewed\taccepted\tedited\trejected\tacceptance\tedit_rate")
    for r in rows:
        print(
            f"{r['model_name']}\t{r['model_version']}\t{r['drafts']}\t{r['reviewed']}\t{r['accepted']}\t"
            f"{r['edited']}\t{r['rejected']}\t{pct(r['acceptance_rate'])}\t{pct(r['edit_rate'])}"
        )
    return 0


MLLP_HELP = """Listen for HL7 v2 ORU^R01 messages over MLLP and answer each one that carries
findings (OBX-3 ending &GDT) with an ACK (MSA AA) and a new ORU^R01 whose
&IMP OBX holds the draft impression with result status P (preliminary).
Malformed messages get an AE/AR acknowledgement with the reason; garbage,
truncated and oversized frames never stop the listener.

Reads: --model (a folder written by `radimpress train`). Writes: every draft
to the SQLite database --db (the review pages of `radimpress serve --db` show
them); logs control ids and ACK codes, never report text. To run it beside
the HTTP API in one process, use `radimpress serve --mllp-port`.
"""


def cmd_mllp(args: argparse.Namespace) -> int:
    settings = build_settings(args)
    return mllp.run(settings, args.host, args.port, args.max_frame, args.scrub)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        formatter_class=_Help,
        description=(
            "Reads a model folder (--model) and serves POST /v1/impressions[/batch], review pages "
            "(/review), the evaluation dashboard (/dashboard), /docs, /healthz, /readyz, /metrics. "
            "Writes every draft and review to the SQLite database --db. Needs bearer tokens "
            "(--tokens-file or RADIMPRESS_TOKENS, entries 'reviewer:token') unless --insecure-local."
            "\n\nThe work of every request is bounded (the --max-* limits, --request-timeout): "
            "over a limit, the answer is 413 or 422 naming it; past the deadline, 503 and the "
            "request's queued work is dropped, as it is when the client disconnects. "
            "/openapi.json states these limits."
        ),
    )
    p.add_argument("--model", required=True, help="model folder (with radimpress.json)")
    p.add_argument("--db", default=DEFAULTS.db_path, help="SQLite database (created if absent)")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULTS.backend,
        help="neural models: ctranslate2 (the copy `radimpress export` made), hf (transformers), "
        "or auto: the CTranslate2 copy when the folder has one",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes (each loads the model)")
    p.add_argument(
        "--tokens-file",
        help="file of 'reviewer:token' lines; tokens need at least 16 characters "
        "(or set RADIMPRESS_TOKENS)",
    )
    p.add_argument(
        "--insecure-local", action="store_true", help="no authentication; only allowed on 127.0.0.1"
    )
    p.add_argument(
        "--reviewer",
        default=os.environ.get("USER", DEFAULTS.local_reviewer),
        help="reviewer name recorded with --insecure-local",
    )
    p.add_argument("--no-batching", action="store_true", help="one generate call per request")
    for name, (flag, help_text) in LIMIT_FLAGS.items():
        default = getattr(DEFAULTS, name)
        p.add_argument(
            flag,
            dest=name,
            type=type(default),
            default=default,
            metavar=name.upper(),
            help=help_text,
        )
    _safety_flags(p)
    p.add_argument(
        "--recommend",
        action="store_true",
        help="append the guideline follow-up the findings call for to every draft (the review "
        "page offers it either way)",
    )
    p.add_argument(
        "--safety-in-thread",
        action="store_true",
        help="run the safety checks in the server process (default: a separate process, so they "
        "use another core while the model drafts the next batch)",
    )
    p.add_argument(
        "--mllp-port",
        type=int,
        help="also listen for HL7 v2 over MLLP on this port, drafting like the HTTP API "
        "(stored, batched, in /metrics); needs --workers 1",
    )
    p.add_argument("--mllp-host", default=DEFAULTS.mllp_host, help="address of the MLLP listener")
    p.add_argument(
        "--import-run",
        action="append",
        metavar="DIR",
        help="import a `radimpress evaluate` output folder into the dashboard first",
    )
    p.set_defaults(func=cmd_serve)

    f = sub.add_parser(
        "feedback", help="export reviewed drafts as training data; import evaluation runs"
    )
    fsub = f.add_subparsers(dest="feedback_command", metavar="ACTION", required=True)
    e = fsub.add_parser(
        "export",
        help="write accepted/edited drafts as a dataset folder",
        description=(
            "Reads the serve database (--db) and writes DIR/train.jsonl, DIR/validation.jsonl "
            "(Report JSONL: impression = the reviewer's final text, sections.reviewer) and "
            "DIR/manifest.json, for `radimpress train --data DIR`."
        ),
    )
    e.add_argument("--db", required=True, help="serve database")
    e.add_argument("--out", required=True, type=output_folder, help="output dataset folder")
    e.add_argument("--validation-fraction", type=float, default=0.1)
    e.add_argument(
        "--include-evaluation",
        action="store_true",
        help="also export reviewed drafts that came from imported evaluation runs",
    )
    e.set_defaults(func=cmd_export)
    i = fsub.add_parser(
        "import-run",
        help="import `radimpress evaluate` output into the dashboard",
        description="Reads RUN_DIR/per_report.csv and RUN_DIR/metrics.json; writes runs to --db "
        "(re-importing a run replaces it).",
    )
    i.add_argument("--db", required=True, help="serve database (created if absent)")
    i.add_argument("--name", help="run name (default: folder name, plus ':system')")
    i.add_argument("run", nargs="+", help="evaluate output folder(s)")
    i.set_defaults(func=cmd_import_run)
    s = fsub.add_parser(
        "stats",
        help="acceptance and edit rate per model version",
        description="Reads --db; prints a tab-separated table.",
    )
    s.add_argument("--db", required=True)
    s.set_defaults(func=cmd_stats)

    m = sub.add_parser(
        "mllp",
        description=MLLP_HELP,
        formatter_class=_Help,
    )
    add_model_flag(m, metavar="DIR")
    m.add_argument(
        "--port", type=int, required=True, help="TCP port (0 picks a free one and prints it)"
    )
    m.add_argument("--host", default=DEFAULTS.mllp_host, help="address to bind (this machine only)")
    m.add_argument(
        "--db", default=DEFAULTS.db_path, help="SQLite database the drafts are stored in"
    )
    m.add_argument(
        "--max-frame",
        type=int,
        default=DEFAULTS.mllp_max_frame,
        metavar="BYTES",
        help="largest accepted frame",
    )
    _safety_flags(m)
    m.add_argument(
        "--scrub", action="store_true", help="scrub PHI from findings before the model sees them"
    )
    m.set_defaults(func=cmd_mllp)


def _safety_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-safety-checks",
        action="store_true",
        help="skip radimpress.safety warnings (benchmarks of the bare model only)",
    )
    p.add_argument(
        "--no-safe-select",
        action="store_true",
        help="keep the model's order even when its first candidate has a high-severity warning",
    )
    p.add_argument(
        "--no-fallback",
        action="store_true",
        help="when every candidate has a high-severity warning, keep the model's first instead "
        "of the findings' own sentences",
    )
