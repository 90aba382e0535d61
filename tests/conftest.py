"""Fixtures every test group shares; the helpers they are built from are in tests/helpers/.
Folders made here are read-only to tests: a test that changes one copies it first."""
import os

os.environ.setdefault("GLOG_v", "3")     # before MindSpore is first imported: it reads GLOG_v then

import pytest   # noqa: E402

from helpers.images import noise_images     # noqa: E402


@pytest.fixture(scope="session")
def embedded_digit_folder(tmp_path_factory):
    """The 5,000 embedded MNIST digits (parity/common/datasets.py), written once a session."""
    from parity.common.datasets import embedded_digits
    return embedded_digits(tmp_path_factory.mktemp("embedded"))


@pytest.fixture(scope="session")
def noise_folders(tmp_path_factory):
    """folder(count, shape): a folder of `count` seeded noise pictures of `shape`
    (helpers/images.py), made once a session for each (count, shape)."""
    made = {}

    def folder(count, shape):
        if (count, shape) not in made:
            made[count, shape] = noise_images(tmp_path_factory.mktemp("noise"), count, shape)
        return made[count, shape]
    return folder
