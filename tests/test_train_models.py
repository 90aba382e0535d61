"""One epoch of every model other than dcgan (tests/test_train.py has dcgan) in both
frameworks, on a tiny folder of images in two class folders: every output is valid for
that model, and both frameworks' first step gives the same losses. sgan trains on every
label here; its semi-supervised and supervised runs and `evaluate` are in tests/test_sgan.py.

MindSpore runs in PyNative: compiling the step with ms.jit takes longer than these two
steps take to run, and tests/test_train.py already covers jit against PyNative."""
import numpy as np
import pytest
from PIL import Image

from conftest import FRAMEWORKS, IMAGES, metrics
from parity.common import run_folder
from parity.common.configs import MODELS, get_config
from parity.convert import read_checkpoint

pytestmark = pytest.mark.slow     # trains or runs commands in subprocesses

MODEL_NAMES = sorted(set(MODELS) - {"dcgan"})
BATCH = 4
STEPS = IMAGES // BATCH


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """{image size: folder} of 8 pictures of a ring, drawn at that size (the frameworks'
    resizes differ by a few grey levels: ms_gan/data.py), grayscale and RGB in turn, in
    class folders 0/ and 1/ (sgan reads its labels from them; the others ignore them)."""
    from PIL import ImageDraw
    result = {}
    for size in sorted({get_config(m).image_shape[1] for m in MODEL_NAMES}):
        path = result[size] = tmp_path_factory.mktemp(f"images{size}")
        for i in range(IMAGES):
            image = Image.new("L", (size, size))
            ImageDraw.Draw(image).ellipse((2 + i % 4, 3, size - 3 - i // 2, size - 2), outline=255, width=2 + i % 3)
            (path / str(i % 2)).mkdir(exist_ok=True)
            (image.convert("RGB") if i % 2 else image).save(path / str(i % 2) / f"{i:02d}.png")
    return result


@pytest.fixture(scope="module", params=MODEL_NAMES)
def runs(request, folders, tmp_path_factory):
    """(model, root): one epoch of the model in root/ms_gan and root/torch_gan, batch 4,
    dropout off (so the dropout-on path of cnn_gan and dcgan_mnist is not run here)."""
    model = request.param
    size = get_config(model).image_shape[1]
    root = tmp_path_factory.mktemp(model)
    for framework, (main, _) in FRAMEWORKS.items():
        assert main(["train", "--model", model, "--data", str(folders[size]), "--epochs", "1",
                     "--batch-size", str(BATCH), "--out", str(root / framework), "--workers", "1",
                     "--log-every", "0", "--no-dropout", *(["--mode", "pynative"] if framework == "ms_gan" else [])]) == 0
    return model, root


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_one_epoch_leaves_valid_outputs(runs, framework):
    model, root = runs
    out = root / framework
    channels, height, width = get_config(model).image_shape
    path = out / "checkpoints" / f"epoch_001{FRAMEWORKS[framework][1]}"
    ck = read_checkpoint(path, model)     # every name and shape of G, D and both Adams, for this model
    assert ck.training and ck.epoch == 1 and ck.config["model"] == model
    assert all(state.step == STEPS for state in ck.optimizers.values())
    grid = Image.open(out / "samples" / "epoch_001.png")
    assert grid.size == (8 * (width + 2) + 2, 8 * (height + 2) + 2)   # 64 images, padding 2
    assert grid.mode == ("L" if channels == 1 else "RGB")
    records = metrics(out)
    assert [r["step"] for r in records] == list(range(1, STEPS + 1))
    assert all(np.isfinite(r[k]) for r in records for k in run_folder.STATS)


def test_first_step_losses_agree(runs):
    model, root = runs
    ms_first, torch_first = (metrics(root / f)[0] for f in sorted(FRAMEWORKS))
    for key in ("loss_d", "loss_g"):
        rel = abs(ms_first[key] - torch_first[key]) / abs(torch_first[key])
        print(f"{model} first step {key}: MindSpore {ms_first[key]:.7f}, PyTorch {torch_first[key]:.7f}, "
              f"rel diff {rel:.1e}")
        assert rel <= 1e-4, key
