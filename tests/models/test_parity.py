"""Every model's parity check, seeded init, shapes and losses; dcgan's kink redraw and CLI;
and a negative control for each concern the ports add (momentum written the PyTorch way,
swapped gamma and beta, eps 0.8, softmax before CE, dropout, LeakyReLU slope, MindSpore's
tanh, biases before BatchNorm)."""
import copy
import json
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
import torch

import ms_gan.init
import ms_gan.losses
import ms_gan.models
import torch_gan.init
import torch_gan.losses
import torch_gan.models
from ms_gan.models.layers import Tanh as MsTanh
from parity.check import biases_before_batchnorm, check_twins, forward_checks, forward_crossings, run_check
from parity.common import streams
from parity.common.configs import DCGAN, MODELS as CONFIGS, get_config
from parity.common.init_spec import FanInUniform, Normal, TORCH_DEFAULT_INIT
from parity.twins import Twins, draw_inputs

MODELS = tuple(sorted(CONFIGS))
CHECK_BATCH = 4
# dcgan's seed 3 draws an input on a kink (test_inputs_straddling_a_kink_are_redrawn)
CHECK_SEEDS = {"dcgan": 3}


@pytest.fixture(scope="module")
def checked():
    results = {}

    def get(name):
        if name not in results:
            notes = []
            results[name] = (run_check(name, batch=CHECK_BATCH, seed=CHECK_SEEDS.get(name, 1), notes=notes), notes)
        return results[name]
    return get


def _failed(checks):
    return {c.name for c in checks if not c.passed}


@pytest.mark.parametrize("name", MODELS)
def test_every_check_passes(checked, name):
    checks, _ = checked(name)
    assert not _failed(checks), [c for c in checks if not c.passed]
    assert any(c.max_abs > 0 for c in checks)   # compared values are real, not equal by construction


@pytest.mark.parametrize("name", MODELS)
def test_table_lists_outputs_losses_and_every_gradient(checked, name):
    checks, _ = checked(name)
    names = [c.name for c in checks]
    for expected in ("G output, eval mode", "D output, eval mode", "G output, train mode",
                     "D output, train mode", "D loss real", "D loss fake", "D loss", "G loss"):
        assert expected in names
    g, d = ms_gan.models.build(name, seed=0)
    g_params = [n for n, p in g.parameters_and_names() if p.requires_grad]
    d_params = [n for n, p in d.parameters_and_names() if p.requires_grad]
    grad_rows = [n.split(" (")[0] for n in names if " grad " in n]
    d_prefixes = ["D"] + (["D adversarial-loss", "D class-loss"] if name == "sgan" else [])
    assert grad_rows == [f"{prefix} grad {p}" for prefix in d_prefixes for p in d_params] + [
        f"G grad {p}" for p in g_params]
    stats = [n for n, p in [*g.parameters_and_names(), *d.parameters_and_names()] if "moving_" in n]
    assert sum("after a train step" in n for n in names) == len(stats)


def test_sgan_compares_both_heads_and_both_losses(checked):
    checks, notes = checked("sgan")
    names = {c.name for c in checks}
    assert {"D class logits, eval mode", "D class logits, train mode", "D adversarial loss",
            "D class loss real", "D class loss fake", "D class loss"} <= names
    rows = {c.name: c for c in checks}
    # each part's gradient reaches only its own head
    assert rows["D adversarial-loss grad aux_layer.0.weight"].max_abs == 0
    assert rows["D class-loss grad adv_layer.0.weight"].max_abs == 0
    assert rows["D class-loss grad aux_layer.0.weight"].max_abs > 0
    assert any(n.startswith("dropout (D conv_blocks.2") for n in notes)


def test_models_without_batchnorm_have_no_statistics_rows(checked):
    checks, _ = checked("gan")
    assert not [c for c in checks if "moving_" in c.name]


@pytest.mark.parametrize("name", MODELS)
def test_seeded_init_is_bit_equal_across_frameworks(name):
    for ms_net, torch_net in zip(ms_gan.models.build(name, seed=7), torch_gan.models.build(name, seed=7)):
        assert ms_gan.init.layer_inventory(ms_net) == torch_gan.init.layer_inventory(torch_net)
        ms_arrays, torch_arrays = ms_gan.init.state_arrays(ms_net), torch_gan.init.state_arrays(torch_net)
        assert sorted(ms_arrays) == sorted(torch_arrays)
        for key in ms_arrays:
            np.testing.assert_array_equal(ms_arrays[key], torch_arrays[key], err_msg=key)


