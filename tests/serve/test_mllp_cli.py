"""`radimpress mllp` as a user starts it: a real process, a real socket, Ctrl-C to stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from radimpress.models.baselines import RetrievalModel
from radimpress.records import Report
from radimpress.serve.store import Store


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a parent that ignores Ctrl-C passes on


@pytest.mark.parametrize(
    ("stop_signal", "preexec"),
    [(signal.SIGINT, None), (signal.SIGTERM, None), (signal.SIGINT, _ignore_sigint)],
    ids=["sigint", "sigterm", "sigint-inherited-ignored"],
)
def test_mllp_command_answers_over_tcp_and_stops_on_a_signal(tmp_path, stop_signal, preexec):
    m = RetrievalModel()
    m.fit(
        [
            Report(
                id="a", findings="Heart size normal. Lungs clear.", impression="No acute disease."
            ),
            Report(id="b", findings="Right pleural effusion.", impression="Right effusion."),
        ]
    )
    m.save(tmp_path / "model")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radimpress",
            "mllp",
            "--model",
            str(tmp_path / "model"),
            "--port",
            "0",
            "--db",
            str(tmp_path / "drafts.db"),
            "--no-safety-checks",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        found = None
        while found is None:  # log lines (model ready) may come first
            line = proc.stdout.readline()
            assert line, "the listener exited before listening"
            found = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        port = int(found.group(1))
        msg = "\r".join(
            [
                "MSH|^~\\&|RIS|H|RADIMPRESS|H|20240101||ORU^R01|CLI1|P|2.5",
                "OBR|1||ACC1|^XR CHEST",
                "OBX|1|TX|&GDT|1|Lungs clear. Heart size normal.",
            ]
        )
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"garbage\x0bnot hl7\x1c\r")
            s.sendall(b"\x0b" + msg.encode() + b"\x1c\r")
            data = b""
            deadline = time.time() + 10
            while data.count(b"\x1c\r") < 3 and time.time() < deadline:
                data += s.recv(65536)
        frames = [f.strip(b"\x0b").decode() for f in data.split(b"\x1c\r") if f.strip()]
        assert "MSA|AR|" in frames[0]
        assert "MSA|AA|CLI1" in frames[1]
        assert "OBX|1|TX|&IMP^Impression^DCM|1|No acute disease.||||||P" in frames[2]
        proc.send_signal(stop_signal)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0 and "stopped" in out
        store = Store(tmp_path / "drafts.db")  # every HL7 draft is stored for review
        assert [(d.channel, d.report_id) for d in store.list_drafts()] == [("hl7", "ACC1")]
        store.close()
    finally:
        if proc.poll() is None:
            proc.kill()
