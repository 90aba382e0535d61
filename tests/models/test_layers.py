"""`parity check --layers`: every layer compared, and deliberately wrong twins named at their layer."""
import json
import subprocess
import sys

import mindspore as ms
import pytest
import torch

from parity.common.configs import BATCHNORM_EPS
from parity.layers import check_twins_layers, compare_layers, first_diverging, twins_settings
from parity.twins import Twins, draw_inputs

ATOL, RTOL = 1e-5, 1e-4


def _first(twins, net, batch=2):
    """The first diverging row of one network of the twins, in train mode."""
    twins.randomize_running_stats(2)
    twins.set_train(True)
    z, real = draw_inputs(twins.config, batch, 4)
    ms_net, torch_net = twins.pairs()[net]
    checks, _ = compare_layers(ms_net, torch_net, z if net == "G" else real, ATOL, RTOL, prefix=f"{net} ")
    return first_diverging(checks)


def test_dcgan_agrees_layer_by_layer():
    notes = []
    checks = check_twins_layers(Twins("dcgan", seed=0), batch=2, notes=notes)
    assert first_diverging(checks) is None, [c for c in checks if not c.passed]
    names = [c.name for c in checks]
    # 14 + 13 layers, forward and backward, and the running statistics of 4 + 3 BatchNorms
    assert len(names) == 2 * (14 + 13) + 2 * (4 + 3)
    assert names[0] == "G main.0 (Conv2dTranspose) forward" and names[-1] == "D main.0 (Conv2d) backward"
    assert any(c.max_abs > 0 for c in checks)


def test_names_a_leaky_relu_with_pytorchs_default_slope():
    twins = Twins("dcgan", seed=0)
    twins.torch_d.main[4] = torch.nn.LeakyReLU(0.01)      # against MindSpore's 0.2
    first = _first(twins, "D")
    assert first.name == "D main.4 (LeakyReLU) forward"
    assert twins_settings(twins) == ["D main.4 (LeakyReLU): MindSpore alpha 0.2, PyTorch negative_slope 0.01"]


def test_names_a_batchnorm_momentum_written_the_pytorch_way():
    twins = Twins("dcgan", seed=0)
    old = twins.ms_g.main[4]
    bn = ms.nn.BatchNorm2d(256, eps=BATCHNORM_EPS, momentum=0.1)   # MindSpore's means 0.9 in PyTorch's terms
    ms.load_param_into_net(bn, {n.rpartition(".")[2]: p for n, p in old.parameters_and_names()})
    twins.ms_g.main[4] = bn
    first = _first(twins, "G")
    # outputs use the batch statistics: only the running statistics part
    assert first.name == "G main.4 (BatchNorm2d) moving_mean"
    # named first by its setting, in both frameworks' terms
    assert twins_settings(twins) == ["G main.4 (BatchNorm2d): MindSpore momentum 0.1 (PyTorch's 0.9), "
                                     "PyTorch momentum 0.1"]


def test_names_a_transposed_conv_with_shifted_padding():
    twins = Twins("dcgan", seed=0)
    old = twins.ms_g.main[3]
    # the same output size as padding=1, shifted by a row: (top, bottom, left, right)
    conv = ms.nn.Conv2dTranspose(512, 256, 4, 2, pad_mode="pad", padding=(0, 2, 1, 1), has_bias=False)
    conv.weight.set_data(old.weight.data)
    twins.ms_g.main[3] = conv
    first = _first(twins, "G")
    assert first.name == "G main.3 (Conv2dTranspose) forward"
    assert twins_settings(twins) == ["G main.3 (Conv2dTranspose): MindSpore pad_mode/padding pad_mode 'pad' "
                                     "padding (0, 2, 1, 1), PyTorch padding (1, 1)"]


def test_names_a_transposed_conv_with_the_wrong_output_size():
    twins = Twins("dcgan", seed=0)
    twins.torch_g.main[6] = torch.nn.ConvTranspose2d(256, 128, 4, 2, padding=0, bias=False)
    first = _first(twins, "G")
    assert first.name == "G main.6 (Conv2dTranspose) forward"     # named by the MindSpore twin's layer
    assert first.max_abs == float("inf")      # shapes differ
    assert twins_settings(twins) == ["G main.6 (Conv2dTranspose): MindSpore pad_mode/padding pad_mode 'pad' "
                                     "padding 1, PyTorch padding (0, 0)"]


@pytest.mark.slow
def test_cli_layers_writes_json_and_markdown(tmp_path):
    out, md = tmp_path / "layers.json", tmp_path / "layers.md"
    result = subprocess.run([sys.executable, "-m", "parity", "check", "gan", "--layers", "--batch", "4",
                             "--json", str(out), "--markdown", str(md)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no layer diverges" in result.stdout and "settings: the 8 paired layers agree" in result.stdout
    record = json.loads(out.read_text())
    assert record["passed"] is True and record["first_diverging"] is None
    assert any(c["name"].endswith("backward") for c in record["checks"])
    assert "no layer diverges" in md.read_text()


def test_every_models_twins_are_set_alike():
    from parity.common.configs import MODELS
    from parity.pairing import layer_pairs

    paired = {}
    for model in sorted(MODELS):
        twins = Twins(model, seed=0)
        assert twins_settings(twins) == [], model
        paired[model] = sum(len(layer_pairs(m, t)) for m, t in twins.pairs().values())
    # the layers with a rule: Conv, BatchNorm, Dense, LeakyReLU, Dropout (the fast Conv2d and the
    # project's seeded Dropout2d too; dcgan_mnist's D has two dropout layers)
    assert paired == {"cnn_gan": 25, "dcgan": 21, "dcgan_mnist": 14, "gan": 8, "gan_bn": 17, "sgan": 26}