@pytest.mark.parametrize("name", MODELS)
def test_output_shapes(name):
    config = get_config(name)
    z = np.random.default_rng(0).standard_normal((3, *config.noise_shape)).astype(np.float32)
    ms_g, ms_d = ms_gan.models.build(name)
    torch_g, torch_d = torch_gan.models.build(name)
    assert ms_g(ms.Tensor(z)).shape == (3, *config.image_shape)
    assert tuple(torch_g(torch.from_numpy(z)).shape) == (3, *config.image_shape)
    images = np.zeros((3, *config.image_shape), np.float32)
    ms_out, torch_out = ms_d(ms.Tensor(images)), torch_d(torch.from_numpy(images))
    expected = [(3, 1), (3, config.num_classes + 1)] if config.loss == "sgan" else [(3, 1)]
    ms_out = ms_out if isinstance(ms_out, tuple) else (ms_out,)
    torch_out = torch_out if isinstance(torch_out, tuple) else (torch_out,)
    assert [tuple(o.shape) for o in ms_out] == [tuple(o.shape) for o in torch_out] == expected


def test_init_follows_the_seeds():
    """MLPs and seed 004 / 000: PyTorch's default; sgan: weights_init_normal on conv and BN only."""
    assert get_config("gan").init is TORCH_DEFAULT_INIT
    sgan = get_config("sgan").init
    assert sgan[("conv", "weight")] == Normal(0.0, 0.02) and sgan[("batchnorm", "gamma")] == Normal(1.0, 0.02)
    assert isinstance(sgan[("linear", "weight")], FanInUniform) and isinstance(sgan[("conv", "bias")], FanInUniform)
    torch.manual_seed(0)
    _, d = torch_gan.models.build("sgan")
    assert abs(d.conv_blocks[3].weight.std().item() - 0.02) < 2e-3
    bound = 1 / np.sqrt(512)
    assert d.aux_layer[0].weight.abs().max().item() <= bound and d.aux_layer[0].weight.std().item() > 0.5 * bound
    ms.set_seed(0)
    ms_g, _ = ms_gan.models.build("gan_bn")   # MindSpore's own RNG, PyTorch's distribution
    weight = ms_g.model[2].weight.asnumpy()
    assert np.abs(weight).max() <= 1 / np.sqrt(128) and weight.std() == pytest.approx(1 / np.sqrt(128 * 3), rel=0.05)


def test_configs_record_the_seed_fixes():
    sgan = get_config("sgan")
    assert sgan.noise == "normal" and sgan.loss == "sgan" and sgan.num_classes == 10
    assert any("Softmax" in fix for fix in sgan.fixes) and any("torch.rand" in fix for fix in sgan.fixes)
    assert any("Dropout2d" in fix for fix in get_config("dcgan_mnist").fixes)
    assert {get_config(n).image_shape for n in ("gan", "gan_bn", "cnn_gan", "dcgan_mnist", "sgan")} == {
        (1, 28, 28), (1, 32, 32)}


# --- dcgan -------------------------------------------------------------------------

def test_inputs_straddling_a_kink_are_redrawn(checked):
    """Seed 3 at batch 4 puts one LeakyReLU input of D within float32 rounding of 0, on
    opposite sides in the two frameworks; compared there, G's gradients part by ~0.5%."""
    checks, notes = checked("dcgan")
    assert len(notes) == 1 and notes[0].startswith("input draw 0: 1 input(s) of D main.1 on opposite sides of 0")
    twins = Twins("dcgan", seed=3)
    twins.randomize_running_stats(3 + 2)
    z, real = draw_inputs(twins.config, 4, [3 + 4, 0])
    _, fake = forward_checks(twins, z, real)
    crossings = forward_crossings(twins, z, real, fake)
    assert list(crossings) == ["D main.1"] and crossings["D main.1"][0] == 1
    assert crossings["D main.1"][1] < 1e-6


