"""parity.testing on a user's own toy model: an MLP with BatchNorm in both frameworks."""
import mindspore as ms
import numpy as np
import pytest
import torch

from parity.testing import assert_parity, copy_weights, parity_pair  # noqa: F401  (parity_pair: a fixture)


class MsMLP(ms.nn.Cell):
    def __init__(self, slope=0.2):
        super().__init__()
        self.body = ms.nn.SequentialCell(ms.nn.Dense(16, 32), ms.nn.BatchNorm1d(32, momentum=0.9),
                                         ms.nn.LeakyReLU(alpha=slope), ms.nn.Dense(32, 4))

    def construct(self, x):
        return self.body(x)


class TorchMLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.BatchNorm1d(32, momentum=0.1),
                                        torch.nn.LeakyReLU(negative_slope=0.2), torch.nn.Linear(32, 4))

    def forward(self, x):
        return self.body(x)


@pytest.mark.parametrize("train", [False, True])
def test_a_faithful_port_passes(parity_pair, train):
    pair = parity_pair(MsMLP(), TorchMLP())
    checks = pair.assert_parity(pair.inputs((8, 16)), train=train)
    # the output and the gradients of 2 Dense weights and biases and BatchNorm's gamma and beta
    assert [c.name for c in checks][:2] == ["output 0", "grad body.0.weight"] and len(checks) == 1 + 6
    np.testing.assert_array_equal(pair.ms_model.body[0].weight.asnumpy(),
                                  pair.torch_model.body[0].weight.detach().numpy())


def test_a_wrong_slope_is_named_at_its_layer(parity_pair):
    pair = parity_pair(MsMLP(slope=0.01), TorchMLP())
    with pytest.raises(AssertionError, match=r"body\.2 \(LeakyReLU\): MindSpore alpha 0\.01, PyTorch negative_slope 0\.2"):
        pair.assert_parity(pair.inputs((8, 16)))        # the settings, before any number
    with pytest.raises(AssertionError, match=r"first diverging layer: body\.2 \(LeakyReLU\) forward"):
        pair.assert_parity(pair.inputs((8, 16)), settings=False)


def test_weights_copy_either_way():
    ms_model, torch_model = MsMLP(), TorchMLP()
    copy_weights(ms_model, torch_model, source="mindspore")
    np.testing.assert_array_equal(ms_model.body[1].moving_variance.asnumpy(),
                                  torch_model.body[1].running_var.numpy())
    x = np.random.default_rng(0).standard_normal((4, 16), dtype=np.float32)
    assert_parity(ms_model, torch_model, x, copy=None)


def test_a_model_with_other_names_is_refused():
    other = torch.nn.Sequential(torch.nn.Linear(16, 4))
    with pytest.raises(KeyError, match="nothing for MindSpore's"):
        assert_parity(MsMLP(), other, np.zeros((2, 16), np.float32))
