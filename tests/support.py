"""What the tests share: a small synthetic report corpus, tiny recipes, and server helpers.

No real data in unit tests. The impression is a deterministic function of
the findings, so a model that learns anything should beat chance on them,
fast enough for CPU tests. Fixtures built on these live in conftest.py.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import radimpress
from radimpress.models.base import build_model
from radimpress.models.baselines import RetrievalModel
from radimpress.models.recipes import Recipe, parse_recipe
from radimpress.models.training import TrainingData, training_recipe
from radimpress.records import Report, write_jsonl

_FINDINGS = [
    (
        "The heart size is normal. The lungs are clear. No pleural effusion or pneumothorax.",
        "No acute cardiopulmonary disease.",
    ),
    ("Heart is enlarged. Lungs are clear. No effusion.", "Cardiomegaly without acute disease."),
    (
        "Large left pleural effusion with adjacent atelectasis. Heart size normal.",
        "Large left pleural effusion.",
    ),
    ("Small right pleural effusion. Lungs otherwise clear.", "Small right pleural effusion."),
    ("Right upper lobe consolidation. Heart normal. No effusion.", "Right upper lobe pneumonia."),
    ("Left lower lobe opacity suggesting pneumonia. Heart normal.", "Left lower lobe pneumonia."),
    ("Small left apical pneumothorax. Lungs otherwise clear.", "Small left pneumothorax."),
    (
        "Hyperinflated lungs with flattened diaphragms. No focal consolidation.",
        "Emphysema. No acute disease.",
    ),
]
_EXTRAS = [
    "",
    " Degenerative changes of the spine.",
    " Stable surgical clips.",
    " Calcified granuloma.",
]


def synthetic_reports(n: int, seed: int = 0, prefix: str = "r") -> list[Report]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        findings, impression = _FINDINGS[rng.randrange(len(_FINDINGS))]
        extra = _EXTRAS[rng.randrange(len(_EXTRAS))]
        exam = "XR CHEST 2 VIEWS" if i % 3 == 0 else None
        out.append(Report(f"{prefix}{i}", findings + extra, impression, exam=exam))
    return out


def write_dataset(folder, n_train: int = 48, n_val: int = 8, n_test: int = 8):
    """A dataset folder in the layout `radimpress dataset build` writes."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "train.jsonl", synthetic_reports(n_train, 1, "tr"))
    write_jsonl(folder / "validation.jsonl", synthetic_reports(n_val, 2, "va"))
    write_jsonl(folder / "test.jsonl", synthetic_reports(n_test, 3, "te"))
    (folder / "manifest.json").write_text('{"name": "synthetic"}')
    return folder


TINY_SHAPES = {
    "seq2seq": (
        "t5-tiny",
        {
            "d_model": 32,
            "d_ff": 64,
            "d_kv": 8,
            "num_heads": 2,
            "num_layers": 1,
            "num_decoder_layers": 1,
        },
    ),
    "causal": (
        "llama-tiny",
        {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
        },
    ),
}


def tiny_recipe(kind: str, **groups) -> dict:
    """A recipe for a model of a few thousand parameters: seconds to train on one thread."""
    size, overrides = TINY_SHAPES[kind]
    recipe = {
        "kind": kind,
        "name": f"tiny-{kind}",
        "scratch": {"size": size, "vocab_size": 120, "overrides": overrides},
        "prompt": {"rag_k": 1},
        "train": {
            "max_steps": 6,
            "batch_size": 8,
            "lr": 0.01,
            "eval_samples": 0,
            "seed": 5,
            "log_every": 1,
        },
        "generation": {"num_beams": 2, "max_new_tokens": 8, "batch_size": 4, "progress": False},
    }
    for group, values in groups.items():
        recipe[group] = {**recipe.get(group, {}), **values} if isinstance(values, dict) else values
    return recipe


def recipe_of(tree: dict | Recipe) -> Recipe:
    return tree if isinstance(tree, Recipe) else parse_recipe(tree, "test recipe")


def build(tree: dict | Recipe):
    """An untrained model for a recipe tree."""
    return build_model(recipe_of(tree))


def built(tree: dict | Recipe, train: list[Report]):
    """A neural model with its network built (tokenizer learnt from ``train``), not trained."""
    from radimpress.models.scratch import train_tokenizer

    model = build(tree)
    model.builder.fit(train)
    scratch = model.recipe.scratch
    tokenizer = (
        train_tokenizer(
            model.tokenizer_texts(train), scratch.vocab_size, add_bos=model.scratch_adds_bos
        )
        if scratch
        else None
    )
    model.build(tokenizer)
    return model


def train_tiny(tree, train, validation=(), work_dir=None, resume=False):
    """Train a recipe through its training recipe object; returns (model, metrics)."""
    runner = training_recipe(
        recipe_of(tree), TrainingData(list(train), list(validation)), work_dir, resume
    )
    model = runner.run()
    return model, runner.metrics


