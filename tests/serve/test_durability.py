"""Nothing acknowledged is lost when the server process is killed mid-request."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time

import httpx

from radimpress.serve.store import Store
from support import ALICE, free_port, saved_model, start_server


def test_every_acknowledged_draft_survives_kill_9(tmp_path):
    model_dir = saved_model(tmp_path / "model")
    db = tmp_path / "serve.db"
    port = free_port()
    proc = start_server(
        model_dir,
        db,
        port,
        "--max-wait-ms",
        "5",
        "--no-safety-checks",
        log=tmp_path / "server.log",
        env={"RADIMPRESS_TOKENS": f"alice:{ALICE}"},
    )
    url = f"http://127.0.0.1:{port}/v1/impressions"
    acknowledged: list[str] = []
    failures: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {ALICE}"}, timeout=10) as c:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = c.post(
                        url, json={"findings": f"Client {n} request {i}: left pleural effusion."}
                    )
                except httpx.HTTPError as e:  # the kill lands while this request is in flight
                    failures.append(type(e).__name__)
                    return
                if r.status_code == 200:
                    with lock:
                        acknowledged.append(r.json()["id"])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 30 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # no shutdown handler runs
        proc.wait(timeout=10)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        if proc.poll() is None:
            proc.kill()
    assert len(acknowledged) >= 30, (tmp_path / "server.log").read_text()[-2000:]
    assert failures, "the kill should have cut at least one request in flight"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    store = Store(db)
    stored = {d.id for d in store.list_drafts(status=None, origin=None, limit=100_000)}
    missing = [i for i in acknowledged if i not in stored]
    assert not missing, f"{len(missing)} acknowledged drafts lost"
    assert all(store.get_draft(i).findings.startswith("Client ") for i in acknowledged[:5])
    store.close()
    log = (tmp_path / "server.log").read_text()
    assert "request_id=" in log and "pleural effusion" not in log  # ids and timings, no report text
