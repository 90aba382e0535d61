"""Checkpoint conversion between MindSpore and PyTorch: both directions, round trips,
both tutorials' files, training checkpoints with Adam state, --verify and bad input."""
import json
import os
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
import torch
from mindspore.common.initializer import Normal

import ms_gan.models
import torch_gan.checkpoint
import torch_gan.models
from helpers.arrays import assert_bit_equal
from parity.__main__ import main as cli
from parity.common.configs import MODELS
from parity.common.names import torch_to_ms_names
from parity.common import layouts
from parity.convert import ConversionError, convert, load_foreign_checkpoint, read_checkpoint
from parity.report import format_table

NZ, NGF, NDF, NC = 100, 64, 64, 3
ms.set_device("CPU")   # before the first MindSpore kernel: --verify builds parity.check.Twins on it


# ---------------------------------------------------------------- the tutorials' own classes


class MsTutorialGenerator(ms.nn.Cell):
    """The MindSpore faces tutorial's generator (seed 001, docs/seeds.md#seed-001), as written there."""

    def __init__(self):
        super().__init__()
        w, g = Normal(mean=0, sigma=0.02), Normal(mean=1, sigma=0.02)
        nn = ms.nn
        self.generator = nn.SequentialCell(
            nn.Conv2dTranspose(NZ, NGF * 8, 4, 1, 'valid', weight_init=w), nn.BatchNorm2d(NGF * 8, gamma_init=g), nn.ReLU(),
            nn.Conv2dTranspose(NGF * 8, NGF * 4, 4, 2, 'pad', 1, weight_init=w), nn.BatchNorm2d(NGF * 4, gamma_init=g), nn.ReLU(),
            nn.Conv2dTranspose(NGF * 4, NGF * 2, 4, 2, 'pad', 1, weight_init=w), nn.BatchNorm2d(NGF * 2, gamma_init=g), nn.ReLU(),
            nn.Conv2dTranspose(NGF * 2, NGF, 4, 2, 'pad', 1, weight_init=w), nn.BatchNorm2d(NGF, gamma_init=g), nn.ReLU(),
            nn.Conv2dTranspose(NGF, NC, 4, 2, 'pad', 1, weight_init=w), nn.Tanh())

    def construct(self, x):
        return self.generator(x)


class MsTutorialDiscriminator(ms.nn.Cell):
    """The MindSpore faces tutorial's discriminator: Sigmoid outside the SequentialCell."""

    def __init__(self):
        super().__init__()
        w, g = Normal(mean=0, sigma=0.02), Normal(mean=1, sigma=0.02)
        nn = ms.nn
        self.discriminator = nn.SequentialCell(
            nn.Conv2d(NC, NDF, 4, 2, 'pad', 1, weight_init=w), nn.LeakyReLU(0.2),
            nn.Conv2d(NDF, NDF * 2, 4, 2, 'pad', 1, weight_init=w), nn.BatchNorm2d(NGF * 2, gamma_init=g), nn.LeakyReLU(0.2),
            nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 'pad', 1, weight_init=w), nn.BatchNorm2d(NGF * 4, gamma_init=g), nn.LeakyReLU(0.2),
            nn.Conv2d(NDF * 4, NDF * 8, 4, 2, 'pad', 1, weight_init=w), nn.BatchNorm2d(NGF * 8, gamma_init=g), nn.LeakyReLU(0.2),
            nn.Conv2d(NDF * 8, 1, 4, 1, 'valid', weight_init=w))
        self.adv_layer = nn.Sigmoid()

    def construct(self, x):
        out = self.discriminator(x)
        out = out.reshape(out.shape[0], -1)
        return self.adv_layer(out)


class TorchExampleGenerator(torch.nn.Module):
    """pytorch/examples dcgan/main.py's Generator."""

    def __init__(self, ngpu=1, ngf=NGF):
        super().__init__()
        nn = torch.nn
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.ConvTranspose2d(NZ, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, NC, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input):
        return self.main(input)


