"""The safety checker processes live and die with `radimpress serve`, even on kill -9."""

from __future__ import annotations

import contextlib
import signal

import httpx
import psutil

from support import ALICE, free_port, saved_model, start_server


def test_kill_9_of_the_server_leaves_no_safety_process(tmp_path):
    port = free_port()
    proc = start_server(
        saved_model(tmp_path / "model"),
        tmp_path / "serve.db",
        port,
        "--safety-bulk-chars",
        "0",  # one checker process (the bulk one starts the same way; it costs seconds more)
        log=tmp_path / "server.log",
        env={"RADIMPRESS_TOKENS": f"alice:{ALICE}"},
    )
    children: list[psutil.Process] = []
    try:
        auth = {"Authorization": f"Bearer {ALICE}"}
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/impressions",
            # two candidates: the findings' own sentence (safe selection's last resort) and the
            # model's draft, whose omission the checker process flags
            json={"findings": "Small right pneumothorax.", "num_candidates": 2},
            headers=auth,
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert "omitted_critical" in [w["type"] for w in r.json()["warnings"]]  # checked
        children = psutil.Process(proc.pid).children(recursive=True)
        checkers = [c for c in children if "multiprocessing" in " ".join(c.cmdline())]
        assert checkers, [c.cmdline() for c in children]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, [(p.pid, p.cmdline()) for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
        for c in children:  # never leave one behind, whatever failed
            with contextlib.suppress(psutil.NoSuchProcess):
                c.kill()
