"""`radimpress train` under `accelerate launch` with 2 CPU processes (DDP over gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import yaml

from radimpress.cli import main
from radimpress.models.base import load_model
from radimpress.records import read_jsonl
from support import tiny_recipe, write_dataset


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_disjoint_shards_in_sync_and_the_model_loads(tmp_path):
    data = write_dataset(tmp_path / "data", n_train=40)
    recipe = tiny_recipe("seq2seq", train={"max_steps": 4, "batch_size": 5, "eval_samples": 2})
    recipe.pop("name")
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    out = tmp_path / "model"
    # `--cpu --num_processes 2` silently runs ONE process; --multi_gpu with
    # Accelerator(cpu=True) in the code runs two over gloo.
    cmd = [
        sys.executable, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "radimpress", "train", "--recipe", str(tmp_path / "tiny.yaml"),
        "--data", str(data), "--out", str(out), "--keep-checkpoints",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((out / "checkpoints" / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in ranks] == [0, 1] and {r["world_size"] for r in ranks} == {2}
    assert all(
        r["steps"] == 4 and r["shard_size"] == 20 and r["examples_seen"] == 20 for r in ranks
    )
    assert ranks[0]["params_sha256"] == ranks[1]["params_sha256"]  # gradients were all-reduced
    manifest = json.loads((out / "radimpress.json").read_text())
    assert manifest["train_metrics"]["world_size"] == 2

    model = load_model(out)
    assert model.kind == "seq2seq"
    preds = tmp_path / "preds.jsonl"
    assert main(["generate", "--model", str(out), "--input", str(data / "test.jsonl"), "--output", str(preds),
                 "--num-beams", "1", "--num-candidates", "2"]) == 0  # fmt: skip
    rows = [row for _, row in read_jsonl(preds)]
    assert len(rows) == 8 and all(1 <= len(r["candidates"]) <= 2 for r in rows)
