"""Shared by every benchmark: describe the machine and replace one section of BENCHMARKS.md.

Each benchmark owns one ``## Title`` section; re-running it replaces that
section only, so results from other benchmarks stay as they were measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import os
import platform
import re
import shlex
import sys
from pathlib import Path

from radimpress.models.cpu import cpu_flags

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
HEADER = "# radimpress benchmarks\n\nEach section is written by the benchmark named in it; re-running one replaces its section.\n"


def machine() -> str:
    """One line naming the CPU, its instruction sets that change speed, core count, memory and
    Python, for reproducibility."""
    cpu = platform.processor() or platform.machine()
    try:
        first_cpu = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    except OSError:
        first_cpu = ""
    for line in first_cpu.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            cpu = value.strip()
    flags = cpu_flags()
    # Why these: int8 (CTranslate2) needs VNNI or AMX to be fast, bf16 needs avx512_bf16 or
    # AMX, and two machines both called "AMD EPYC" differed in exactly these.
    simd = [f for f in SPEED_FLAGS if f in flags]
    if simd:
        cpu += f" ({', '.join(simd)})"
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024**2:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, {platform.system()}"


SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile")

# Libraries whose release moves the numbers: retrained with scikit-learn 1.8.0 instead of
# 1.9.1 on the same machine, rerank drafted 42 of the 297 Open-i test reports differently
# (ROUGE-L 67.94 against 68.92). The line names the versions a section was measured with.
LIBRARIES = (
    "torch",
    "transformers",
    "peft",
    "ctranslate2",
    "scikit-learn",
    "lightgbm",
    "numpy",
    "rouge-score",
)


def libraries() -> str:
    """`name version` for each of LIBRARIES, 'absent' where it is not installed."""

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    return ", ".join(f"{name} {version(name)}" for name in LIBRARIES)


def command_line() -> str:
    return "python " + shlex.join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def provenance() -> str:
    return (
        f"- command: `{command_line()}`\n- machine: {machine()}\n"
        f"- libraries: {libraries()}\n- date: {utc_now()}\n"
    )


def replace_section(title: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Write ``## title`` + provenance + body, replacing an earlier section of that title."""
    section = f"## {title}\n\n{provenance()}\n{body.strip()}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def add_no_write_flag(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--no-benchmarks-md",
        action="store_true",
        help="print the section, do not write BENCHMARKS.md",
    )


def add_notes_flag(ap: argparse.ArgumentParser, default: Path) -> None:
    """What the numbers say lives in a Markdown file beside the script, not in the command:
    a note is edited and reviewed like any text, and the recorded command stays readable."""
    ap.add_argument(
        "--notes",
        type=Path,
        default=default,
        help=f"paragraphs added under the tables (default: {default.relative_to(ROOT)})",
    )


def read_notes(path: Path) -> list[str]:
    """The paragraphs of a notes file (blank-line separated).

    A missing file is an error, not an empty list: a mistyped --notes would otherwise
    publish the section without what its numbers mean.
    """
    if not path.is_file():
        raise SystemExit(f"{path}: notes file not found (--notes names the file to publish)")
    return [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def publish(title: str, body: str, write: bool = True) -> None:
    """Print a benchmark's section and, unless told not to, replace it in BENCHMARKS.md."""
    print(body)
    if write:
        replace_section(title, body)
        print(f"updated BENCHMARKS.md ## {title}")