class TorchExampleDiscriminator(torch.nn.Module):
    """pytorch/examples dcgan/main.py's Discriminator: Sigmoid inside main."""

    def __init__(self, ngpu=1):
        super().__init__()
        nn = torch.nn
        self.ngpu = ngpu
        self.main = nn.Sequential(
            nn.Conv2d(NC, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 4, NDF * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(NDF * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


def _randomize_ms_stats(net, seed):
    rng = np.random.default_rng(seed)
    for name, p in net.parameters_and_names():
        if name.endswith(("moving_mean", "moving_variance")):
            value = rng.normal(0, 0.2, p.shape) if name.endswith("mean") else rng.uniform(0.5, 1.5, p.shape)
            p.set_data(ms.Tensor(value.astype(np.float32)))


@torch.no_grad()
def _randomize_torch(net, seed):
    gen = torch.Generator().manual_seed(seed)
    for m in net.modules():   # pytorch/examples' weights_init, plus non-trivial running statistics
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            m.weight.normal_(0.0, 0.02, generator=gen)
        elif isinstance(m, torch.nn.BatchNorm2d):
            m.weight.normal_(1.0, 0.02, generator=gen)
            m.bias.normal_(0.0, 0.02, generator=gen)
            m.running_mean.normal_(0.0, 0.2, generator=gen)
            m.running_var.uniform_(0.5, 1.5, generator=gen)
            m.num_batches_tracked.fill_(7)


def _noise(batch=2, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, NZ, 1, 1)).astype(np.float32)


def _ms_arrays(path):
    return {k: v.asnumpy() for k, v in ms.load_checkpoint(str(path)).items() if not isinstance(v, str)}


def _load_ms(net, path):
    not_loaded, unused = ms.load_param_into_net(net, ms.load_checkpoint(str(path)), strict_load=True)
    assert not not_loaded and not unused, (not_loaded, unused)


# ---------------------------------------------------------------- fixtures: files


def _ms_weights(folder, model="dcgan"):
    """The project's MindSpore G and D of `model`, with non-trivial running statistics,
    saved as g.ckpt and d.ckpt."""
    g, d = ms_gan.models.build(model, seed=1)
    _randomize_ms_stats(g, 2)
    _randomize_ms_stats(d, 3)
    ms.save_checkpoint(g, str(folder / "g.ckpt"))
    ms.save_checkpoint(d, str(folder / "d.ckpt"))
    return folder


@pytest.fixture(scope="module")
def ms_files(tmp_path_factory):
    return _ms_weights(tmp_path_factory.mktemp("ms"))


@pytest.fixture(scope="module")
def torch_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("torch")
    g, d = torch_gan.models.build("dcgan", seed=4)
    _randomize_torch(g, 5)
    _randomize_torch(d, 6)
    torch.save(g.state_dict(), folder / "g.pth")
    torch.save(d.state_dict(), folder / "d.pth")
    return folder


# ---------------------------------------------------------------- weights, both directions


@pytest.mark.parametrize("net", ["g", "d"])
def test_mindspore_to_torch_loads_the_standard_way(ms_files, tmp_path, net):
    dst = tmp_path / f"{net}.pth"
    report = convert(ms_files / f"{net}.ckpt", dst)
    model = torch_gan.models.build("dcgan")[net == "d"]
    model.load_state_dict(torch.load(dst, weights_only=True))    # strict: every key
    ms_values = _ms_arrays(ms_files / f"{net}.ckpt")
    state = model.state_dict()
    for torch_name, ms_name in torch_to_ms_names(state).items():
        if ms_name is None:
            assert int(state[torch_name]) == 0      # num_batches_tracked, made up
        else:
            assert state[torch_name].numpy().dtype == ms_values[ms_name].dtype
            np.testing.assert_array_equal(state[torch_name].numpy(), ms_values[ms_name])
    assert report.networks == (("generator",) if net == "g" else ("discriminator",))
    assert report.source == "mindspore" and report.target == "torch"


@pytest.mark.parametrize("net", ["g", "d"])
def test_torch_to_mindspore_loads_the_standard_way(torch_files, tmp_path, net):
    dst = tmp_path / f"{net}.ckpt"
    report = convert(torch_files / f"{net}.pth", dst)
    model = ms_gan.models.build("dcgan")[net == "d"]
    _load_ms(model, dst)
    from ms_gan.init import state_arrays
    state = torch.load(torch_files / f"{net}.pth", weights_only=True)
    expected = {ms_name: state[n].numpy() for n, ms_name in torch_to_ms_names(state).items() if ms_name}
    assert_bit_equal(state_arrays(model), expected, in_order=False)
    assert any("num_batches_tracked dropped" in n for n in report.notes)


def test_round_trip_mindspore_torch_mindspore(ms_files, tmp_path):
    for net in ("g", "d"):
        convert(ms_files / f"{net}.ckpt", tmp_path / f"{net}.pth")
        convert(tmp_path / f"{net}.pth", tmp_path / f"{net}.ckpt")
        assert_bit_equal(_ms_arrays(tmp_path / f"{net}.ckpt"), _ms_arrays(ms_files / f"{net}.ckpt"), in_order=False)


def test_round_trip_torch_mindspore_torch(torch_files, tmp_path):
    for net in ("g", "d"):
        convert(torch_files / f"{net}.pth", tmp_path / f"{net}.ckpt")
        convert(tmp_path / f"{net}.ckpt", tmp_path / f"{net}.pth")
        before = torch.load(torch_files / f"{net}.pth", weights_only=True)
        after = torch.load(tmp_path / f"{net}.pth", weights_only=True)
        assert list(before) == list(after)
        for k in before:
            if k.endswith("num_batches_tracked"):   # MindSpore cannot carry it (it was 7)
                assert int(after[k]) == 0
            else:
                assert before[k].dtype == after[k].dtype
                assert torch.equal(before[k], after[k]), k


# ---------------------------------------------------------------- every model

# The fast lane converts the two quickest models (and dcgan in the tests above); the full
# suite every model, as tests/checkpoints/test_export.py does.
QUICK_MODELS = ("cnn_gan", "gan")
EVERY_MODEL = [m if m in QUICK_MODELS else pytest.param(m, marks=pytest.mark.slow) for m in sorted(MODELS)]


@pytest.mark.parametrize("model", EVERY_MODEL)
def test_every_model_round_trips_and_verifies(model, tmp_path):
    """G and D weights of each model: MindSpore -> PyTorch (verified) -> MindSpore, bit-equal."""
    src = _ms_weights(tmp_path, model)
    for net in ("g", "d"):
        report = convert(src / f"{net}.ckpt", tmp_path / f"{net}.pth", model=model, verify=True)
        assert report.passed and report.model == model, format_table(report.checks)
        assert {c.name.split()[0] for c in report.checks} == {net.upper()}
        convert(tmp_path / f"{net}.pth", tmp_path / f"{net}_back.ckpt", model=model)
        assert_bit_equal(_ms_arrays(tmp_path / f"{net}_back.ckpt"), _ms_arrays(src / f"{net}.ckpt"), in_order=False)
    if model in ("cnn_gan", "dcgan_mnist"):
        assert any("dropout" in n for n in report.notes)


@pytest.mark.parametrize("model", EVERY_MODEL)
def test_every_model_training_checkpoint_round_trips(model, tmp_path):
    _ms_training(tmp_path / "a.ckpt", model=model)
    report = convert(tmp_path / "a.ckpt", tmp_path / "b.pt", verify=True)      # the model found by its names
    assert report.model == model and report.passed and report.networks == ("generator", "discriminator")
    assert convert(tmp_path / "b.pt", tmp_path / "c.ckpt").model == model
    _assert_ms_training_equal(tmp_path / "a.ckpt", tmp_path / "c.ckpt")


def test_the_model_is_found_by_its_parameters(tmp_path, capsys):
    for model in ("gan", "dcgan_mnist"):
        (tmp_path / model).mkdir()
        _ms_weights(tmp_path / model, model)
        assert convert(tmp_path / model / "d.ckpt", tmp_path / f"{model}.pth").model == model
        assert read_checkpoint(tmp_path / f"{model}.pth").networks.keys() == {"discriminator"}
    # the command line finds it too; a wrong --model names the one the file fits
    assert cli(["convert", str(tmp_path / "gan" / "g.ckpt"), str(tmp_path / "g.pth")]) == 0
    assert "gan generator" in capsys.readouterr().out
    _fails(capsys, tmp_path / "gan" / "g.ckpt", tmp_path / "g2.pth", "--model", "dcgan",
           match=f"error: --model dcgan contradicts {tmp_path / 'gan' / 'g.ckpt'}: the generator is gan's\n")


def test_a_file_that_fits_two_models_needs_model(tmp_path, capsys):
    """cnn_gan's generator is sgan's: the same names and shapes."""
    _ms_weights(tmp_path, "cnn_gan")
    with pytest.raises(ConversionError, match=r"ambiguous: the generator fits cnn_gan and sgan .*--model cnn_gan\|sgan"):
        convert(tmp_path / "g.ckpt", tmp_path / "g.pth")
    assert not (tmp_path / "g.pth").exists()
    assert cli(["convert", str(tmp_path / "g.ckpt"), str(tmp_path / "g.pth"), "--model", "sgan"]) == 0
    assert "sgan generator" in capsys.readouterr().out


# ---------------------------------------------------------------- the tutorials' files


@pytest.fixture(scope="module")
def ms_tutorial(tmp_path_factory):
    """generator.ckpt and discriminator.ckpt as the MindSpore tutorial saves them."""
    folder = tmp_path_factory.mktemp("ms_tutorial")
    ms.set_seed(7)
    g, d = MsTutorialGenerator(), MsTutorialDiscriminator()
    _randomize_ms_stats(g, 8)
    _randomize_ms_stats(d, 9)
    ms.save_checkpoint(g, str(folder / "generator.ckpt"))
    ms.save_checkpoint(d, str(folder / "discriminator.ckpt"))
    return folder, g, d


@pytest.fixture(scope="module")
def torch_example(tmp_path_factory):
    """netG.pth and netD.pth as pytorch/examples' dcgan saves them."""
    folder = tmp_path_factory.mktemp("torch_example")
    g, d = TorchExampleGenerator(), TorchExampleDiscriminator()
    _randomize_torch(g, 10)
    _randomize_torch(d, 11)
    torch.save(g.state_dict(), folder / "netG.pth")
    torch.save(d.state_dict(), folder / "netD.pth")
    return folder, g, d


def test_ms_tutorial_names_are_as_the_issue_says(ms_tutorial):
    folder, _, _ = ms_tutorial
    names = set(ms.load_checkpoint(str(folder / "generator.ckpt")))
    assert {"generator.0.weight", "generator.1.gamma", "generator.1.moving_variance"} <= names
    assert "discriminator.3.moving_mean" in set(ms.load_checkpoint(str(folder / "discriminator.ckpt")))
    assert read_checkpoint(folder / "discriminator.ckpt").layout == "tutorial"


def test_ms_tutorial_generator_gives_the_same_images_in_pytorch_examples(ms_tutorial, tmp_path):
    folder, ms_g, _ = ms_tutorial
    dst = tmp_path / "netG.pth"
    report = convert(folder / "generator.ckpt", dst, layout="tutorial")
    assert report.layout_in == "tutorial" and report.networks == ("generator",)
    torch_g = TorchExampleGenerator()
    torch_g.load_state_dict(torch.load(dst, weights_only=True))
    z = _noise(4)
    ms_g.set_train(False)
    torch_g.eval()
    ms_images = ms_g(ms.Tensor(z)).asnumpy()
    with torch.no_grad():
        torch_images = torch_g(torch.from_numpy(z)).numpy()
    diff = np.abs(ms_images - torch_images).max()
    print(f"MindSpore tutorial G -> pytorch/examples G: max abs diff {diff:.3e}")
    assert diff <= 1e-5 and np.abs(ms_images).max() > 0.1


def test_ms_tutorial_discriminator_into_project_and_example_models(ms_tutorial, tmp_path):
    folder, _, ms_d = ms_tutorial
    convert(folder / "discriminator.ckpt", tmp_path / "d.pth")
    convert(folder / "discriminator.ckpt", tmp_path / "netD.pth", layout="tutorial")
    project_d = torch_gan.models.build("dcgan")[1]
    project_d.load_state_dict(torch.load(tmp_path / "d.pth", weights_only=True))
    example_d = TorchExampleDiscriminator()
    example_d.load_state_dict(torch.load(tmp_path / "netD.pth", weights_only=True))
    x = np.random.default_rng(1).uniform(-1, 1, (2, NC, 64, 64)).astype(np.float32)
    ms_d.set_train(False)
    expected = ms_d(ms.Tensor(x)).asnumpy().reshape(-1)
    with torch.no_grad():
        for model in (project_d.eval(), example_d.eval()):
            assert np.abs(model(torch.from_numpy(x)).numpy().reshape(-1) - expected).max() <= 1e-5


def test_torch_example_generator_gives_the_same_images_in_the_ms_tutorial(torch_example, tmp_path):
    folder, torch_g, _ = torch_example
    dst = tmp_path / "generator.ckpt"
    convert(folder / "netG.pth", dst, layout="tutorial")
    assert all(n.startswith("generator.") for n in ms.load_checkpoint(str(dst)))
    ms_g = MsTutorialGenerator()
    _load_ms(ms_g, dst)
    z = _noise(4, seed=1)
    ms_g.set_train(False)
    torch_g.eval()
    with torch.no_grad():
        torch_images = torch_g(torch.from_numpy(z)).numpy()
    diff = np.abs(ms_g(ms.Tensor(z)).asnumpy() - torch_images).max()
    print(f"pytorch/examples G -> MindSpore tutorial G: max abs diff {diff:.3e}")
    assert diff <= 1e-5


def test_torch_example_files_go_into_the_project_and_tutorial_models(torch_example, tmp_path):
    folder, _, _ = torch_example
    convert(folder / "netD.pth", tmp_path / "d.ckpt")
    convert(folder / "netD.pth", tmp_path / "discriminator.ckpt", layout="tutorial")
    _load_ms(ms_gan.models.build("dcgan")[1], tmp_path / "d.ckpt")
    _load_ms(MsTutorialDiscriminator(), tmp_path / "discriminator.ckpt")
    assert read_checkpoint(tmp_path / "discriminator.ckpt").networks.keys() == {"discriminator"}


# ---------------------------------------------------------------- training checkpoints


def _grads(net, seed, framework):
    rng = np.random.default_rng(seed)
    params = net.trainable_params() if framework == "ms" else list(net.parameters())
    return [rng.standard_normal(tuple(p.shape)).astype(np.float32) * 1e-2 for p in params]


def _ms_opt_entries(prefix, optimizer, net):
    """The optimizer's own state (its network's parameters left out) under `prefix.`."""
    weights = {p.name for p in net.trainable_params()}
    return [{"name": f"{prefix}.{n}", "data": p} for n, p in optimizer.parameters_and_names() if n not in weights]


def _ms_training(path, adam="mint", model="dcgan"):
    """A MindSpore training checkpoint per parity/common/checkpoints.py, after real steps."""
    g, d = ms_gan.models.build(model, seed=12)
    _randomize_ms_stats(g, 13)
    opts = {}
    for name, net in (("g", g), ("d", d)):
        if adam == "nn" and name == "d":
            opts[name] = ms.nn.Adam(net.trainable_params(), learning_rate=2e-4, beta1=0.5, beta2=0.999)
        else:
            opts[name] = ms.mint.optim.Adam(net.trainable_params(), lr=2e-4, betas=(0.5, 0.999))
        for step in range(2):
            opts[name](tuple(ms.Tensor(x) for x in _grads(net, step, "ms")))
    entries = ([{"name": f"generator.{n}", "data": p} for n, p in g.parameters_and_names()]
               + [{"name": f"discriminator.{n}", "data": p} for n, p in d.parameters_and_names()]
               + _ms_opt_entries("optimizer_g", opts["g"], g) + _ms_opt_entries("optimizer_d", opts["d"], d)
               + [{"name": "epoch", "data": ms.Tensor(np.int32(3))}])
    ms.save_checkpoint(entries, str(path), append_dict={"config": json.dumps({"lr": 2e-4, "beta1": 0.5})})
    return g, d, opts


def _torch_training(path):
    g, d = torch_gan.models.build("dcgan", seed=14)
    _randomize_torch(g, 15)
    opts = {n: torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999)) for n, net in (("g", g), ("d", d))}
    for name, net in (("g", g), ("d", d)):
        for step in range(2):
            for p, x in zip(net.parameters(), _grads(net, step, "torch")):
                p.grad = torch.from_numpy(x)
            opts[name].step()
    torch.save({"generator": g.state_dict(), "discriminator": d.state_dict(), "optimizer_g": opts["g"].state_dict(),
                "optimizer_d": opts["d"].state_dict(), "epoch": 3, "config": {"lr": 2e-4, "beta1": 0.5}}, path)
    return g, d, opts


