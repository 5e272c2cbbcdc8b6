"""Bounded load test of `radimpress serve` on 127.0.0.1: micro-batching on vs off.

    .venv/bin/python bench/serve.py [--model DIR] [--clients 8] [--seconds 15]

Starts the real server (uvicorn subprocess, bearer auth, SQLite store, safety
checks as deployed) once per mode, runs N closed-loop clients for T seconds
(each sends its next request when the previous answer arrives), then stops
the server. Reports throughput, p50/p95/p99 latency, errors and the mean
generate batch size (from /metrics), writes them to bench/results/serve.json
and replaces the `## Serve` section of BENCHMARKS.md, with the paragraphs of
bench/serve_notes.md under the tables. Without --model it fits a retrieval model on the Open-i train
split (../shared/datasets/openi/reports.csv, 90% by a hash of the id) or, if
that file is absent, on the package's sample reports; the requests are the
held-out findings. The load generator shares the machine's CPUs with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, add_notes_flag, provenance, read_notes, replace_section  # noqa: E402

sys.path.insert(0, str(ROOT / "src"))

from radimpress.records import Report, read_reports  # noqa: E402

OPENI = ROOT.parent / "shared" / "datasets" / "openi" / "reports.csv"
SAMPLE = ROOT / "src" / "radimpress" / "data" / "sample" / "reports.jsonl"
RESULTS = ROOT / "bench" / "results"


def load_reports() -> tuple[list[Report], str]:
    if OPENI.exists():
        with OPENI.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        reports = [
            Report(id=r["uid"], findings=r["findings"] or "", impression=r["impression"] or None)
            for r in rows
        ]
        return [
            r for r in reports if r.findings.strip()
        ], f"Open-i ({OPENI.relative_to(ROOT.parent)})"
    print(f"note: {OPENI} not found; using the package sample reports", file=sys.stderr)
    return [r for r in read_reports(SAMPLE) if r.findings.strip()], "radimpress sample reports"


def held_out(report_id: str) -> bool:
    return int(hashlib.sha256(report_id.encode()).hexdigest()[:8], 16) % 10 == 0


def build_default_model(out: Path) -> tuple[Path, list[str], str]:
    from radimpress.models.baselines import RetrievalModel

    reports, source = load_reports()
    train = [r for r in reports if not held_out(r.id)]
    requests = [r.findings for r in reports if held_out(r.id)] or [r.findings for r in reports]
    model = RetrievalModel()
    metrics = model.fit(train)
    model.name, model.version = "retrieval", "bench"
    model.save(out)
    return (
        out,
        requests,
        f"retrieval baseline fitted on {metrics['train_pairs']} {source} train pairs",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    model_dir: Path, db: Path, token: str, extra: list[str] | None = None, log: Path | None = None
) -> tuple[subprocess.Popen, int]:
    """`radimpress serve` on a free port of 127.0.0.1 (also bench/robustness.py's); once /readyz is green."""
    port = free_port()
    cmd = [sys.executable, "-m", "radimpress", "serve", "--model", str(model_dir),
           "--db", str(db), "--host", "127.0.0.1", "--port", str(port), *(extra or [])]  # fmt: skip
    env = {
        **os.environ,
        "RADIMPRESS_TOKENS": f"bench:{token}",
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT / "src"),
    }
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = f": {log.read_text(errors='replace')[-2000:]}" if log else ""
            raise RuntimeError(f"server exited with {proc.returncode}{tail}")
        try:
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
            if ready.status_code == 200:
                return proc, port
            if "error" in ready.json():  # the model failed to load or to draft: no use waiting
                proc.kill()
                raise RuntimeError(f"{model_dir}: server not ready: {ready.json()['error']}")
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server not ready after 180 s")


def start(
    model_dir: Path, db: Path, token: str, batching: bool, safety: bool, args
) -> tuple[subprocess.Popen, int]:
    extra = ["--max-batch-size", str(args.max_batch_size), "--max-wait-ms", str(args.max_wait_ms)]
    if not batching:
        extra.append("--no-batching")
    if not safety:
        extra.append("--no-safety-checks")
    return start_server(model_dir, db, token, extra)


