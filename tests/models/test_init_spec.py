"""The shared init spec: statistics in both frameworks, seeded bit-equality, layer inventories."""
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
import torch

import ms_gan.init
import ms_gan.models
import torch_gan.init
import torch_gan.models
from ms_gan.models.dcgan import Discriminator as MsDiscriminator, Generator as MsGenerator
from parity.common.init_spec import TORCH_DEFAULT_INIT, draw_arrays
from torch_gan.models.dcgan import Discriminator as TorchDiscriminator, Generator as TorchGenerator


def _stats_by_role(arrays):
    weights = np.concatenate([v.ravel() for k, v in arrays.items() if k.endswith(".weight")])
    gammas = np.concatenate([v.ravel() for k, v in arrays.items() if k.endswith(".gamma")])
    betas = np.concatenate([v.ravel() for k, v in arrays.items() if k.endswith(".beta")])
    return weights, gammas, betas


@pytest.mark.parametrize("framework", ["mindspore", "torch"])
def test_default_construction_follows_the_spec(framework):
    """Built with no arguments, each framework draws from the spec with its own RNG."""
    if framework == "mindspore":
        ms.set_seed(1)
        g, d = MsGenerator(), MsDiscriminator()
        arrays = {**ms_gan.init.state_arrays(g), **{"d." + k: v for k, v in ms_gan.init.state_arrays(d).items()}}
    else:
        torch.manual_seed(1)
        g, d = TorchGenerator(), TorchDiscriminator()
        arrays = {**torch_gan.init.state_arrays(g), **{"d." + k: v for k, v in torch_gan.init.state_arrays(d).items()}}
    weights, gammas, betas = _stats_by_role(arrays)
    assert weights.size > 3_000_000            # millions of draws: tight bounds below
    assert abs(weights.mean()) < 1e-4 and abs(weights.std() - 0.02) < 1e-4
    assert gammas.size == 2 * (512 + 256 + 128 + 64) - 64
    assert abs(gammas.mean() - 1.0) < 3e-3 and abs(gammas.std() - 0.02) < 3e-3
    assert not betas.any()
    moving_means = [v for k, v in arrays.items() if k.endswith("moving_mean")]
    moving_vars = [v for k, v in arrays.items() if k.endswith("moving_variance")]
    assert all((m == 0).all() for m in moving_means) and all((v == 1).all() for v in moving_vars)


def test_construction_is_random_not_constant():
    torch.manual_seed(1)
    a = TorchGenerator().main[0].weight.detach().numpy().copy()
    torch.manual_seed(2)
    b = TorchGenerator().main[0].weight.detach().numpy()
    assert np.abs(a - b).max() > 0.01


def test_seeded_models_are_bit_equal_across_frameworks():
    ms_g, ms_d = ms_gan.models.build("dcgan", seed=11)
    torch_g, torch_d = torch_gan.models.build("dcgan", seed=11)
    for ms_net, torch_net in ((ms_g, torch_g), (ms_d, torch_d)):
        ms_arrays, torch_arrays = ms_gan.init.state_arrays(ms_net), torch_gan.init.state_arrays(torch_net)
        assert sorted(ms_arrays) == sorted(torch_arrays)
        for name in ms_arrays:
            assert ms_arrays[name].dtype == torch_arrays[name].dtype == np.float32
            np.testing.assert_array_equal(ms_arrays[name], torch_arrays[name], err_msg=name)
    # a different seed gives different weights; G and D of one seed differ too
    other_g, _ = torch_gan.models.build("dcgan", seed=12)
    assert not np.array_equal(other_g.main[0].weight.detach().numpy(), torch_g.main[0].weight.detach().numpy())


def test_layer_inventories_are_the_same():
    ms_inventory = ms_gan.init.layer_inventory(MsDiscriminator())
    torch_inventory = torch_gan.init.layer_inventory(TorchDiscriminator())
    assert ms_inventory == torch_inventory
    assert ms_inventory[1] == ("main.2", "conv", {"weight": (128, 64, 4, 4)})
    assert ms_inventory[2] == ("main.3", "batchnorm", {"gamma": (128,), "beta": (128,)})


def test_spec_without_an_entry_is_an_error():
    with pytest.raises(ValueError, match="no entry for linear 'weight'"):
        draw_arrays([("fc", "linear", {"weight": (2, 3)})], {}, seed=0)


def test_torch_default_spec_draws_fan_in_uniform():
    arrays = draw_arrays([("fc", "linear", {"weight": (400, 2500), "bias": (400,)})], TORCH_DEFAULT_INIT, 0)
    bound = 1 / np.sqrt(2500)
    assert np.abs(arrays["fc.weight"]).max() <= bound
    assert arrays["fc.weight"].std() == pytest.approx(bound / np.sqrt(3), rel=1e-2)


def test_output_shapes():
    z = np.random.default_rng(0).standard_normal((3, 100, 1, 1)).astype(np.float32)
    ms_g, ms_d = MsGenerator(), MsDiscriminator()
    torch_g, torch_d = TorchGenerator(), TorchDiscriminator()
    assert ms_g(ms.Tensor(z)).shape == (3, 3, 64, 64)
    assert tuple(torch_g(torch.from_numpy(z)).shape) == (3, 3, 64, 64)
    images = np.zeros((3, 3, 64, 64), np.float32)
    assert ms_d(ms.Tensor(images)).shape == (3, 1)
    assert tuple(torch_d(torch.from_numpy(images)).shape) == (3, 1)
    small = torch_gan.models.dcgan.Generator(nz=16, ngf=8, nc=1)
    assert tuple(small(torch.zeros(2, 16, 1, 1)).shape) == (2, 1, 64, 64)


@pytest.mark.parametrize("package, forbidden", [("ms_gan", "torch"), ("torch_gan", "mindspore"),
                                                ("parity.common.init_spec", "torch"),
                                                ("parity.common.names", "mindspore")])
@pytest.mark.slow
def test_twins_do_not_import_the_other_framework(package, forbidden):
    code = (f"import importlib, pkgutil, sys; import {package} as p\n"
            f"for m in pkgutil.walk_packages(getattr(p, '__path__', []), p.__name__ + '.'): importlib.import_module(m.name)\n"
            f"print({forbidden!r} in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