@pytest.fixture(scope="module")
def ms_training(tmp_path_factory):
    path = tmp_path_factory.mktemp("ms_training") / "train.ckpt"
    return (path, *_ms_training(path))


@pytest.fixture(scope="module")
def torch_training(tmp_path_factory):
    path = tmp_path_factory.mktemp("torch_training") / "train.pt"
    return (path, *_torch_training(path))


def test_adam_parameter_order_is_the_same_in_both_frameworks():
    g_ms, _ = ms_gan.models.build("dcgan")
    g_torch, _ = torch_gan.models.build("dcgan")
    mapping = torch_to_ms_names(g_torch.state_dict())   # BatchNorms are known by their running mean
    assert [mapping[n] for n, _ in g_torch.named_parameters()] == [p.name for p in g_ms.trainable_params()]


def test_mindspore_training_checkpoint_resumes_in_pytorch(ms_training, tmp_path):
    src, ms_g, _, ms_opts = ms_training
    dst = tmp_path / "train.pt"
    report = convert(src, dst)
    assert report.layout_in == "training" and report.networks == ("generator", "discriminator")
    ck = torch.load(dst, weights_only=True)
    assert ck["epoch"] == 3 and ck["config"] == {"lr": 2e-4, "beta1": 0.5}
    g, d = torch_gan.models.build("dcgan")
    g.load_state_dict(ck["generator"])
    d.load_state_dict(ck["discriminator"])
    opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt.load_state_dict(ck["optimizer_g"])
    assert float(opt.state_dict()["state"][0]["step"]) == 2.0
    # one more step with the same gradient in both frameworks: the run goes on alike
    grads = _grads(g, 99, "torch")
    for p, x in zip(g.parameters(), grads):
        p.grad = torch.from_numpy(x)
    opt.step()
    ms_opts["g"](tuple(ms.Tensor(x) for x in grads))
    for (name, p), ms_p in zip(g.named_parameters(), ms_g.trainable_params()):
        np.testing.assert_allclose(p.detach().numpy(), ms_p.asnumpy(), atol=1e-6, err_msg=name)


