"""The dcgan parity check, its negative controls, and the shared loss at saturation."""
import json
import subprocess
import sys

import mindspore as ms
import numpy as np
import pytest
import torch

import ms_gan.losses
import torch_gan.losses
from parity.check import check_twins, forward_checks, forward_crossings, run_check
from parity.common.configs import DCGAN
from parity.twins import Twins, draw_inputs


@pytest.fixture(scope="module")
def checked():
    notes = []
    return run_check("dcgan", batch=4, seed=3, notes=notes), notes


@pytest.fixture(scope="module")
def checks(checked):
    return checked[0]


def test_every_check_passes(checks):
    failed = [c for c in checks if not c.passed]
    assert not failed, failed


def test_inputs_straddling_a_kink_are_redrawn(checked):
    """Seed 3 at batch 4 puts one LeakyReLU input of D within float32 rounding of 0, on
    opposite sides in the two frameworks; compared there, G's gradients part by ~0.5%."""
    checks, notes = checked
    assert len(notes) == 1 and notes[0].startswith("input draw 0: 1 input(s) of D main.1 on opposite sides of 0")
    twins = Twins("dcgan", seed=3)
    twins.randomize_running_stats(3 + 2)
    z, real = draw_inputs(twins.config, 4, [3 + 4, 0])
    _, fake = forward_checks(twins, z, real)
    crossings = forward_crossings(twins, z, real, fake)
    assert list(crossings) == ["D main.1"] and crossings["D main.1"][0] == 1
    assert crossings["D main.1"][1] < 1e-6


def test_check_covers_outputs_losses_gradients_and_statistics(checks):
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


def test_image_shape_matches_the_tutorial():
    assert DCGAN.image_shape == (3, 64, 64) and DCGAN.noise_shape == (100, 1, 1)
