"""Shared fixtures for the serve tests: a tiny retrieval model, a failing model,
and helpers to start a real uvicorn server in a subprocess."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from radimpress.models.baselines import RetrievalModel
from radimpress.records import Report

TOKEN = "alice:" + "a" * 24
ALICE = "a" * 24

TRAIN = [
    Report(
        "t1", "Heart size normal. Lungs clear. No effusion.", "No acute cardiopulmonary disease."
    ),
    Report("t2", "Lungs are clear. Normal heart size. No pneumothorax.", "No acute disease."),
    Report(
        "t3",
        "Large left pleural effusion with adjacent atelectasis.",
        "Large left pleural effusion.",
    ),
    Report("t4", "Moderate right pleural effusion. Heart normal.", "Right pleural effusion."),
    Report(
        "t5",
        "Right upper lobe consolidation compatible with pneumonia.",
        "Right upper lobe pneumonia.",
    ),
    Report(
        "t6", "Cardiomegaly with pulmonary vascular congestion.", "Cardiomegaly and mild edema."
    ),
]


def retrieval_model() -> RetrievalModel:
    model = RetrievalModel()
    model.fit(TRAIN)
    model.name, model.version = "retrieval-test", "v1"
    return model


def saved_model(directory: Path) -> Path:
    model = retrieval_model()
    model.save(directory)
    return directory


class CountingModel:
    """Wraps a model, counting generate calls and their batch sizes; raises on a marker word."""

    kind = "counting"

    def __init__(self, inner, fail_on: str | None = None, delay: float = 0.0):
        self.inner, self.fail_on, self.delay = inner, fail_on, delay
        self.calls: list[int] = []

    def info(self):
        return {"name": "counting", "version": "test", "kind": self.kind}

    def generate(self, reports, num_candidates=1):
        self.calls.append(len(reports))
        if self.delay:
            time.sleep(self.delay)
        if self.fail_on and any(self.fail_on in r.findings for r in reports):
            raise RuntimeError("model blew up on " + " ".join(r.findings for r in reports))
        return self.inner.generate(reports, num_candidates)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    model_dir: Path,
    db: Path,
    port: int,
    *extra: str,
    log: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """`radimpress serve` in a subprocess; returns once /readyz says ready."""
    cmd = [
        sys.executable,
        "-m",
        "radimpress",
        "serve",
        "--model",
        str(model_dir),
        "--db",
        str(db),
        "--port",
        str(port),
        *extra,
    ]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=full_env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            text = log.read_text() if log else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{text[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready in 90 s")


def write_eval_dir(path, system="retrieval", scores=(10.0, 80.0, 45.0)):
    """A folder shaped like `radimpress evaluate` output."""
    path.mkdir(parents=True)
    rows = [
        {
            "id": f"r{i}",
            "system": system,
            "rouge1": s + 5,
            "rouge2": s - 5,
            "rougeL": s,
            "rougeLsum": s,
            "prediction": f"prediction {i}",
            "reference": f"reference {i}",
            "findings": f"findings {i}",
        }
        for i, s in enumerate(scores)
    ]
    with (path / "per_report.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    metrics = {
        "created": "2026-11-26T00:00:00Z",
        "systems": [system],
        "metrics": {
            m: {"label": m.upper(), "scale": "F1 x 100"}
            for m in ("rouge1", "rouge2", "rougeL", "rougeLsum")
        },
        "aggregate": {system: {"rougeL": sum(scores) / len(scores)}},
        "options": {"primary_metric": "rougeL"},
    }
    (path / "metrics.json").write_text(json.dumps(metrics))
    return path