def test_torch_training_checkpoint_resumes_in_mindspore(torch_training, tmp_path):
    src, torch_g, _, torch_opts = torch_training
    dst = tmp_path / "train.ckpt"
    convert(src, dst)
    raw = ms.load_checkpoint(str(dst))
    assert int(raw["epoch"].asnumpy()) == 3 and json.loads(raw["config"]) == {"lr": 2e-4, "beta1": 0.5}
    g, d = ms_gan.models.build("dcgan")
    for prefix, net in (("generator.", g), ("discriminator.", d)):
        params = {k[len(prefix):]: v for k, v in raw.items() if k.startswith(prefix)}
        assert ms.load_param_into_net(net, params, strict_load=True) == ([], [])
    opt = ms.mint.optim.Adam(g.trainable_params(), lr=2e-4, betas=(0.5, 0.999))
    state = {k[len("optimizer_g."):]: v for k, v in raw.items() if k.startswith("optimizer_g.")}
    # strict_load: otherwise MindSpore strips unmatched prefixes and loads exp_avg.main.* into main.*
    not_loaded, unused = ms.load_param_into_net(opt, state, strict_load=True)
    assert not unused and all(n.startswith("main.") for n in not_loaded)   # only G's own weights
    assert float(opt.state_step.asnumpy()[0]) == 2.0
    grads = _grads(torch_g, 98, "torch")
    opt(tuple(ms.Tensor(x) for x in grads))
    for p, x in zip(torch_g.parameters(), grads):
        p.grad = torch.from_numpy(x)
    torch_opts["g"].step()
    for (name, p), ms_p in zip(torch_g.named_parameters(), g.trainable_params()):
        np.testing.assert_allclose(p.detach().numpy(), ms_p.asnumpy(), atol=1e-6, err_msg=name)


