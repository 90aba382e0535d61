"""The native BatchNorm (ms_gan/native/batchnorm.cpp, layers.BatchNorm1d/2d, docs/native.md#batchnorm):
every BatchNorm of the models at batch 2 and odd ones, in training mode, forward and the
gradients of x, gamma and beta under ms.jit and in PyNative mode, against MindSpore's own layer
and PyTorch's, to the tolerance of the other layer tests; the running statistics after several
steps against both (PyTorch's momentum and unbiased variance); eval mode the same way;
bit-equal from run to run; MindSpore's own layer where the kernels are off."""
import mindspore as ms
import numpy as np
import pytest
import torch
from mindspore import nn

from ms_gan import native
from ms_gan.models import layers
from helpers.layer_checks import assert_close, assert_three_ways_agree, ms_value_and_grads, randn

needs_library = pytest.mark.skipif(native.library() is None, reason="needs g++ and MindSpore's libdnnl.so.2")


def batch_norm(shape, eps, momentum):
    """(fast, MindSpore's own, PyTorch's) for the features of `shape`, in training mode, the
    same random gamma and beta; momentum MindSpore's (PyTorch's is 1 - it)."""
    features, two_d = shape[1], len(shape) == 4
    fast = (layers.BatchNorm2d if two_d else layers.BatchNorm1d)(features, eps=eps, momentum=momentum)
    own = (nn.BatchNorm2d if two_d else nn.BatchNorm1d)(features, eps=eps, momentum=momentum)
    reference = (torch.nn.BatchNorm2d if two_d else torch.nn.BatchNorm1d)(features, eps=eps, momentum=1 - momentum)
    fast.gamma.set_data(ms.Tensor(randn(features) * 0.5 + 1))
    fast.beta.set_data(ms.Tensor(randn(features)))
    for cell in (fast, own):
        cell.set_train(True)
    return fast, own, reference


# (name, input shape, eps, momentum): the models' BatchNorms at batch 2 (dcgan_mnist's 1-d
# one at its training batch), then odd ones.
CASES = [
    ("cnn_gan G 128 8x8 eps 0.8", (2, 128, 8, 8), 0.8, 0.9),
    ("cnn_gan G 128 16x16", (2, 128, 16, 16), 1e-5, 0.9),
    ("cnn_gan G 64 32x32", (2, 64, 32, 32), 1e-5, 0.9),
    ("cnn_gan D 32 8x8 eps 0.8", (2, 32, 8, 8), 0.8, 0.9),
    ("cnn_gan D 128 2x2 eps 0.8", (2, 128, 2, 2), 0.8, 0.9),
    ("dcgan G 512 4x4", (2, 512, 4, 4), 1e-5, 0.9),
    ("dcgan G 64 32x32", (2, 64, 32, 32), 1e-5, 0.9),
    ("dcgan D 256 8x8", (2, 256, 8, 8), 1e-5, 0.9),
    ("dcgan_mnist G 1d 12544", (32, 12544), 1e-5, 0.9),
    ("dcgan_mnist G 128 7x7", (2, 128, 7, 7), 1e-5, 0.9),
    ("gan_bn G 1d 256 eps 0.8", (32, 256), 0.8, 0.9),
    ("gan_bn G 1d 1024 eps 0.8", (2, 1024), 0.8, 0.9),
    ("odd 2d 3 5x7, momentum 0.7", (5, 3, 5, 7), 1e-3, 0.7),
    ("odd 1d 1 feature", (9, 1), 1e-5, 0.9),
    ("odd 2d batch 1", (1, 6, 3, 2), 1e-5, 0.9),
]


@needs_library
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case[0])
def test_native_batchnorm_matches_mindspore_and_pytorch(case, jit):
    _, shape, eps, momentum = case
    fast, own, reference = batch_norm(shape, eps, momentum)
    assert type(fast.kernel).__name__ == "NativeBatchNormKernel"
    assert_three_ways_agree(fast, own, reference, shape, jit, gradients=3)


