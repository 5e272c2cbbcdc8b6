"""`radimpress batch` on a two-node Ray cluster on the loopback: the drafts of `generate`, resumable.

The cluster is two ``ray start --block`` processes (a head and a second node
joining it), each in its own process group, stopped by the fixture; every
port is chosen free here so nothing collides with another Ray on the machine.

Every connection stays on the loopback (see `support.ray_cluster`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from radimpress.cli import main
from radimpress.drafting import batch  # Ray is a test dependency: fail, never skip
from radimpress.records import read_jsonl, write_jsonl
from support import ray_cluster, ray_env, saved_model, synthetic_reports


@pytest.fixture(scope="module")
def cluster():
    """A head and a second node on the loopback (2 CPUs each as Ray counts them)."""
    with ray_cluster() as address:
        yield address


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    model = saved_model(root / "model")
    reports = synthetic_reports(120, 7, "a")
    write_jsonl(root / "in.jsonl", reports)
    # Without the safety checks: each actor would load the clinical parser (seconds), and
    # they are the same code in both paths (tests/drafting/test_drafter.py covers them).
    assert main(["generate", "--model", str(model), "--input", str(root / "in.jsonl"),
                 "--output", str(root / "single.jsonl"), "--no-safety-checks"]) == 0  # fmt: skip
    single = {row["id"]: row for _, row in read_jsonl(root / "single.jsonl")}
    return root, model, single


def _batch_command(model, source, out, cluster, rows: int) -> list[str]:
    """`radimpress batch` as a user runs it: the driver is a process of its own (see
    `support._alive_nodes` for why no Ray driver runs inside the test process)."""
    return [sys.executable, "-m", "radimpress", "batch", "--model", str(model),
            "--input", str(source), "--output", str(out), "--ray", cluster,
            "--actors", "2", "--batch-size", str(rows), "--shard-rows", str(rows),
            "--no-safety-checks"]  # fmt: skip


def test_two_node_cluster_drafts_what_generate_drafts(cluster, archive, tmp_path):
    root, model, single = archive
    source, out = tmp_path / "in.jsonl", tmp_path / "out"
    blank = json.dumps({"id": "blank", "findings": "  "})  # rejected, as generate rejects it
    source.write_text((root / "in.jsonl").read_text() + f"{{not json\n{blank}\n", encoding="utf-8")
    cmd = _batch_command(model, source, out, cluster, 16)
    done = subprocess.run(cmd, capture_output=True, text=True, env=ray_env(), timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["actors"] == 2 and summary["drafted"] == len(single)
    assert batch.collect(out) == single
    rejects = [json.loads(line) for p in (out / "rejects").iterdir() for line in p.open()]
    reasons = sorted(r["reason"].split(": ", 1)[1] for r in rejects)
    assert len(reasons) == 2 and reasons[0] == "empty findings"
    assert reasons[1].startswith("invalid JSON")


def _shard_ids(out: Path) -> list[str]:
    return [json.loads(line)["id"] for p in sorted(out.glob("part-*.jsonl")) for line in p.open()]


@pytest.mark.slow  # about 100 s on the shared 2-core box: `pytest -m slow tests/drafting/test_batch.py`
def test_killed_run_resumes_without_losing_or_repeating_a_draft(cluster, archive, tmp_path):
    root, model, single = archive
    out = tmp_path / "out"
    cmd = _batch_command(model, root / "in.jsonl", out, cluster, 4)
    log = tmp_path / "killed.log"
    proc = subprocess.Popen(
        cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=ray_env(), start_new_session=True
    )
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*.jsonl"))) < 2 and time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()[-3000:]
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    # The dead driver's actors stop once Ray notices; wait until no shard appears any more.
    stable, count = time.monotonic(), -1
    while time.monotonic() - stable < 4:
        now = len(list(out.glob("part-*.jsonl")))
        if now != count:
            stable, count = time.monotonic(), now
        time.sleep(0.2)
    first = _shard_ids(out)
    assert 0 < len(first) < len(single), "the run should have been killed half way"
    assert len(set(first)) == len(first)

    done = subprocess.run(cmd, capture_output=True, text=True, env=ray_env(), timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["already_drafted"] == len(first)
    assert summary["drafted"] == len(single) - len(first)
    ids = _shard_ids(out)
    assert sorted(ids) == sorted(single)  # every report once: nothing lost, nothing twice
    assert batch.collect(out) == single
    assert not list(out.glob("*.tmp"))
    # A third run finds everything drafted and drafts nothing.
    third = subprocess.run(cmd, capture_output=True, text=True, env=ray_env(), timeout=240)
    assert third.returncode == 0 and "drafted 0 reports" in third.stdout, third.stdout[-2000:]


@pytest.mark.parametrize("with_candidates", [True, False])
def test_shards_are_named_by_their_ids_and_parquet_reads_back(tmp_path, with_candidates):
    """A retried write replaces its shard; a Parquet shard holds the same rows as JSONL,
    with every candidate's warnings when candidates were asked for, and without them when not."""
    flag = {"type": "omitted_critical", "severity": "high", "candidate": 1}
    rows = [{"id": f"r{i}", "prediction": f"p{i}", "warnings": []} for i in range(3)]
    if with_candidates:
        for r in rows:
            r.update(candidates=[r["prediction"], "q"], candidate_warnings=[[], [flag]])
    block = pa.table(
        {
            "id": [r["id"] for r in rows],
            "row": [json.dumps(r) for r in rows],
            "kind": ["draft"] * 3,
        }
    )
    for fmt in ("jsonl", "parquet"):
        sink = batch.ShardSink(tmp_path / fmt, fmt, 8)
        (tmp_path / fmt).mkdir()
        sink.write([block], None)
        sink.write([block], None)  # the same block again: Ray retried the task
        assert len(batch.shard_paths(tmp_path / fmt, fmt)) == 1
        assert batch.collect(tmp_path / fmt, fmt) == {r["id"]: r for r in rows}
        assert batch.done_ids(tmp_path / fmt, fmt) == {"r0", "r1", "r2"}
    (tmp_path / "jsonl" / "part-x.jsonl.tmp").write_text("half a li")
    assert batch.clear_partial(tmp_path / "jsonl") == 1


# torch is imported first, as a neural model's modules are when Ray loads the actor's class
ACTOR_THREADS = """
import json, os, sys
import torch
from threadpoolctl import threadpool_info
from radimpress.drafting.batch import BatchJob, DraftActor
DraftActor(BatchJob(model=sys.argv[1], input="in.jsonl", output="out", threads=1), set())
print(json.dumps({
    "env": [os.environ.get(v) for v in ("RADIMPRESS_THREADS", "OMP_NUM_THREADS")],
    "pools": sorted({p["num_threads"] for p in threadpool_info()}),
    "torch": torch.get_num_threads(),
}))
"""


def test_an_actor_gives_its_threads_to_every_library_without_a_runtime_env(archive):
    """The job sets no runtime_env (it would keep Ray from using the workers a node keeps
    started), so an actor started with no thread settings must apply --threads itself. One
    thread: every library's own default here is a thread per core."""
    _, model, _ = archive
    env = {
        k: v for k, v in os.environ.items() if k != "RADIMPRESS_THREADS" and "NUM_THREADS" not in k
    }
    out = subprocess.run(
        [sys.executable, "-c", ACTOR_THREADS, str(model)],
        capture_output=True, text=True, env=env, timeout=120, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout.splitlines()[-1]) == {
        "env": ["1", "1"],
        "pools": [1],
        "torch": 1,
    }