def _assert_ms_training_equal(path_a, path_b):
    before, after = ms.load_checkpoint(str(path_a)), ms.load_checkpoint(str(path_b))
    assert set(before) == set(after) and before["config"] == after["config"]
    for k in before:
        if k != "config":
            assert before[k].dtype == after[k].dtype and before[k].shape == after[k].shape, k
            np.testing.assert_array_equal(before[k].asnumpy(), after[k].asnumpy(), err_msg=k)


def test_training_round_trips_are_bit_equal(ms_training, torch_training, tmp_path):
    convert(ms_training[0], tmp_path / "b.pt")
    convert(tmp_path / "b.pt", tmp_path / "c.ckpt")
    _assert_ms_training_equal(ms_training[0], tmp_path / "c.ckpt")

    convert(torch_training[0], tmp_path / "y.ckpt")
    convert(tmp_path / "y.ckpt", tmp_path / "z.pt")
    a, b = torch.load(torch_training[0], weights_only=True), torch.load(tmp_path / "z.pt", weights_only=True)
    assert a["epoch"] == b["epoch"] and a["config"] == b["config"]
    for net in ("generator", "discriminator"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]) or k.endswith("num_batches_tracked"), k
    for opt in ("optimizer_g", "optimizer_d"):
        assert a[opt]["param_groups"][0]["params"] == b[opt]["param_groups"][0]["params"]
        for i, entry in a[opt]["state"].items():
            for k, v in entry.items():
                assert v.dtype == b[opt]["state"][i][k].dtype and torch.equal(v, b[opt]["state"][i][k]), (i, k)


