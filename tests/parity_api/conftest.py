"""gan_bn dumped once a session (`parity dump`, each in a process where the other framework
cannot be imported), for the tests of `parity compare` and its report."""
import pytest

from helpers.single_framework import WRONG_SLOPE, dump


@pytest.fixture(scope="session")
def gan_bn_dump(tmp_path_factory):
    """(folder, manifest): MindSpore's dump of gan_bn, 2 steps at batch 4, in folder/ms."""
    folder = tmp_path_factory.mktemp("dumps")
    return folder, dump("mindspore", "gan_bn", folder / "ms", "--steps", "2", "--batch", "4")


@pytest.fixture(scope="session")
def gan_bn_torch_dump(gan_bn_dump):
    """PyTorch's manifest of the same weights and inputs, in folder/torch."""
    folder, _ = gan_bn_dump
    return dump("torch", "gan_bn", folder / "torch", "--inputs", folder / "ms")


@pytest.fixture(scope="session")
def gan_bn_wrong_dump(gan_bn_dump):
    """folder/wrong: a wrong PyTorch twin's dump (LeakyReLU slope 0.25) on the same inputs."""
    folder, _ = gan_bn_dump
    dump("torch", "gan_bn", folder / "wrong", "--inputs", folder / "ms", patch=WRONG_SLOPE)
    return folder / "wrong"