def test_check_covers_outputs_losses_gradients_and_statistics(checked):
    checks, _ = checked("dcgan")
    names = [c.name for c in checks]
    for expected in ("G output, eval mode", "D output, eval mode", "G output, train mode",
                     "D output, train mode", "D loss real", "D loss fake", "D loss", "G loss"):
        assert expected in names
    # every trainable parameter of both networks: G 5 convs + 4 BN x2, D 5 convs + 3 BN x2
    assert sum(n.startswith("G grad") for n in names) == 5 + 4 * 2
    assert sum(n.startswith("D grad") for n in names) == 5 + 3 * 2
    assert sum("moving_" in n for n in names) == (4 + 3) * 2
    # the compared values are real, not identical by construction
    assert any(c.max_abs > 0 for c in checks)


def test_running_stats_are_non_trivial():
    twins = Twins("dcgan", seed=0)
    twins.randomize_running_stats(5)
    mean = twins.ms_g.main[1].moving_mean.asnumpy()
    var = twins.torch_g.main[1].running_var.numpy()
    assert np.abs(mean).max() > 0.1 and np.abs(var - 1).max() > 0.1
    np.testing.assert_array_equal(mean, twins.torch_g.main[1].running_mean.numpy())


@pytest.mark.slow
def test_check_catches_momentum_written_the_pytorch_way(monkeypatch):
    """MindSpore's momentum is the weight of the old value: 0.1 there is a classic bug."""
    import ms_gan.models.dcgan as ms_dcgan
    from ms_gan.init import init_from_seed

    twins = Twins("dcgan", seed=0)
    monkeypatch.setattr(ms_dcgan, "batch_norm", lambda n: ms.nn.BatchNorm2d(n, eps=1e-5, momentum=0.1))
    twins.ms_g = ms_dcgan.Generator()
    init_from_seed(twins.ms_g, DCGAN.init, 0)
    checks = check_twins(twins, batch=4)
    failed = {c.name for c in checks if not c.passed}
    # exactly G's running statistics: outputs and gradients use batch statistics
    assert failed == {f"G main.{i}.{stat} after a train step"
                      for i in (1, 4, 7, 10) for stat in ("moving_mean", "moving_variance")}


@pytest.mark.slow
def test_check_catches_swapped_gamma_and_beta():
    twins = Twins("dcgan", seed=0)
    bn = twins.ms_d.main[3]
    gamma, beta = bn.gamma.asnumpy().copy(), bn.beta.asnumpy().copy()
    bn.gamma.set_data(ms.Tensor(beta + 0.5))   # beta is all zeros: keep gamma away from 0
    bn.beta.set_data(ms.Tensor(gamma))
    checks = check_twins(twins, batch=4)
    failed = {c.name for c in checks if not c.passed}
    assert "D output, train mode" in failed and "D output, eval mode" in failed
    assert "G output, eval mode" not in failed

def test_image_shape_matches_the_tutorial():
    assert DCGAN.image_shape == (3, 64, 64) and DCGAN.noise_shape == (100, 1, 1)


# --- negative controls -------------------------------------------------------------

@pytest.mark.slow
def test_eps_read_as_momentum_is_caught(monkeypatch):
    """Seed 004's BatchNorm1d(out, 0.8) is eps=0.8; read as momentum, train-mode outputs
    and running statistics part."""
    import ms_gan.models.gan_bn as ms_gan_bn

    def misread_block(in_feat, out_feat, normalize=True):
        layers = [ms.nn.Dense(in_feat, out_feat)]
        if normalize:
            layers.append(ms.nn.BatchNorm1d(out_feat, eps=1e-5, momentum=0.8))
        return layers + [ms.nn.LeakyReLU(alpha=0.2)]

    twins = Twins("gan_bn", seed=0)
    monkeypatch.setattr(ms_gan_bn, "block", misread_block)
    twins.ms_g = ms_gan_bn.Generator()
    ms_gan.init.init_from_seed(twins.ms_g, get_config("gan_bn").init, 0)
    failed = _failed(check_twins(twins, batch=4))
    assert "G output, train mode" in failed and "G output, eval mode" in failed
    assert "G model.3.moving_mean after a train step" in failed
    assert not {n for n in failed if n.startswith("D ")} - {"D loss fake", "D loss"}


@pytest.mark.slow
def test_softmax_before_cross_entropy_is_caught():
    """The seed's aux_layer ends in Softmax and CrossEntropyLoss applies log-softmax again."""
    twins = Twins("sgan", seed=0)
    twins.ms_d.aux_layer = ms.nn.SequentialCell(twins.ms_d.aux_layer[0], ms.nn.Softmax(axis=1))
    failed = _failed(check_twins(twins, batch=4))
    assert {"D class logits, eval mode", "D class loss real", "D class loss fake", "D loss"} <= failed
    assert not {n for n in failed if n.startswith(("D adversarial", "G "))}