def test_nn_adam_state_is_accepted(tmp_path):
    _, _, opts = _ms_training(tmp_path / "nn.ckpt", adam="nn")
    report = convert(tmp_path / "nn.ckpt", tmp_path / "nn.pt")
    assert any("beta1_power" in n for n in report.notes)
    state = torch.load(tmp_path / "nn.pt", weights_only=True)["optimizer_d"]["state"]
    assert float(state[0]["step"]) == 2.0
    np.testing.assert_array_equal(state[0]["exp_avg"].numpy(), opts["d"].moment1[0].asnumpy())
    np.testing.assert_array_equal(state[0]["exp_avg_sq"].numpy(), opts["d"].moment2[0].asnumpy())


def test_tutorial_layout_of_a_training_checkpoint_is_refused(torch_training, tmp_path):
    with pytest.raises(ConversionError, match="one network's weights"):
        convert(torch_training[0], tmp_path / "t.ckpt", layout="tutorial")
    assert not (tmp_path / "t.ckpt").exists()


# ---------------------------------------------------------------- foreign files in memory


def test_load_foreign_checkpoint_both_ways(ms_files, torch_files):
    g_torch = torch_gan.models.build("dcgan")[0]
    g_torch.load_state_dict(load_foreign_checkpoint(ms_files / "g.ckpt", "torch"))
    g_ms = ms_gan.models.build("dcgan")[0]
    assert ms.load_param_into_net(g_ms, load_foreign_checkpoint(torch_files / "g.pth", "mindspore"),
                                  strict_load=True) == ([], [])
    np.testing.assert_array_equal(g_ms.main[1].moving_mean.asnumpy(),
                                  torch.load(torch_files / "g.pth", weights_only=True)["main.1.running_mean"].numpy())


