"""How long `radimpress demo` takes a newcomer: a fresh model cache, an empty output folder.

    python bench/demo_time.py [--keep-cache]

Runs the README's main job (`radimpress demo`, default threads) as a child process with
RADIMPRESS_CACHE pointing at an empty folder, so the built-in Gemma GGUF is written and
converted as on a fresh machine (``--keep-cache`` uses the usual cache instead), and
times it as a whole and step by step (the demo keeps each system's timings). The target
is at most 5 minutes on 2 idle cores. Writes the `## Demo` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import add_no_write_flag, publish  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--keep-cache", action="store_true", help="use the converted model if cached")
    add_no_write_flag(ap)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="radimpress-demo-") as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        env.pop("RADIMPRESS_THREADS", None)
        if not args.keep_cache:
            env["RADIMPRESS_CACHE"] = str(tmp / "cache")
        out = tmp / "demo"
        log = tmp / "demo.log"
        start = time.perf_counter()
        with log.open("w") as fh:
            proc = subprocess.Popen(
                [sys.executable, "-m", "radimpress", "demo", "--out", str(out)],
                stdout=fh,
                stderr=subprocess.STDOUT,
                env=env,
            )
            _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        text = log.read_text(errors="replace")
        if code != 0:
            print(text[-3000:])
            raise SystemExit(f"radimpress demo failed ({code})")
        rows = []
        for timing in sorted((out / "predictions").glob("*.timing.json")):
            t = json.loads(timing.read_text())
            rows.append(
                f"| {timing.name.removesuffix('.timing.json')} | {t.get('train_seconds', '')} "
                f"| {t.get('generate_seconds', '')} |"
            )
        converted = list((tmp / "cache" / "converted").glob("*/radimpress_gguf.json"))
        conversion = json.loads(converted[0].read_text()) if converted else None
        summary = [line for line in text.splitlines() if "ROUGE-L" in line]
    verdict = "met" if seconds <= 300 else "not met"
    body = (
        f"`radimpress demo` on the built-in sample, default threads, "
        f"{'the usual model cache' if args.keep_cache else 'an empty model cache (first run on a fresh machine)'}: "
        f"**{seconds:.0f} s** wall (target ≤ 300 s on 2 idle cores: {verdict}), peak RSS "
        f"{usage.ru_maxrss / 1024:.0f} MiB.\n\n"
        + (
            f"Gemma GGUF conversion (once per machine): tokenizer {conversion['tokenizer_s']} s, "
            f"de-quantised weights {conversion['dequantise_s']} s, save {conversion['save_s']} s.\n\n"
            if conversion
            else ""
        )
        + "| system | fit s | generate s |\n|---|---:|---:|\n"
        + "\n".join(rows)
        + "\n\nThe demo's own summary:\n\n```\n"
        + "\n".join(s.strip() for s in summary)
        + "\n```\n"
    )
    publish("Demo", body, write=not args.no_benchmarks_md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
