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
    # Put the best-ranked candidate without a high-severity safety warning first.
    safe_select: bool = True
    # Run the safety checks in a separate process: the parser holds the GIL, so in a
    # thread it takes turns with the model instead of using another core.
    safety_process: bool = False
    # Input limits (a report's findings are rarely over 5,000 characters).
    max_findings_chars: int = 20_000
    max_field_chars: int = 5_000
    max_batch_items: int = 64
    max_candidates: int = 8
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