# ---------------------------------------------------------------- --verify and the command line


def test_cli_verify_prints_the_table(ms_tutorial, tmp_path, capsys):
    folder, _, _ = ms_tutorial
    assert cli(["convert", str(folder / "generator.ckpt"), str(tmp_path / "g.pth"), "--verify"]) == 0
    out = capsys.readouterr().out
    assert "G output, eval mode" in out and "G main.1.moving_mean after a train step" in out
    assert "D output" not in out and "checks passed" in out


def test_verify_of_a_training_checkpoint_covers_both_networks(torch_training, tmp_path):
    report = convert(torch_training[0], tmp_path / "t.ckpt", verify=True)
    names = [c.name for c in report.checks]
    assert report.passed and "G output, train mode" in names and "D output, eval mode" in names


def test_convert_with_verify_opens_each_file_once(torch_training, tmp_path, monkeypatch):
    """SRC is read once and handed to --verify as read; DST once, to verify it (#25: SRC was
    opened three times). Every open goes through io.open: torch.load's, zipfile's, ours."""
    import builtins
    import io
    opened, real_open = [], io.open

    def counting_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and "r" in mode:
            opened.append(os.path.realpath(file))
        return real_open(file, mode, *args, **kwargs)
    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    src, dst = torch_training[0], tmp_path / "once.ckpt"
    assert cli(["convert", str(src), str(dst), "--verify"]) == 0
    assert opened.count(os.path.realpath(src)) == 1
    assert len([path for path in opened if path.startswith(str(tmp_path.resolve()))]) == 1   # DST, as written


def test_verify_fails_on_a_wrong_conversion(ms_files, tmp_path, monkeypatch, capsys):
    def swapped(names):   # gamma and beta exchanged: a classic porting bug
        swap = {"gamma": "beta", "beta": "gamma"}
        return {n: (n.rpartition(".")[0] + "." + {"gamma": "weight", "beta": "bias"}[swap[n.rpartition(".")[2]]]
                    if n.rpartition(".")[2] in swap else ms_to_torch(names)[n]) for n in names}
    ms_to_torch = layouts.ms_to_torch_names
    monkeypatch.setattr(layouts, "ms_to_torch_names", swapped)
    dst = tmp_path / "d.pth"
    assert cli(["convert", str(ms_files / "d.ckpt"), str(dst), "--verify"]) == 2
    err = capsys.readouterr().err
    assert "verification FAILED" in err and "D output, eval mode" in err and "FAIL" in err
    assert not dst.exists() and not list(tmp_path.iterdir())


