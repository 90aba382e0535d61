"""`parity trajectory` on a small model: both frameworks trained step by step from the same start."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from parity.common.configs import get_config
from parity.trajectory import real_batches, run_trajectory

pytestmark = pytest.mark.slow     # trains or runs commands in subprocesses

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    out = tmp_path_factory.mktemp("trajectory")
    paths = {"json": out / "t.json", "markdown": out / "t.md", "plot": out / "t.png"}
    result = subprocess.run([sys.executable, "-m", "parity", "trajectory", "gan", "--steps", "3", "--batch", "4",
                             "--mode", "pynative", *[f"--{k}={v}" for k, v in paths.items()]],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, json.loads(paths["json"].read_text()), paths


def test_every_step_is_recorded_for_every_run(record):
    _, data, _ = record
    assert set(data["variants"]) == {"MindSpore", "MindSpore nn.Adam", "PyTorch, weights +1 ulp"}
    steps = data["variants"]["MindSpore"]["steps"]
    assert [s["step"] for s in steps] == [1, 2, 3]
    for key in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"):
        assert np.isfinite(steps[-1]["mindspore"][key]) and np.isfinite(steps[-1]["torch"][key])
    assert {"loss_rel", "param_diff", "param_name"} <= set(steps[0])


def test_the_twins_train_alike_and_nn_adam_moves_the_run(record):
    _, data, _ = record
    summary = {s["label"]: s for s in data["summary"]}
    mindspore, nn_adam = summary["MindSpore"], summary["MindSpore nn.Adam"]
    assert mindspore["within 0.0001"] == 3
    # nn.Adam's epsilon placement moves the weights far more than the frameworks' rounding
    assert nn_adam["last param diff"] > 10 * mindspore["last param diff"]
    assert 0 < mindspore["first update param diff"] < 1e-4


def test_reports_are_written(record):
    stdout, _, paths = record
    assert "losses within 0.0001 relative for all 3 steps" in stdout
    assert "| MindSpore nn.Adam |" in paths["markdown"].read_text()
    assert paths["plot"].read_bytes()[:4] == b"\x89PNG"


def test_real_batches_are_digits_at_the_models_shape():
    batches, classes = real_batches(get_config("gan"), 2, 3, seed=0)
    assert batches.shape == (2, 3, 1, 28, 28) and batches.dtype == np.float32
    assert batches.min() == -1.0 and batches.max() == 1.0
    assert classes == [None, None]        # gan has no class head
    np.testing.assert_array_equal(batches, real_batches(get_config("gan"), 2, 3, seed=0)[0])
    sgan_batches, sgan_classes = real_batches(get_config("sgan"), 2, 3, seed=0)
    assert sgan_batches.shape == (2, 3, 1, 32, 32) and sgan_classes.shape == (2, 3)
    assert set(sgan_classes.ravel()) <= set(range(10))


def test_sgan_trains_alike_in_both_frameworks():
    """sgan's two heads and class labels: both frameworks' first steps agree to 1e-5."""
    results = run_trajectory("sgan", 2, batch=4, mode="pynative", variants=("MindSpore",))
    steps = results["MindSpore"].steps
    assert len(steps) == 2 and all(s["loss_rel"] <= 1e-5 for s in steps)
    assert set(steps[0]["mindspore"]) == {"loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"}