async def load(port: int, token: str, texts: list[str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    url = f"http://127.0.0.1:{port}/v1/impressions"
    stop_at = time.perf_counter() + seconds

    async def client(n: int) -> None:
        i = n
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            while time.perf_counter() < stop_at:
                text = texts[i % len(texts)]
                i += clients
                t0 = time.perf_counter()
                try:
                    r = await c.post(url, json={"findings": text})
                    key = None if r.status_code == 200 else f"HTTP {r.status_code}"
                except httpx.HTTPError as e:
                    key = type(e).__name__
                if key:
                    errors[key] = errors.get(key, 0) + 1
                else:
                    latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    wall = time.perf_counter() - t0
    return {"latencies": latencies, "errors": errors, "wall": wall}


def first_and_steady(port: int, token: str, texts: list[str], n: int = 20) -> tuple[float, float]:
    """The first request right after /readyz went green, then one client's steady p50 (ms).

    The server drafts one report through the whole path before it says ready,
    so the first user should not pay for lazy loading; this is the check.
    """
    url = f"http://127.0.0.1:{port}/v1/impressions"
    times = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for text in texts[: n + 1]:
            t0 = time.perf_counter()
            c.post(url, json={"findings": text}).raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
    return times[0], statistics.median(times[1:])


def batch_totals(port: int) -> tuple[float, float]:
    """(reports, generate calls) so far, from /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    total = re.search(r"^radimpress_batch_size_sum ([0-9.e+]+)", text, re.M)
    count = re.search(r"^radimpress_batch_size_count ([0-9.e+]+)", text, re.M)
    return (float(total.group(1)) if total else 0.0, float(count.group(1)) if count else 0.0)


def batch_mean(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    """Mean reports per generate call between two readings: the timed load only, not the
    one-at-a-time first-request check before it."""
    calls = after[1] - before[1]
    return (after[0] - before[0]) / calls if calls else None


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def run_mode(
    batching: bool, safety: bool, model_dir: Path, texts: list[str], args, tmp: Path
) -> dict:
    name = ("batching" if batching else "no batching") + (
        ", safety on" if safety else ", safety off"
    )
    token = secrets.token_hex(16)
    proc, port = start(model_dir, tmp / f"{secrets.token_hex(4)}.db", token, batching, safety, args)
    try:
        first, one_client = first_and_steady(port, token, texts)
        asyncio.run(load(port, token, texts[:20], 2, 2.0))  # warm-up, not counted
        before = batch_totals(port)
        res = asyncio.run(load(port, token, texts, args.clients, args.seconds))
        mean_batch = batch_mean(before, batch_totals(port))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    lat = [x * 1000 for x in res["latencies"]]
    out = {
        "mode": name,
        "requests": len(lat),
        "errors": sum(res["errors"].values()),
        "error_kinds": res["errors"],
        "throughput": len(lat) / res["wall"],
        "p50": pct(lat, 50),
        "p95": pct(lat, 95),
        "p99": pct(lat, 99),
        "mean": statistics.fmean(lat) if lat else float("nan"),
        "batch": mean_batch,
        "first_ms": first,
        "one_client_p50_ms": one_client,
    }
    print(
        f"{name:>25}: {out['requests']} ok, {out['errors']} errors, {out['throughput']:.1f} req/s, "
        f"p50 {out['p50']:.1f} ms, p95 {out['p95']:.1f} ms, p99 {out['p99']:.1f} ms, "
        f"mean batch {mean_batch or 0:.2f}"
    )
    return out


def describe(model_dir: Path) -> str:
    import json

    m = json.loads((model_dir / "radimpress.json").read_text())
    extra = ""
    if m.get("recipe") or m.get("train_metrics"):
        steps = (m.get("train_metrics") or {}).get("steps")
        extra = f", {steps} training steps" if steps else ""
    export = (m.get("exports") or {}).get("ctranslate2")
    if export:  # `serve` drafts with the converted copy when it is there (--backend auto)
        shortlist = ", vocabulary shortlist" if export.get("shortlist") else ""
        extra += f"; backend CTranslate2 {export.get('quantization')}{shortlist}"
    elif m.get("kind") in ("seq2seq", "causal"):
        extra += "; backend transformers"
    return f"{m.get('kind')} model `{model_dir}` ({m.get('name')} {m.get('version')}{extra})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model",
        action="append",
        help="model folder; repeatable ('default' = retrieval fitted on Open-i train, "
        "the default when no --model is given)",
    )
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=15.0, help="per mode")
    p.add_argument("--max-batch-size", type=int, default=16)
    p.add_argument("--max-wait-ms", type=float, default=10.0)
    p.add_argument(
        "--safety",
        choices=["both", "on", "off"],
        default="both",
        help="run each mode with safety checks on, off, or both (default)",
    )
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    p.add_argument("--no-write", action="store_true", help="print only")
    add_notes_flag(p, ROOT / "bench" / "serve_notes.md")
    args = p.parse_args(argv)
    notes = read_notes(args.notes)  # before the run: a wrong path fails at once

    safety_modes = {"both": [True, False], "on": [True], "off": [False]}[args.safety]
    tables = []
    all_results = []
    with tempfile.TemporaryDirectory(prefix="radimpress-bench-serve-") as tmp_name:
        tmp = Path(tmp_name)
        for spec in args.model or ["default"]:
            if spec == "default":
                model_dir, texts, described = build_default_model(tmp / "model")
            else:
                model_dir = Path(spec)
                reports, _ = load_reports()
                texts = [r.findings for r in reports if held_out(r.id)]
                described = describe(model_dir)
            print(
                f"model: {described}; {len(texts)} distinct request texts; "
                f"{args.clients} clients x {args.seconds:g} s per mode"
            )
            results = [
                run_mode(batching, safety, model_dir, texts, args, tmp)
                for safety in safety_modes
                for batching in (True, False)
            ]
            all_results += [{"model": described, **r} for r in results]
            ratios = []
            for k, safety in enumerate(safety_modes):
                on, off = results[2 * k], results[2 * k + 1]
                ratio = on["throughput"] / off["throughput"] if off["throughput"] else float("nan")
                ratios.append(f"{ratio:.2f}x with safety {'on' if safety else 'off'}")
            rows = "\n".join(
                f"| {r['mode']} | {r['requests']} | {r['errors']} | {r['throughput']:.1f} | "
                f"{r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['batch'] or 0:.2f} | "
                f"{r['first_ms']:.1f} | {r['one_client_p50_ms']:.1f} | "
                f"{r['first_ms'] / r['one_client_p50_ms']:.2f}x |"
                for r in results
            )
            tables.append(
                f"""### {described}

| mode | requests | errors | req/s | p50 ms | p95 ms | p99 ms | mean reports per generate | first request after /readyz ms | 1 client p50 ms | first / p50 |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

Batching / no batching throughput: {"; ".join(ratios)}.
"""
            )

    body = "\n".join(tables)
    section = f"""The machine is shared with other work; the load generator runs on the same CPUs.
Setup: `radimpress serve` (uvicorn, 1 worker, bearer auth, SQLite store with a commit per draft,
safety checks as in each row), {args.clients} closed-loop clients on 127.0.0.1 for {args.seconds:g} s per mode,
micro-batching max {args.max_batch_size} reports / {args.max_wait_ms:g} ms vs `--no-batching`.
Requests: held-out Open-i findings (10% by a hash of the id), cycled.
Threads: {os.environ.get("RADIMPRESS_THREADS", "radimpress's default (half the cores)")}.

{body}
First request: one client sends the held-out findings one at a time as soon as /readyz is
green; the first answer's latency is set against the median of the next 20 (the server drafts
one report through model and checks before it reports ready).
"""
    section = "\n\n".join([section.strip(), *notes])
    print(f"## Serve\n\n{provenance()}\n{section}")
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "serve.json").write_text(json.dumps(all_results, indent=1) + "\n")
        replace_section("Serve", section, path=Path(args.out))
        print(f"wrote ## Serve to {args.out}")
    return 0 if all(r["errors"] == 0 for r in all_results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