@needs_library
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
@pytest.mark.parametrize("shape", [(4, 16, 5, 5), (32, 12544), (3, 7)], ids=str)
def test_running_statistics_move_as_mindspores_and_pytorchs(shape, jit):
    fast, own, reference = batch_norm(shape, 0.8, 0.9)
    mean, variance = randn(shape[1]), randn(shape[1]) ** 2 + 0.5
    for cell in (fast, own):
        cell.moving_mean.set_data(ms.Tensor(mean))
        cell.moving_variance.set_data(ms.Tensor(variance))
    with torch.no_grad():
        reference.running_mean.copy_(torch.from_numpy(fast.moving_mean.asnumpy()))
        reference.running_var.copy_(torch.from_numpy(fast.moving_variance.asnumpy()))
    for _ in range(3):
        x = randn(*shape) * 2 + 3
        for cell in (fast, own):
            (ms.jit(cell.construct) if jit else cell)(ms.Tensor(x))
        reference(torch.from_numpy(x))
    for ours, theirs, torchs in ((fast.moving_mean, own.moving_mean, reference.running_mean),
                                 (fast.moving_variance, own.moving_variance, reference.running_var)):
        assert_close(ours.asnumpy(), theirs.asnumpy())
        assert_close(ours.asnumpy(), torchs.numpy())


@needs_library
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case[0])
def test_eval_mode_matches_mindspore_and_pytorch(case, jit):
    """Eval mode (the running statistics, set away from 0 and 1 here): forward and the
    gradients of x, gamma and beta."""
    _, shape, eps, momentum = case
    fast, own, reference = batch_norm(shape, eps, momentum)
    mean, variance = randn(shape[1]), randn(shape[1]) ** 2 + 0.5
    for cell in (fast, own):
        cell.moving_mean.set_data(ms.Tensor(mean))
        cell.moving_variance.set_data(ms.Tensor(variance))
        cell.set_train(False)
    with torch.no_grad():
        reference.running_mean.copy_(torch.from_numpy(mean))
        reference.running_var.copy_(torch.from_numpy(variance))
    reference.eval()
    assert type(fast.inference_kernel).__name__ == "NativeBatchNormInferenceKernel"
    assert_three_ways_agree(fast, own, reference, shape, jit, gradients=3)
    np.testing.assert_array_equal(fast.moving_mean.asnumpy(), mean)       # eval mode leaves them alone
    np.testing.assert_array_equal(fast.moving_variance.asnumpy(), variance)


@needs_library
def test_native_batchnorm_is_bit_equal_from_run_to_run():
    fast, _, _ = batch_norm((16, 128, 16, 16), 1e-5, 0.9)
    x, cotangent = randn(16, 128, 16, 16), randn(16, 128, 16, 16)
    first = ms_value_and_grads(fast, x, cotangent, jit=True)
    second = ms_value_and_grads(fast, x, cotangent, jit=True)
    for a, b in zip([first[0]] + first[1], [second[0]] + second[1]):
        np.testing.assert_array_equal(a, b)


def test_with_the_kernels_off_it_is_mindspores_own():
    with native.suspended():
        fast, _, _ = batch_norm((4, 8, 3, 3), 1e-5, 0.9)
    assert fast.kernel is None and fast.inference_kernel is None


@pytest.mark.parametrize("native_on", [True, False], ids=["native", "off"])
def test_train_and_eval_forwards_compile_under_jit(native_on):
    """Both branches of construct under ms.jit, with the kernels on and off."""
    shape = (4, 8, 3, 3)
    if native_on:
        fast, own, _ = batch_norm(shape, 1e-5, 0.9)
    else:
        with native.suspended():
            fast, own, _ = batch_norm(shape, 1e-5, 0.9)
    for name in ("gamma", "beta"):
        getattr(own, name).set_data(ms.Tensor(getattr(fast, name).asnumpy()))
    x = ms.Tensor(randn(*shape))
    for training in (True, False):
        for cell in (fast, own):
            cell.set_train(training)
        assert_close(ms.jit(fast.construct)(x).asnumpy(), ms.jit(own.construct)(x).asnumpy())