def test_softmax_before_cross_entropy_has_a_floor():
    logits = np.zeros((2, 11), np.float32)
    logits[:, 3] = 40.0
    labels = np.array([3, 3])
    right = torch_gan.losses.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)).item()
    twice = torch_gan.losses.cross_entropy(torch.softmax(torch.from_numpy(logits), 1), torch.from_numpy(labels)).item()
    assert right < 1e-6 and twice == pytest.approx(np.log(1 + 10 / np.e), rel=1e-5)


@pytest.mark.parametrize("framework", ["mindspore", "torch"])
def test_seed_000_dropout_is_off_in_eval(framework):
    """The seed's F.dropout2d was on even in eval; the module form is not: a mask that
    drops channels changes D's train-mode output only."""
    build = ms_gan.models.build if framework == "mindspore" else torch_gan.models.build
    _, d = build("dcgan_mnist", seed=0)
    x = np.random.default_rng(0).uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)

    def run():
        out = d(ms.Tensor(x)) if framework == "mindspore" else d(torch.from_numpy(x))
        return out.asnumpy() if framework == "mindspore" else out.detach().numpy()
    d.set_train(True) if framework == "mindspore" else d.train()
    kept = run()
    for layer, mask in zip((d.dropout1, d.dropout2), streams.dropout_masks(0, 0, 0, 4, [(0.5, 64), (0.5, 128)], 1)):
        if framework == "mindspore":
            layer.mask.set_data(ms.Tensor(mask))
        else:
            layer.mask = torch.from_numpy(mask)
    assert not np.array_equal(run(), kept)
    d.set_train(False) if framework == "mindspore" else d.eval()
    np.testing.assert_array_equal(run(), run())


@pytest.mark.slow
def test_mindspore_default_leaky_relu_slope_is_caught():
    """Seed 002's bare nn.LeakyReLU() is slope 0.01; MindSpore's default alpha is 0.2."""
    twins = Twins("gan", seed=0)
    twins.ms_d.mainf[1].alpha = 0.2
    failed = _failed(check_twins(twins, batch=4))
    assert "D output, eval mode" in failed and "G output, eval mode" not in failed


class UnwatchedLeakyReLU(ms.nn.Cell):
    """The same math as nn.LeakyReLU(0.01) in a cell the kink watch does not know."""

    def construct(self, x):
        return ms.ops.leaky_relu(x, 0.01)


def test_kink_watch_refuses_twins_whose_activations_differ():
    """A twin's kinked activation that the watch cannot see would leave its crossings
    unchecked (the watch pairs activations in call order): the check says so instead."""
    twins = Twins("gan", seed=0)
    twins.ms_d.mainf[1] = UnwatchedLeakyReLU()
    with pytest.raises(RuntimeError, match="different kinked activations.*D mainf.1"):
        check_twins(twins, batch=4)


def test_mindspore_tanh_is_approximate_and_the_twins_do_not_use_it():
    x = np.linspace(-8, 8, 16001).astype(np.float32)
    exact = np.tanh(x.astype(np.float64))
    ms_builtin = ms.nn.Tanh()(ms.Tensor(x)).asnumpy()
    ours = MsTanh()(ms.Tensor(x)).asnumpy()
    assert np.abs(ms_builtin - exact).max() > 5e-5            # MindSpore 2.8.0 on CPU: 1.0e-4
    assert np.abs(ours - exact).max() < 3e-7 and np.abs(ours).max() <= 1.0
    assert np.abs(torch.tanh(torch.from_numpy(x)).numpy() - exact).max() < 1e-7
    for name in MODELS:
        g, _ = ms_gan.models.build(name)
        assert not [n for n, c in g.cells_and_names() if type(c) is ms.nn.Tanh], name


