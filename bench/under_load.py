"""Training times and the test suite while two other CPU-bound processes run.

    python bench/under_load.py [--recipes rerank,hybrid,...] [--no-suite]

A hospital's shared server, or a CI runner, is rarely idle. This starts two
busy-looping processes (bounded: they stop with this script), then trains each
recipe on the Open-i split (`radimpress dataset build` defaults) with the default
thread count, and runs the README's test command (`python -m pytest`) under
the same load. Each is also timed on the idle machine first, for the ratio.
Writes the `## Under load` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import ROOT, add_no_write_flag, publish  # noqa: E402
from quality import OPENI, prepare_data  # noqa: E402


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1


class Load:
    """Two CPU-bound processes for the duration of a ``with`` block (and at most ``limit`` s)."""

    def __init__(self, processes: int = 2, limit: float = 3600.0) -> None:
        self.processes, self.limit = processes, limit
        self.workers: list[multiprocessing.Process] = []

    def __enter__(self) -> Load:
        self.workers = [
            multiprocessing.Process(target=_spin, args=(self.limit,), daemon=True)
            for _ in range(self.processes)
        ]
        for w in self.workers:
            w.start()
        return self

    def __exit__(self, *exc) -> None:
        for w in self.workers:
            w.terminate()
            w.join()


def timed(cmd: list[str], log: Path) -> tuple[float, int]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("RADIMPRESS_THREADS", "OMP_NUM_THREADS")
    }
    start = time.perf_counter()
    with log.open("w") as fh:
        code = subprocess.run(
            cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        ).returncode
    return time.perf_counter() - start, code


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--recipes", default="constant,retrieval-consensus,rerank,hybrid")
    ap.add_argument("--no-suite", action="store_true", help="skip the test suite (about 5-10 min)")
    ap.add_argument("--work", default=str(ROOT / "runs" / "bench-under-load"))
    add_no_write_flag(ap)
    args = ap.parse_args(argv)
    if not OPENI.exists():
        print(f"skipped: {OPENI} not found (the Open-i working copy lives in ../shared)")
        return 0
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = prepare_data(ROOT / "runs" / "bench-quality")
    cli = [sys.executable, "-m", "radimpress"]
    rows = []
    for recipe in [r for r in args.recipes.split(",") if r]:
        train = [*cli, "train", "--recipe", recipe, "--data", str(data)]
        idle, code_a = timed(
            [*train, "--out", str(work / f"{recipe}-idle")], work / f"{recipe}-idle.log"
        )
        with Load():
            busy, code_b = timed(
                [*train, "--out", str(work / f"{recipe}-load")], work / f"{recipe}-load.log"
            )
        ok = "ok" if code_a == code_b == 0 else f"exit {code_a}/{code_b}"
        rows.append(f"| train `{recipe}` | {idle:.1f} | {busy:.1f} | {busy / idle:.2f}x | {ok} |")
        print(rows[-1], flush=True)
    if not args.no_suite:
        suite = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        idle, code_a = timed(suite, work / "suite-idle.log")
        with Load():
            busy, code_b = timed(suite, work / "suite-load.log")
        last = (work / "suite-load.log").read_text().strip().splitlines()[-1]
        ok = "passed" if code_a == code_b == 0 else f"exit {code_a}/{code_b}"
        rows.append(
            f"| `python -m pytest` (README's test command) | {idle:.1f} | {busy:.1f} | {busy / idle:.2f}x | {ok}: {last} |"
        )
        print(rows[-1], flush=True)
    body = (
        "Two busy-looping Python processes run beside the measured command on this 2-core machine "
        "(so it gets about a third of the CPU); radimpress uses its default thread count (half the "
        "cores, here 1). Open-i split of `radimpress dataset build` (defaults).\n\n"
        "| what | idle s | under load s | ratio | result |\n|---|---:|---:|---:|---|\n"
        + "\n".join(rows)
    )
    publish("Under load", body, write=not args.no_benchmarks_md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
