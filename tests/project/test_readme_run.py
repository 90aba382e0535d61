"""The README's set-up pictures are what the set-up command makes now (docs/embedded_run/README.md):
epoch 1 of `python -m ms_gan train` (the same steps as the set-up run's first epoch: noise,
dropout and order come from (seed, epoch, step)) against docs/embedded_run/."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "docs" / "embedded_run"


@pytest.mark.slow
def test_the_set_up_run_still_draws_the_readme_pictures(tmp_path):
    """Costs one epoch of the set-up run (about 1 min 50 s of its 3 min 37 s idle) and the
    embedded digits written once to tmp_path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "ms_gan", "train", "--epochs", "1", "--log-every", "0"],
                   cwd=tmp_path, env=env, check=True, capture_output=True)
    run = tmp_path / "runs" / "ms_gan"
    lines = (run / "metrics.jsonl").read_text().splitlines()
    expected = (FIGURES / "metrics_head.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines[:len(expected)]] == [json.loads(line) for line in expected], \
        "the set-up run drifted from docs/embedded_run: python -m parity.readme_run makes them again"
    new, shown = (np.asarray(Image.open(p)) for p in (run / "samples" / "epoch_001.png", FIGURES / "epoch_001.png"))
    assert np.count_nonzero(new != shown) == 0, "epoch_001.png drifted: python -m parity.readme_run"