# -- serving --------------------------------------------------------------------

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
    """Wraps a model, counting generate calls and their batch sizes; raises on a marker word.

    It takes a beam width like a neural model does, so the server's options reach it.
    """

    kind = "counting"
    decoding_options = frozenset({"num_beams"})

    def __init__(self, inner, fail_on: str | None = None, delay: float = 0.0):
        self.inner, self.fail_on, self.delay = inner, fail_on, delay
        self.calls: list[int] = []
        self.beams: list[int | None] = []
        self.warm_ups = 0
        self.progress = True

    def info(self):
        return {"name": "counting", "version": "test", "kind": self.kind}

    def candidate_pool(self, **decoding):
        return 1

    def generate(self, reports, num_candidates=1, num_beams=None):
        if [r.id for r in reports] == ["warm-up"]:  # the server's start-up draft: not counted
            self.warm_ups += 1
            return self.inner.generate(reports, num_candidates)
        self.calls.append(len(reports))
        self.beams.append(num_beams)
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


# -- a Ray cluster on the loopback ------------------------------------------------

RAY_HOST = "127.0.0.2"  # Ray rewrites 127.0.0.1 / localhost to the machine's network address


def ray_env(**extra: str) -> dict[str, str]:
    """Environment of Ray nodes and drivers: this checkout's radimpress, one thread, no token."""
    src = str(Path(radimpress.__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        "PYTHONPATH": f"{src}:{path}" if path else src,
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "disabled",  # nothing outside the loopback can reach this cluster
        "RADIMPRESS_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        **extra,
    }


def _ray_node(*args: str, log: Path, cpus: int) -> subprocess.Popen:
    ports = (
        "--node-manager-port",
        "--object-manager-port",
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
        "--metrics-export-port",
    )
    cmd = [
        str(Path(sys.executable).parent / "ray"),
        "start",
        "--block",
        f"--node-ip-address={RAY_HOST}",
        f"--num-cpus={cpus}",
        "--object-store-memory=80000000",
        "--disable-usage-stats",
        *[f"{p}={free_port()}" for p in ports],
        *args,
    ]
    return subprocess.Popen(
        cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=ray_env(), start_new_session=True
    )


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the node's process group, SIGKILL if it is still there after 5 s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(5)
            return
        except subprocess.TimeoutExpired:
            continue


def _alive_nodes(address: str) -> int:
    """The cluster's live nodes, as a driver in a process of its own counts them.

    No Ray driver runs in the test process: a driver leaves native threads
    behind after ``ray.shutdown()``, and a fresh-clone CI run died with a
    segmentation fault (exit 139) in a later test's native code.
    """
    script = (
        "import ray, sys; "
        f"ray.init(address={address!r}, _node_ip_address={RAY_HOST!r}, log_to_driver=False); "
        "print(sum(1 for n in ray.nodes() if n['Alive'])); ray.shutdown()"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env=ray_env(),
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        # a head slow to answer on a loaded machine (ray.init retries its connection): ask again
        return 0
    lines = done.stdout.split()
    return int(lines[-1]) if done.returncode == 0 and lines and lines[-1].isdigit() else 0


@contextlib.contextmanager
def ray_cluster(cpus_per_node: int = 2, timeout: float = 180):
    """A head and a second node (`ray start --address`) on the loopback; yields the address.

    Each node is a ``ray start --block`` in its own process group with free
    ports, stopped on exit, so nothing touches another Ray on the machine.
    """
    temp = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths
    port = free_port()
    address = f"{RAY_HOST}:{port}"
    nodes = [
        _ray_node(
            "--head",
            f"--port={port}",
            "--include-dashboard=false",
            f"--temp-dir={temp}",
            log=temp / "head.log",
            cpus=cpus_per_node,
        )
    ]
    try:
        deadline = time.monotonic() + timeout
        while not (temp / "session_latest").exists():
            if nodes[0].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((temp / "head.log").read_text()[-3000:])
            time.sleep(0.5)
        nodes.append(_ray_node(f"--address={address}", log=temp / "node2.log", cpus=cpus_per_node))
        while True:
            if _alive_nodes(address) == 2:
                break
            if time.monotonic() > deadline:
                logs = "".join(
                    f"\n--- {name} ---\n" + (temp / name).read_text(errors="replace")[-2000:]
                    for name in ("head.log", "node2.log")
                    if (temp / name).exists()
                )
                raise RuntimeError(f"the second Ray node did not join in {timeout:.0f} s{logs}")
            time.sleep(1)
        yield address
    finally:
        for proc in reversed(nodes):
            _stop_group(proc)
        shutil.rmtree(temp, ignore_errors=True)


@contextlib.contextmanager
def served_for_browser(tmp_path: Path):
    """The review app as the browser tests drive it: a saved model, alice's token, no checks.

    Yields (base URL, port, database path); the server is stopped afterwards.
    """
    db = tmp_path / "serve.db"
    port = free_port()
    proc = start_server(
        saved_model(tmp_path / "model"),
        db,
        port,
        "--no-safety-checks",
        log=tmp_path / "server.log",
        env={"RADIMPRESS_TOKENS": f"alice:{ALICE}"},
    )
    try:
        yield f"http://127.0.0.1:{port}", port, db
    finally:
        proc.terminate()
        proc.wait(timeout=10)