def test_biases_before_batchnorm_have_zero_gradient():
    """Found from the order layers run in (dcgan_mnist's ReLU sits between linear1 and bn1)."""
    def found(name, net):
        config = get_config(name)
        g, d = torch_gan.models.build(name, seed=0)
        x = torch.zeros(2, *(config.noise_shape if net == "G" else config.image_shape))
        return biases_before_batchnorm(g if net == "G" else d, x)
    assert found("gan_bn", "G") == ["model.2.bias", "model.5.bias", "model.8.bias"]
    assert found("cnn_gan", "G") == found("sgan", "G") == ["conv_blocks.2.bias", "conv_blocks.6.bias"]
    assert found("dcgan_mnist", "G") == [] and found("cnn_gan", "D") == [] and found("gan", "G") == []
    # in float64 the gradient of such a bias is 0 to rounding, that of its weight is not
    g, _ = torch_gan.models.build("gan_bn", seed=0)
    g = g.double().train()
    g(torch.randn(4, 100, dtype=torch.float64)).square().sum().backward()
    assert g.model[2].bias.grad.abs().max() < 1e-12 * g.model[2].weight.grad.abs().max()
    assert g.model[0].bias.grad.abs().max() > 1e-3 * g.model[0].weight.grad.abs().max()


def test_kink_redraw_sees_module_activations_of_the_new_models():
    """sgan's LeakyReLUs are modules inside nn.Sequential: the hooks must see them. One
    channel's BatchNorm beta before G's second LeakyReLU is moved by 0.05 in PyTorch only,
    so that inputs within 0.05 of 0 in that channel cross over (a rounding-level crossing,
    as a real draw gives one, happens on some machines and not on others)."""
    twins = Twins("sgan", seed=0)
    twins.randomize_running_stats(2)
    with torch.no_grad():
        twins.torch_g.conv_blocks[7].bias[3] += 0.05
    z, real = draw_inputs(twins.config, 8, [4, 0])
    _, fake = forward_checks(twins, z, real)
    crossings = forward_crossings(twins, z, real, fake)
    assert "G conv_blocks.8" in crossings and crossings["G conv_blocks.8"][0] >= 1
    assert crossings["G conv_blocks.8"][1] <= 0.05 + 1e-4     # the largest crossing input: within the nudge
    assert "G conv_blocks.4" not in crossings or crossings["G conv_blocks.4"][1] < 1e-5   # before it: rounding only


def test_an_output_past_the_tolerance_is_measured_against_float64():
    """dcgan_mnist's G in train mode sits at float32's floor (each framework 5-6e-6 from
    float64): a MindSpore output within 1e-5 of the float64 answer passes, whatever
    PyTorch's float32 says; one 1e-4 off fails."""
    from parity.check import _against_float64
    from parity.report import Check
    twins = Twins("dcgan_mnist", seed=0)
    twins.set_train(True)
    z, _ = draw_inputs(twins.config, 4, 0)
    exact_net = copy.deepcopy(twins.torch_g).double()
    with torch.no_grad():
        exact = exact_net(torch.from_numpy(z).double()).numpy()
    failed = Check("G output, train mode", 2e-5, 2e-5, 1e-5, "abs", False)
    near = exact + np.random.default_rng(0).uniform(-8e-6, 8e-6, exact.shape)
    assert _against_float64(failed, near, twins.torch_g, z, 0).passed
    off = exact.copy()
    off[0, 0, 5, 5] += 1e-4
    result = _against_float64(failed, off, twins.torch_g, z, 0)
    assert not result.passed and result.max_abs == pytest.approx(1e-4, rel=1e-3)
    assert result.name == "G output, train mode"


# --- losses ------------------------------------------------------------------------

@pytest.mark.parametrize("probs, label, per_element", [
    ([0.0, 1e-30, 0.5, 1.0], 1.0, [27.631021, 27.631021, 0.693147, 0.0]),
    ([0.0, 0.5, 1.0 - 1e-8, 1.0], 0.0, [0.0, 0.693147, 27.631021, 27.631021]),
])
def test_bce_agrees_at_saturation(probs, label, per_element):
    """MindSpore's BCELoss caps one element at -log(1e-12) = 27.63, PyTorch's at 100;
    the shared definition caps at 27.63 in both, with finite gradients."""
    p = np.array(probs, dtype=np.float32)
    expected = float(np.mean(per_element))
    ms_p = ms.Tensor(p)
    ms_loss, ms_grad = ms.value_and_grad(lambda x: ms_gan.losses.bce(x, label))(ms_p)
    torch_p = torch.tensor(p, requires_grad=True)
    torch_loss = torch_gan.losses.bce(torch_p, label)
    (torch_grad,) = torch.autograd.grad(torch_loss, torch_p)
    assert float(ms_loss.asnumpy()) == pytest.approx(expected, abs=1e-5)
    assert torch_loss.item() == pytest.approx(expected, abs=1e-5)
    # and equal to MindSpore's own BCELoss, which the tutorial uses
    ms_reference = ms.nn.BCELoss(reduction="mean")(ms_p, ms.Tensor(np.full_like(p, label)))
    assert float(ms_reference.asnumpy()) == pytest.approx(expected, abs=1e-5)
    assert np.isfinite(ms_grad.asnumpy()).all() and np.isfinite(torch_grad.numpy()).all()
    np.testing.assert_allclose(ms_grad.asnumpy(), torch_grad.numpy(), rtol=1e-6)


