"""The safety checks' spaCy pipeline loads without torch, and hides torch from nothing else."""

from __future__ import annotations

import json
import subprocess
import sys

# Each script runs in a fresh process: in the test process torch is already imported.
PIPELINE = """
import json, sys
from radimpress.safety.extractor import extract
mentions = extract("Small left pleural effusion. No pneumothorax.")
import thinc.compat
before = "torch" in sys.modules
import torch  # after the pipeline: an ordinary import still finds torch
print(json.dumps({"torch_before": before, "thinc_has_torch": thinc.compat.has_torch,
                  "torch_after": torch.tensor([1]).item(),
                  "mentions": sorted((m.observation, m.polarity) for m in mentions)}))
"""

OTHER_IMPORTER = """
import json
from radimpress.safety.extractor import _thinc_without_torch
with _thinc_without_torch():
    import torch  # imported by a module that is not thinc's: found
    import thinc.compat  # torch is loaded now, so thinc finds it in sys.modules
print(json.dumps({"torch": torch.tensor([2]).item(), "thinc_has_torch": thinc.compat.has_torch}))
"""


def _run(script: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_rule_pipeline_loads_without_torch_and_torch_still_imports_afterwards():
    report = _run(PIPELINE)
    assert report["torch_before"] is False
    assert report["thinc_has_torch"] is False
    assert report["torch_after"] == 1
    assert report["mentions"] == [["Pleural Effusion", "present"], ["Pneumothorax", "absent"]]


def test_only_thincs_own_import_of_torch_is_refused():
    assert _run(OTHER_IMPORTER) == {"torch": 2, "thinc_has_torch": True}
