"""The native Adam step (ms_gan/native/adam.py, adam.cpp, docs/native.md#adam): the same bits
as mindspore.mint.optim.Adam, parameters and both moments, step after step, under ms.jit and in
PyNative mode, on every parameter shape of the six models' networks and odd ones; within
float32 rounding of PyTorch's Adam (the layer tests' tolerance); a whole train step bit-equal with either optimizer; and
mint.optim.Adam itself where the kernel does not apply."""
import mindspore as ms
import numpy as np
import pytest
import torch
from mindspore import mint

import ms_gan.models
from ms_gan import native
from ms_gan.native.adam import Adam
from ms_gan.train import TrainStep
from helpers.layer_checks import assert_close
from parity.common.compare import OUTPUT_TOL
from parity.common.configs import MODELS, get_config

needs_library = pytest.mark.skipif(native.library() is None, reason="needs g++ and MindSpore's libdnnl.so.2")
RNG = np.random.default_rng(0)


def model_shapes():
    """Every trainable parameter shape of the six models' G and D, and odd ones."""
    shapes = set()
    for name in MODELS:
        for net in ms_gan.models.build(name, seed=0):
            shapes |= {tuple(p.shape) for p in net.trainable_params()}
    return sorted(shapes) + [(1,), (3, 5, 7), (100003,)]


def gradients(shapes, step):
    """Gradients of every magnitude Adam meets (1e-6 to 10), some exactly 0."""
    grads = []
    for shape in shapes:
        g = RNG.standard_normal(shape) * 10.0 ** RNG.uniform(-6, 1, shape)
        g[RNG.random(shape) < 0.01] = 0.0
        grads.append(g.astype(np.float32))
    return grads


def run(optimizer_class, init, steps, jit, lr=2e-4, betas=(0.5, 0.999)):
    """The parameters, exp_avg and exp_avg_sq after `steps` steps of each gradient list."""
    params = [ms.Parameter(ms.Tensor(a), f"p{i}") for i, a in enumerate(init)]
    optimizer = optimizer_class(params, lr=lr, betas=betas)

    def apply(grads):
        return optimizer(grads)
    apply = ms.jit(apply) if jit else apply
    for grads in steps:
        apply(ms.mutable(tuple(ms.Tensor(g) for g in grads)))
    return optimizer, [[t.asnumpy() for t in group] for group in (params, optimizer.exp_avg, optimizer.exp_avg_sq)]


@needs_library
# PyNative's native step is also held to mint.optim.Adam's bits, in the fast lane, by
# test_train_steps_are_bit_equal_with_either_optimizer[gan_bn-pynative].
@pytest.mark.parametrize("jit", [True, pytest.param(False, marks=pytest.mark.slow)], ids=["jit", "pynative"])
@pytest.mark.parametrize("betas", [(0.5, 0.999), pytest.param((0.9, 0.99), marks=pytest.mark.slow)],
                         ids=["dcgan betas", "other betas"])
def test_native_adam_gives_mint_adams_bits(jit, betas):
    shapes = model_shapes()
    init = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    steps = [gradients(shapes, i) for i in range(4)]
    fused, ours = run(Adam, init, steps, jit, betas=betas)
    assert fused.fused
    own, theirs = run(mint.optim.Adam, init, steps, jit, betas=betas)
    assert fused.state_step.asnumpy() == own.state_step.asnumpy() == 4
    for group, own_group in zip(ours, theirs):
        for a, b in zip(group, own_group):
            np.testing.assert_array_equal(a, b)


@needs_library
def test_native_adam_is_pytorchs_adam_to_float32_rounding():
    shapes = [(256, 100), (64, 128, 3, 3), (7,)]
    init = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    steps = [gradients(shapes, i) for i in range(3)]
    _, (params, exp_avg, exp_avg_sq) = run(Adam, init, steps, jit=False)
    torch_params = [torch.tensor(a, requires_grad=True) for a in init]
    optimizer = torch.optim.Adam(torch_params, lr=2e-4, betas=(0.5, 0.999))
    for grads in steps:
        for p, g in zip(torch_params, grads):
            p.grad = torch.tensor(g)
        optimizer.step()
    for p, m, v, tp in zip(params, exp_avg, exp_avg_sq, torch_params):
        state = optimizer.state[tp]
        for ours, theirs in ((p, tp.detach()), (m, state["exp_avg"]), (v, state["exp_avg_sq"])):
            assert_close(ours, theirs.numpy())


def test_what_the_kernel_does_not_cover_runs_mint_adam():
    params = [ms.Parameter(ms.Tensor(np.ones((3,), np.float32)), "p")]
    for options in (dict(weight_decay=0.1), dict(amsgrad=True), dict(maximize=True)):
        assert not Adam(params, lr=1e-3, **options).fused
    steps = [gradients([(5, 4)], i) for i in range(2)]
    init = [np.ones((5, 4), np.float32)]
    np.testing.assert_array_equal(run(lambda p, **kw: Adam(p, weight_decay=0.1, **kw), init, steps, True)[1][0][0],
                                  run(lambda p, **kw: mint.optim.Adam(p, weight_decay=0.1, **kw), init, steps,
                                      True)[1][0][0])


@needs_library
@pytest.mark.parametrize("mode", ["jit", "pynative"])
@pytest.mark.parametrize("model", ["gan_bn", pytest.param("dcgan_mnist", marks=pytest.mark.slow),
                                   pytest.param("sgan", marks=pytest.mark.slow)])
def test_train_steps_are_bit_equal_with_either_optimizer(model, mode):
    """Three whole train steps (D's update before the G step reads D, dropout, BatchNorm
    statistics): every parameter and optimizer state the same bits with the native step. (In
    PyNative mode the reported losses of two runs of the same step can differ in the last bits
    with either optimizer, MindSpore's own reductions: they are compared to OUTPUT_TOL there.)"""
    config = get_config(model)
    rng = np.random.default_rng(1)
    real = rng.uniform(-1, 1, (4, *config.image_shape)).astype(np.float32)
    labels = rng.integers(0, config.num_classes, 4) if config.num_classes else None
    native_step = TrainStep(*ms_gan.models.build(model, seed=0), loss=config.loss, mode=mode)
    own_step = TrainStep(*ms_gan.models.build(model, seed=0), loss=config.loss, mode=mode,
                         optimizer=mint.optim.Adam)
    assert native_step.optimizer_g.fused and not hasattr(own_step.optimizer_g, "fused")
    for _ in range(3):
        z = rng.standard_normal((4, *config.noise_shape)).astype(np.float32)
        ours, theirs = native_step(real, z, labels), own_step(real, z, labels)
        if mode == "jit":
            assert ours == theirs
        else:
            assert ours.keys() == theirs.keys()
            assert all(abs(ours[k] - theirs[k]) <= OUTPUT_TOL for k in ours), (ours, theirs)
    ours, theirs = dict(native_step.gan.parameters_and_names()), dict(own_step.gan.parameters_and_names())
    assert ours.keys() == theirs.keys()
    for name in ours:
        np.testing.assert_array_equal(ours[name].asnumpy(), theirs[name].asnumpy(), err_msg=name)
