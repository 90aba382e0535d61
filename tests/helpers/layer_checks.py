"""What the layer tests share (tests/models/test_fast_layers.py, tests/models/test_native.py): a fast
MindSpore layer run beside MindSpore's own layer and PyTorch's on the same weights, input and
cotangent, forward and every gradient."""
import mindspore as ms
import numpy as np
import torch

RNG = np.random.default_rng(0)


def randn(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def ms_value_and_grads(cell, x, cotangent, jit):
    """cell(x), and the gradients of sum(cell(x) * cotangent) w.r.t. x and every weight."""
    weights = cell.trainable_params()

    def loss(x):
        return (cell(x) * ms.Tensor(cotangent)).sum()

    grad = ms.grad(loss, 0, weights)
    grad = ms.jit(grad) if jit else grad
    x = ms.Tensor(x)
    dx, dweights = grad(x)
    return cell(x).asnumpy(), [dx.asnumpy()] + [g.asnumpy() for g in dweights]


def torch_value_and_grads(module, x, cotangent):
    x = torch.tensor(x, requires_grad=True)
    out = module(x)
    grads = torch.autograd.grad((out * torch.tensor(cotangent)).sum(), [x, *module.parameters()])
    return out.detach().numpy(), [g.numpy() for g in grads]


def assert_close(actual, expected, rtol=1e-5):
    """Within rtol of the largest magnitude: the order of float32 operations differs, nothing else."""
    scale = float(np.abs(expected).max())
    assert np.abs(actual - expected).max() <= rtol * scale, (np.abs(actual - expected).max(), scale)


def copy_weights(ms_cell, torch_module):
    for param, tensor in zip(ms_cell.trainable_params(), torch_module.parameters()):
        with torch.no_grad():
            tensor.copy_(torch.from_numpy(param.asnumpy()))


def three_ways(fast, own, reference, shape, jit):
    """(fast, own, PyTorch) results, each (output, [dx, dweights...]), of the three layers
    given fast's weights, on one seeded input and cotangent."""
    for param, own_param in zip(fast.trainable_params(), own.trainable_params()):
        own_param.set_data(ms.Tensor(param.asnumpy()))
    copy_weights(fast, reference)
    x = randn(*shape)
    cotangent = randn(*fast(ms.Tensor(x)).shape)
    return (ms_value_and_grads(fast, x, cotangent, jit), ms_value_and_grads(own, x, cotangent, jit),
            torch_value_and_grads(reference, x, cotangent))


def assert_three_ways_agree(fast, own, reference, shape, jit, gradients=None):
    """The fast layer's output and gradients (dx, then each weight's) against MindSpore's own
    layer and PyTorch's, each within assert_close; `gradients`: how many there must be."""
    (out, grads), (own_out, own_grads), (torch_out, torch_grads) = three_ways(fast, own, reference, shape, jit)
    assert out.shape == torch_out.shape and len(grads) == len(own_grads) == len(torch_grads)
    assert gradients is None or len(grads) == gradients
    assert_close(out, own_out)
    assert_close(out, torch_out)
    for grad, own_grad, torch_grad in zip(grads, own_grads, torch_grads):
        assert grad.shape == torch_grad.shape
        assert_close(grad, own_grad)
        assert_close(grad, torch_grad)
