"""Checkpoints a kill cannot break: every file is complete before anything points to it.

A checkpoint is a folder ``checkpoint-STEP`` written under a temporary name,
flushed to disk and renamed; only then does the small ``latest`` file (itself
written to a temporary name, flushed and renamed over the old one) point to
it, and only after that are older folders removed. A process killed at any
instant leaves ``latest`` naming a whole checkpoint.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

LATEST = "latest"


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's entry to disk (a rename is durable only after this)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


def atomic_torch_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as fh:
        torch.save(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


def latest(work_dir: Path) -> Path | None:
    """The newest complete checkpoint, or None."""
    pointer = work_dir / LATEST
    if not pointer.exists():
        return None
    folder = work_dir / pointer.read_text().strip()
    return folder if (folder / "state.json").exists() else None


def staging(work_dir: Path, step: int) -> Path:
    """The temporary folder a checkpoint is written to (emptied first)."""
    tmp = work_dir / f".checkpoint-{step}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def publish(work_dir: Path, tmp: Path, step: int) -> Path:
    """Make a fully written staging folder the latest checkpoint; drop the older ones."""
    for f in tmp.iterdir():
        fsync_path(f)
    final = work_dir / f"checkpoint-{step}"
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    fsync_path(work_dir)
    atomic_write_text(work_dir / LATEST, final.name)
    for old in work_dir.glob("checkpoint-*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_state(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "state.json").read_text())