@pytest.mark.slow
def test_cli_end_to_end_in_a_fresh_process(torch_example, tmp_path):
    folder, _, _ = torch_example
    dst = tmp_path / "generator.ckpt"
    result = subprocess.run([sys.executable, "-m", "parity", "convert", str(folder / "netG.pth"), str(dst),
                             "--layout", "tutorial", "--verify"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "tutorial layout" in result.stdout and "checks passed" in result.stdout
    _load_ms(MsTutorialGenerator(), dst)


# ---------------------------------------------------------------- bad input


def _fails(capsys, *args, match):
    code = cli(["convert", *map(str, args)])
    err = capsys.readouterr().err
    assert code == 2, err
    for text in ([match] if isinstance(match, str) else match):
        assert text in err, err
    return err


def test_existing_dst_is_kept_unless_force(ms_files, tmp_path, capsys):
    dst = tmp_path / "g.pth"
    dst.write_bytes(b"keep me")
    _fails(capsys, ms_files / "g.ckpt", dst, match="--force")
    assert dst.read_bytes() == b"keep me"
    assert cli(["convert", str(ms_files / "g.ckpt"), str(dst), "--force"]) == 0
    torch_gan.models.build("dcgan")[0].load_state_dict(torch.load(dst, weights_only=True))


def test_wrong_architecture_names_each_parameter_and_both_shapes(tmp_path, capsys):
    torch.save(TorchExampleGenerator(ngf=32).state_dict(), tmp_path / "small.pth")
    err = _fails(capsys, tmp_path / "small.pth", tmp_path / "out.ckpt",
                 match=["main.0.weight: file (100, 256, 4, 4), model (100, 512, 4, 4)",
                        "main.1.gamma: file (256,), model (512,)", "wrong architecture"])
    assert err.count("file (") == 5 + 4 * 4   # every conv, and all four tensors of every BatchNorm
    assert not (tmp_path / "out.ckpt").exists()


def test_missing_and_unexpected_keys_are_listed(torch_files, tmp_path, capsys):
    state = torch.load(torch_files / "g.pth", weights_only=True)
    del state["main.4.running_var"], state["main.12.weight"]
    state["main.13.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "bad.pth")
    _fails(capsys, tmp_path / "bad.pth", tmp_path / "out.ckpt",
           match=["missing keys: main.12.weight, main.4.moving_variance", "unexpected keys: main.13.weight"])
    assert not (tmp_path / "out.ckpt").exists()


def test_missing_keys_of_a_mindspore_tutorial_file(ms_tutorial, tmp_path, capsys):
    folder, _, _ = ms_tutorial
    entries = [{"name": k, "data": v} for k, v in ms.load_checkpoint(str(folder / "generator.ckpt")).items()
               if k != "generator.7.beta"]
    ms.save_checkpoint(entries, str(tmp_path / "generator.ckpt"))
    _fails(capsys, tmp_path / "generator.ckpt", tmp_path / "g.pth", match="missing keys: main.7.beta")


@pytest.mark.parametrize("suffix", [".ckpt", ".pth"])
def test_truncated_corrupt_and_empty_files(ms_files, torch_files, tmp_path, capsys, suffix):
    good = (ms_files / "g.ckpt") if suffix == ".ckpt" else (torch_files / "g.pth")
    other = ".pth" if suffix == ".ckpt" else ".ckpt"
    data = good.read_bytes()
    cases = {"truncated": data[: len(data) // 2], "corrupt": b"not a checkpoint " * 20, "empty": b""}
    for label, content in cases.items():
        src = tmp_path / f"{label}{suffix}"
        src.write_bytes(content)
        dst = tmp_path / f"{label}{other}"
        _fails(capsys, src, dst, match=[str(src), "is empty" if label == "empty" else "truncated or corrupt"])
        assert not dst.exists()


def test_directory_and_unknown_suffix(tmp_path, capsys):
    (tmp_path / "folder.ckpt").mkdir()
    _fails(capsys, tmp_path / "folder.ckpt", tmp_path / "x.pth", match="is a directory")
    (tmp_path / "w.npz").write_bytes(b"x")
    _fails(capsys, tmp_path / "w.npz", tmp_path / "x.pth", match="unknown checkpoint type '.npz'")
    _fails(capsys, tmp_path / "nope.pth", tmp_path / "x.ckpt", match="no such file")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickle_carrying_code_is_refused_without_running_it(tmp_path, capsys):
    marker = tmp_path / "ran"
    torch.save({"main.0.weight": torch.zeros(1), "x": _Payload(str(marker))}, tmp_path / "evil.pth")
    _fails(capsys, tmp_path / "evil.pth", tmp_path / "out.ckpt", match=["refused", "weights_only=True"])
    assert not marker.exists() and not (tmp_path / "out.ckpt").exists()


def test_nan_warns_and_strict_refuses(torch_files, tmp_path, capsys):
    state = torch.load(torch_files / "d.pth", weights_only=True)
    state["main.3.weight"][0] = float("nan")
    state["main.0.weight"][0, 0, 0, 0] = float("inf")
    torch.save(state, tmp_path / "nan.pth")
    _fails(capsys, tmp_path / "nan.pth", tmp_path / "strict.ckpt", "--strict",
           match=["NaN or Inf in D main.0.weight, D main.3.gamma", "--strict"])
    assert not (tmp_path / "strict.ckpt").exists()
    with pytest.warns(RuntimeWarning, match="NaN or Inf"):
        assert cli(["convert", str(tmp_path / "nan.pth"), str(tmp_path / "ok.ckpt")]) == 0
    assert "warning: " in capsys.readouterr().out
    assert np.isnan(_ms_arrays(tmp_path / "ok.ckpt")["main.3.gamma"][0])
