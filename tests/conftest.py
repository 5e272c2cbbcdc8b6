"""Fixtures every test directory shares, and the environment every test runs in.

Tests run with one CPU thread for every library (radimpress.threads reads
RADIMPRESS_THREADS): results do not depend on how busy the machine is, and
the suite does not thrash when it shares the cores with other work. Models
draft in float32 on every CPU (RADIMPRESS_CPU_DTYPE; on a CPU with AMX the
default would be bf16), so a test's drafts do not depend on the machine. Nothing
may reach the Hugging Face hub: a model that is not on disk fails at once.
"""

from __future__ import annotations

import os
import sys

os.environ["RADIMPRESS_THREADS"] = "1"
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["RADIMPRESS_CPU_DTYPE"] = "float32"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402

from radimpress.records import Report  # noqa: E402
from support import TRAIN, synthetic_reports, write_dataset  # noqa: E402


@pytest.fixture
def corpus() -> list[Report]:
    """The small report corpus: report pairs whose impression follows from the findings."""
    return synthetic_reports(48, 1, "tr")


@pytest.fixture
def dataset_dir(tmp_path):
    """A dataset folder as `radimpress dataset build` writes it (train/validation/test)."""
    return write_dataset(tmp_path / "data")


@pytest.fixture
def serve_pairs() -> list[Report]:
    """The few pairs the serving tests' retrieval model knows."""
    return list(TRAIN)


_EXIT_STATUS = pytest.StashKey[int]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the test process once pytest has written its results, without the interpreter's
    teardown.

    A fresh-clone CI run passed every test (597 passed) and then died with a
    segmentation fault in that teardown (exit 139), where the native libraries the
    suite loads in one process (torch, CTranslate2, Ray, spaCy, Playwright) free their
    thread pools; the same suite re-run passed and exited 0. The exit status must be
    pytest's verdict on the tests, so the process ends here with it
    (RADIMPRESS_TEST_TEARDOWN=1 keeps the normal teardown, to debug it).
    """
    if _EXIT_STATUS not in config.stash or os.environ.get("RADIMPRESS_TEST_TEARDOWN") == "1":
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(config.stash[_EXIT_STATUS])