def test_sgan_losses_match_the_seeds_formula_without_the_double_softmax():
    rng = np.random.default_rng(0)
    p_real, p_fake = rng.uniform(0.05, 0.95, (2, 6, 1)).astype(np.float32)
    logits_real, logits_fake = (rng.standard_normal((2, 6, 11)) * 3).astype(np.float32)
    labels = rng.integers(0, 10, 6)
    t = torch.from_numpy
    bce, ce = torch.nn.BCELoss(), torch.nn.CrossEntropyLoss()
    expected_real = (bce(t(p_real), torch.ones(6, 1)) + ce(t(logits_real), t(labels))) / 2
    expected_fake = (bce(t(p_fake), torch.zeros(6, 1)) + ce(t(logits_fake), torch.full((6,), 10))) / 2
    expected = [expected_real.item(), expected_fake.item(), ((expected_real + expected_fake) / 2).item()]
    torch_losses = torch_gan.losses.for_model("sgan").discriminator_loss(
        (t(p_real), t(logits_real)), (t(p_fake), t(logits_fake)), t(labels))
    m = ms.Tensor
    ms_losses = ms_gan.losses.for_model("sgan").discriminator_loss(
        (m(p_real), m(logits_real)), (m(p_fake), m(logits_fake)), m(labels.astype(np.int32)))
    np.testing.assert_allclose([x.item() for x in torch_losses], expected, rtol=1e-6)
    np.testing.assert_allclose([float(x.asnumpy()) for x in ms_losses], expected, rtol=1e-6)
    g_loss = ms_gan.losses.for_model("sgan").generator_loss((m(p_fake), m(logits_fake)))
    assert float(g_loss.asnumpy()) == pytest.approx(bce(t(p_fake), torch.ones(6, 1)).item(), rel=1e-6)


@pytest.mark.parametrize("name", MODELS)
def test_every_model_drives_its_losses_the_same_way(name):
    for losses in (ms_gan.losses.for_model(name), torch_gan.losses.for_model(name)):
        assert callable(losses.discriminator_loss) and callable(losses.generator_loss)
    p = torch.full((2, 1), 0.5)
    if get_config(name).loss == "bce":
        real_loss, fake_loss, loss = torch_gan.losses.for_model(name).discriminator_loss(p, p)
        assert loss.item() == pytest.approx(np.log(2), rel=1e-6)


# --- the command line --------------------------------------------------------------

@pytest.mark.slow
def test_cli_writes_json_and_exits_zero(tmp_path):
    out = tmp_path / "r.json"
    result = subprocess.run([sys.executable, "-m", "parity", "check", "dcgan", "--batch", "2",
                             "--json", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "all 46 checks passed" in result.stdout
    record = json.loads(out.read_text())
    assert record["model"] == "dcgan" and record["device"] == "cpu" and record["passed"] is True
    assert set(record["checks"][0]) >= {"name", "max_abs", "max_rel", "tol", "passed"}


@pytest.mark.slow
def test_cli_names_a_missing_device(tmp_path):
    out = tmp_path / "r.json"
    result = subprocess.run([sys.executable, "-m", "parity", "check", "dcgan", "--device", "Ascend",
                             "--json", str(out)], capture_output=True, text=True)
    if ms.hal.is_available("Ascend"):
        pytest.skip("this machine has an Ascend NPU")
    assert result.returncode == 2
    assert "cannot use Ascend" in result.stderr
    assert not out.exists()


def test_unknown_model_is_a_clear_error():
    result = subprocess.run([sys.executable, "-m", "parity", "check", "nope"], capture_output=True, text=True)
    assert result.returncode == 2 and "argument model: invalid choice: 'nope' (choose from" in result.stderr
    assert "dcgan" in result.stderr.splitlines()[-1]
