"""The test process's exit status is pytest's verdict, whatever native teardown would do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# pytest in a child process: an atexit hook marks a normal interpreter teardown.
CHILD = (
    "import atexit, sys, pytest\n"
    "atexit.register(lambda: open(sys.argv[1], 'w').write('teardown ran'))\n"
    "sys.exit(pytest.main(['tests/test_layout.py', '-k', 'no_test_has_this_name', '-q',"
    " '-p', 'no:cacheprovider']))\n"
)


@pytest.mark.parametrize("keep_teardown", [False, True])
def test_the_exit_status_is_pytests_with_or_without_the_teardown(tmp_path, keep_teardown):
    marker = tmp_path / "teardown"
    env = {**os.environ, "RADIMPRESS_TEST_TEARDOWN": "1" if keep_teardown else "0"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(marker)], cwd=ROOT, env=env, capture_output=True
    )
    assert proc.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, proc.stdout[-2000:]
    assert marker.exists() == keep_teardown
