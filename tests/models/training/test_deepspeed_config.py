"""The DeepSpeed ZeRO-2 accelerate config the README documents is one accelerate reads as such.

It cannot train on a CPU-only machine (README, "Training on several
machines"), so CI checks what it can: the file parses into a DeepSpeed
launch of stage 2 with bf16 and 2 processes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

config_args = pytest.importorskip("accelerate.commands.config.config_args")

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "accelerate" / "deepspeed-zero2.yaml"


def test_zero2_config_is_a_deepspeed_stage_2_launch():
    config = config_args.load_config_from_file(str(CONFIG))
    assert str(config.distributed_type).endswith("DEEPSPEED")
    assert config.deepspeed_config["zero_stage"] == 2
    assert config.num_processes == 2 and config.mixed_precision == "bf16"
    assert not config.use_cpu
