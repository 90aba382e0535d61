"""docs/adding_a_model.md, walked: a model added as a config entry and its two model
files (tests/extra_model/), nothing else, is built by both registries, passes the parity
check and the layer check, trains one epoch in both frameworks with the same first step,
and its checkpoints convert both ways with --verify."""
import numpy as np
import pytest

from helpers.runs import FRAMEWORKS, IMAGES, metrics, pynative, trainer
from helpers.twins import twin_differences
from extra_model.config import TINY_GAN
from parity.check import run_check
from parity.common.configs import MODELS, register
from parity.convert import convert, read_checkpoint
from parity.layers import check_twins_layers, first_diverging
from parity.twins import Twins

BATCH = 4


@pytest.fixture(scope="module")
def tiny_gan():
    register(TINY_GAN)
    yield TINY_GAN.name
    del MODELS[TINY_GAN.name]


@pytest.fixture(scope="module")
def runs(tiny_gan, noise_folders, tmp_path_factory):
    """root/<framework>: one epoch of the extra model on 8 grey 8x8 pictures, batch 4."""
    folder, root = noise_folders(IMAGES, (8, 8)), tmp_path_factory.mktemp("tiny_runs")
    for framework in FRAMEWORKS:
        assert trainer(BATCH)(framework, folder, root / framework, "--model", tiny_gan, "--epochs", "1",
                              *pynative(framework)) == 0
    return root


def test_its_files_are_twins(tiny_gan):
    assert twin_differences(MODELS[tiny_gan]) == []


def test_the_parity_check_passes(tiny_gan):
    checks = run_check(tiny_gan, batch=4, seed=0)
    assert [c for c in checks if not c.passed] == []
    assert any(c.name == "G grad model.1.gamma" for c in checks) and any(c.max_abs > 0 for c in checks)


def test_no_layer_diverges(tiny_gan):
    checks = check_twins_layers(Twins(tiny_gan, seed=0), batch=4)
    assert first_diverging(checks) is None
    assert "G model.1 (BatchNorm1d) moving_mean" in [c.name for c in checks]


def test_one_epoch_trains_alike_in_both_frameworks(runs):
    ms_records, torch_records = metrics(runs / "ms_gan"), metrics(runs / "torch_gan")
    assert [r["step"] for r in ms_records] == [r["step"] for r in torch_records] == [1, 2]
    for key in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"):
        assert ms_records[0][key] == pytest.approx(torch_records[0][key], rel=1e-4), key
    for framework, (_, suffix) in FRAMEWORKS.items():
        assert (runs / framework / "samples" / "epoch_001.png").is_file()
        assert (runs / framework / "checkpoints" / f"epoch_001{suffix}").is_file()


@pytest.mark.parametrize("source, target", [("ms_gan", ".pt"), ("torch_gan", ".ckpt")])
def test_its_checkpoints_convert_both_ways(runs, tmp_path, source, target):
    src = runs / source / "checkpoints" / f"epoch_001{FRAMEWORKS[source][1]}"
    report = convert(src, tmp_path / f"converted{target}", verify=True)
    assert report.model == "tiny_gan" and report.passed and report.checks
    converted = read_checkpoint(tmp_path / f"converted{target}")
    original = read_checkpoint(src)
    for net in ("generator", "discriminator"):
        for name, array in original.networks[net].items():
            np.testing.assert_array_equal(converted.networks[net][name], array, err_msg=f"{net}.{name}")
