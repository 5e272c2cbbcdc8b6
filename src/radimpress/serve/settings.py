"""Everything the server can be tuned with, in one serialisable object.

Kept as a plain dataclass (not read from globals) so tests build an app with
their own settings, and `radimpress serve --workers N` can hand the same
settings to each worker process through one environment variable.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SETTINGS_ENV = "RADIMPRESS_SERVE_SETTINGS"


@dataclass
class ServeSettings:
    model_dir: str | None = None
    # Neural models: "ctranslate2" (the copy `radimpress export` made), "hf" or "auto".
    backend: str = "auto"
    db_path: str = "radimpress.db"
    # Authentication: reviewer name -> token. Empty with insecure_local=False
    # means nobody can call the API, which is the safe failure.
    tokens: dict[str, str] = field(default_factory=dict)
    insecure_local: bool = False
    local_reviewer: str = "local"
    # Micro-batching: one generate call for up to max_batch_size reports, or
    # whatever has arrived max_wait_ms after the first one.
    batching: bool = True
    max_batch_size: int = 16
    max_wait_ms: float = 10.0
    # Run radimpress.safety on every candidate (when installed); off only for
    # benchmarks of the bare model or tests that do not need it.
    safety_checks: bool = True
    # Append the guideline follow-up the findings call for to every draft.
    recommend: bool = False
    # Put the best-ranked candidate without a high-severity safety warning first.
    safe_select: bool = True
    # ... and when every candidate has one, the findings' own sentences that pass.
    fallback: bool = True
    # Run the safety checks in a separate process: the parser holds the GIL, so in a
    # thread it takes turns with the model instead of using another core.
    safety_process: bool = False
    # Input limits. The work a request causes grows with its text (the safety checks
    # parse every findings once per candidate), so each one is bounded: a report's
    # findings are rarely over 5,000 characters. Over a limit: 422 naming the field and
    # the limit (a batch over max_batch_chars: 413 naming the limit).
    max_findings_chars: int = 20_000
    max_field_chars: int = 5_000  # indication, exam, comparison (and reference)
    max_batch_items: int = 64
    # Characters of findings and context fields in one /batch request, all reports together:
    # a batch this size is checked in about 10 s on an idle 2-core machine, well inside the
    # request deadline (the checks cost about 0.1-0.3 ms per character and candidate).
    max_batch_chars: int = 50_000
    max_candidates: int = 8
    # Request bodies are counted as they arrive, chunked or not: past this many bytes the
    # server answers 413 without reading further. It must hold a full batch (JSON may
    # spend up to 6 bytes on a character).
    max_body_bytes: int = 4 << 20
    # A draft that is not done this many seconds after its request arrived is answered 503
    # and its work is dropped (what is queued is never drafted); a body that has not
    # arrived in full by then is answered 408.
    request_timeout_s: float = 30.0
    # Requests with more characters of findings than this have their safety checks run in
    # a second, low-priority worker, so a big batch never holds up the checks of small
    # requests (the checks' cost grows faster than the text). 0 = one worker for all,
    # which saves the second worker's memory (about 0.4 GB with safety_process).
    safety_bulk_chars: int = 4_000
    # Where an evaluation run's "open report" links go and what the worklist shows.
    page_size: int = 50
    # An MLLP (HL7 v2) listener beside HTTP, sharing the drafting service; None = off.
    mllp_port: int | None = None
    mllp_host: str = "127.0.0.1"
    mllp_max_frame: int = 1 << 20
    mllp_scrub: bool = False
    # The model instance itself, when a test or the bench builds it in-process.
    model: Any = field(default=None, repr=False, compare=False)

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("model", None)
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        return cls(**json.loads(text))

    @classmethod
    def from_env(cls) -> ServeSettings:
        text = os.environ.get(SETTINGS_ENV)
        if not text:
            raise RuntimeError(
                f"{SETTINGS_ENV} is not set; start the server with `radimpress serve`"
            )
        return cls.from_json(text)

    @property
    def db(self) -> Path:
        return Path(self.db_path)
