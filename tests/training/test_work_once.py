"""A training run lists its data folder once and builds each epoch's pipeline once (the
loop, parity/common/loop.py), counted on real tiny runs of both trainers: the folder's
listings at the os level, the pipelines at the twins' create_pipeline functions."""
import importlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers.runs import FRAMEWORKS
from parity.common.datasets import scan_images

pytestmark = pytest.mark.slow     # trains

EPOCHS = 2


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """8 grey 28 x 28 pictures in two class folders, 0/ and 1/."""
    root = tmp_path_factory.mktemp("digits")
    rng = np.random.default_rng(0)
    for i in range(8):
        (root / str(i % 2)).mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(root / str(i % 2) / f"{i}.png")
    return root


def count_work(monkeypatch, framework, folder):
    """{"listings": of `folder`, "pipelines": built by the trainer}, counted as the run goes.
    (One scan of a folder may list it more than once: Python 3.11's rglob lists the top twice.)"""
    counts = {"listings": 0, "pipelines": 0}
    folder = Path(folder).resolve()
    for name in ("scandir", "listdir"):
        real = getattr(os, name)

        def listing(path=".", real=real):
            counts["listings"] += isinstance(path, (str, os.PathLike)) and Path(path).resolve() == folder
            return real(path)
        monkeypatch.setattr(os, name, listing)
    train = importlib.import_module(f"{framework}.train")
    for name in ("create_pipeline", "create_labelled_pipeline"):
        real = getattr(train, name)

        def build(*args, real=real, **kwargs):
            counts["pipelines"] += 1
            return real(*args, **kwargs)
        monkeypatch.setattr(train, name, build)
    return counts


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
@pytest.mark.parametrize("model, flags", [("gan", ["--fid-every", "1", "--fid-n", "4"]),
                                          ("sgan", ["--labels", "4"])])
def test_a_run_lists_its_folder_once_and_builds_each_epoch_once(framework, model, flags, digits, tmp_path,
                                                                 monkeypatch):
    counts = count_work(monkeypatch, framework, digits)
    scan_images(digits)
    one_scan, counts["listings"] = counts["listings"], 0
    assert one_scan >= 1
    main, _ = FRAMEWORKS[framework]
    assert main(["train", "--model", model, "--data", str(digits), "--epochs", str(EPOCHS), "--batch-size", "2",
                 "--out", str(tmp_path / "run"), "--workers", "0", "--log-every", "0", *flags]) == 0
    assert counts == {"listings": one_scan, "pipelines": EPOCHS}
    if model == "gan":      # scored after each epoch, from the one listing
        assert (tmp_path / "run" / "fid.png").is_file()
