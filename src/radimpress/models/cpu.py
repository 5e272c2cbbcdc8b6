"""What this machine's CPU can do, as the choices of a fast path need it.

Two choices read it: `radimpress export` writes an int8 CTranslate2 copy
where the CPU has AVX2 or int8 dot-product instructions, and a transformers model
drafts in bfloat16 on a CPU only where AMX tiles multiply bf16 (elsewhere
bf16 is emulated and slower than float32). The benchmarks' machine line reads
the same flags; nothing here imports torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from radimpress.records import InputError

CPU_DTYPE_ENV = "RADIMPRESS_CPU_DTYPE"  # auto, float32 or bfloat16
CPU_DTYPES = ("auto", "float32", "bfloat16")


def cpu_flags() -> set[str]:
    """This machine's CPU flags as Linux names them (empty where /proc/cpuinfo is not there)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def cpu_generation_dtype(flags: set[str] | None = None) -> str:
    """The dtype (torch's name) a transformers model drafts in on this CPU:
    RADIMPRESS_CPU_DTYPE, else auto.

    auto is bfloat16 where the CPU has AMX bf16 tiles (`amx_bf16`), float32
    elsewhere. Why AMX only: with it, the 297 Open-i test reports drafted by
    the Gemma LoRA recipe took 62 s in bf16 against 144 s in float32 on 2
    cores (ROUGE-L 66.31 against 66.35, 287 drafts identical), and a T5 drafted
    200 reports 1.5x as fast with identical drafts (BENCHMARKS.md, Speed and
    Gemma note 15); an AVX2 CPU emulates bf16 (a matmul 6.5x slower than
    float32), and avx512_bf16 alone gave training only 1.2x (note 13).
    """
    choice = os.environ.get(CPU_DTYPE_ENV, "").strip() or "auto"
    if choice not in CPU_DTYPES:
        raise InputError(f"{CPU_DTYPE_ENV}={choice!r}: expected one of {', '.join(CPU_DTYPES)}")
    if choice == "auto":
        has_amx = "amx_bf16" in (cpu_flags() if flags is None else flags)
        choice = "bfloat16" if has_amx else "float32"
    return choice
