"""The native CPU convolutions (ms_gan/native, docs/native.md): every convolution and
transposed convolution of the six models, and odd ones beside them, forward and both
gradients, under ms.jit and in PyNative mode, against MindSpore's own layer and autodiff and
against PyTorch, to the tolerance of tests/models/test_fast_layers.py; bit-equal from run to run;
and the fallback where they cannot be built."""
import os
import subprocess
import sys
from pathlib import Path

import mindspore as ms
import numpy as np
import pytest
import torch
from mindspore import nn

from ms_gan import native
from ms_gan.models import layers
from helpers.layer_checks import assert_three_ways_agree, ms_value_and_grads, randn

ROOT = Path(__file__).resolve().parents[2]
needs_library = pytest.mark.skipif(native.library() is None, reason="needs g++ and MindSpore's libdnnl.so.2")


def conv(c_in, c_out, k, stride, padding, bias):
    """(fast layer, MindSpore's own, PyTorch's) for one convolution; padding None: "valid"."""
    mode = dict(pad_mode="valid") if padding is None else dict(pad_mode="pad", padding=padding)
    return (layers.Conv2d(c_in, c_out, k, stride, has_bias=bias, **mode),
            nn.Conv2d(c_in, c_out, k, stride, has_bias=bias, **mode),
            torch.nn.Conv2d(c_in, c_out, k, stride, padding or 0, bias=bias))


def deconv(c_in, c_out, k, stride, padding, bias):
    mode = dict(pad_mode="valid") if padding is None else dict(pad_mode="pad", padding=padding)
    return (layers.Conv2dTranspose(c_in, c_out, k, stride, has_bias=bias, **mode),
            nn.Conv2dTranspose(c_in, c_out, k, stride, has_bias=bias, **mode),
            torch.nn.ConvTranspose2d(c_in, c_out, k, stride, padding or 0, bias=bias))


# (name, maker, arguments, input shape): the models' layers at batch 2, then odd ones.
CASES = [
    ("cnn_gan G 128-128 k3 16x16", conv, (128, 128, 3, 1, 1, True), (2, 128, 16, 16)),
    ("cnn_gan G 128-64 k3 32x32", conv, (128, 64, 3, 1, 1, True), (2, 128, 32, 32)),
    ("cnn_gan G 64-1 k3 32x32", conv, (64, 1, 3, 1, 1, True), (2, 64, 32, 32)),
    ("cnn_gan D 1-16 k3 s2 32x32", conv, (1, 16, 3, 2, 1, True), (2, 1, 32, 32)),
    ("cnn_gan D 16-32 k3 s2 16x16", conv, (16, 32, 3, 2, 1, True), (2, 16, 16, 16)),
    ("cnn_gan D 32-64 k3 s2 8x8", conv, (32, 64, 3, 2, 1, True), (2, 32, 8, 8)),
    ("cnn_gan D 64-128 k3 s2 4x4", conv, (64, 128, 3, 2, 1, True), (2, 64, 4, 4)),
    ("dcgan G 100-512 k4 1x1", deconv, (100, 512, 4, 1, None, False), (2, 100, 1, 1)),
    ("dcgan G 512-256 k4 s2 4x4", deconv, (512, 256, 4, 2, 1, False), (2, 512, 4, 4)),
    ("dcgan G 256-128 k4 s2 8x8", deconv, (256, 128, 4, 2, 1, False), (2, 256, 8, 8)),
    ("dcgan G 128-64 k4 s2 16x16", deconv, (128, 64, 4, 2, 1, False), (2, 128, 16, 16)),
    ("dcgan G 64-3 k4 s2 32x32", deconv, (64, 3, 4, 2, 1, False), (2, 64, 32, 32)),
    ("dcgan D 3-64 k4 s2 64x64", conv, (3, 64, 4, 2, 1, False), (2, 3, 64, 64)),
    ("dcgan D 64-128 k4 s2 32x32", conv, (64, 128, 4, 2, 1, False), (2, 64, 32, 32)),
    ("dcgan D 128-256 k4 s2 16x16", conv, (128, 256, 4, 2, 1, False), (2, 128, 16, 16)),
    ("dcgan D 256-512 k4 s2 8x8", conv, (256, 512, 4, 2, 1, False), (2, 256, 8, 8)),
    ("dcgan D 512-1 k4 4x4", conv, (512, 1, 4, 1, None, False), (2, 512, 4, 4)),
    ("dcgan_mnist G 256-128 k3 7x7", deconv, (256, 128, 3, 1, 1, True), (2, 256, 7, 7)),
    ("dcgan_mnist G 128-64 k4 s2 7x7", deconv, (128, 64, 4, 2, 1, True), (2, 128, 7, 7)),
    ("dcgan_mnist G 64-1 k4 s2 14x14", deconv, (64, 1, 4, 2, 1, True), (2, 64, 14, 14)),
    ("dcgan_mnist D 1-64 k3 s2 valid 28x28", conv, (1, 64, 3, 2, None, True), (2, 1, 28, 28)),
    ("dcgan_mnist D 64-128 k3 s2 valid 13x13", conv, (64, 128, 3, 2, None, True), (2, 64, 13, 13)),
    ("odd conv 5-7 k3 s2 11x9", conv, (5, 7, 3, 2, 1, True), (3, 5, 11, 9)),
    ("odd conv 4-20 k5 s3 p2 13x10", conv, (4, 20, 5, 3, 2, False), (3, 4, 13, 10)),
    ("odd conv 17-3 k2 valid 7x6", conv, (17, 3, 2, 1, None, True), (1, 17, 7, 6)),
    ("odd conv 9-2 k5 p1 7x8", conv, (9, 2, 5, 1, 1, True), (3, 9, 7, 8)),
    ("odd conv 6-4 k3 p2 5x5", conv, (6, 4, 3, 1, 2, False), (2, 6, 5, 5)),
    ("odd conv 5-1 k2 p2 4x4", conv, (5, 1, 2, 1, 2, False), (2, 5, 4, 4)),
    ("odd deconv 6-5 k3 s2 5x4", deconv, (6, 5, 3, 2, 1, True), (3, 6, 5, 4)),
    ("odd deconv 2-18 k5 s3 p1 4x3", deconv, (2, 18, 5, 3, 1, False), (2, 2, 4, 3)),
    ("odd deconv 3-16 k4 s2 3x3", deconv, (3, 16, 4, 2, 1, True), (5, 3, 3, 3)),
]


@needs_library
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case[0])
def test_native_convolution_matches_mindspore_and_pytorch(case, jit):
    _, maker, arguments, shape = case
    fast, own, reference = maker(*arguments)
    assert type(fast.kernel).__name__.startswith("Native")
    assert_three_ways_agree(fast, own, reference, shape, jit)


@needs_library
def test_native_convolutions_are_bit_equal_from_run_to_run():
    """Two calls on the same data give the same bits (the bit-exact resume relies on it),
    at a size where both threads share the work."""
    fast, _, _ = conv(128, 256, 4, 2, 1, True)
    x = randn(16, 128, 16, 16)
    cotangent = randn(16, 256, 8, 8)
    first = ms_value_and_grads(fast, x, cotangent, jit=True)
    second = ms_value_and_grads(fast, x, cotangent, jit=True)
    for a, b in zip([first[0]] + first[1], [second[0]] + second[1]):
        np.testing.assert_array_equal(a, b)


FALLBACK_SCRIPT = """
import sys
import numpy as np, mindspore as ms
from ms_gan import native
from ms_gan.models import layers
from ms_gan.native.adam import Adam
fast = layers.Conv2d(3, 4, 3, 2, pad_mode="pad", padding=1)
again = layers.Conv2dTranspose(4, 3, 4, 2, pad_mode="pad", padding=1)
print(type(fast.kernel).__name__, type(again.kernel).__name__, native.library(),
      Adam(fast.trainable_params()).fused)
x = ms.Tensor(np.ones((1, 3, 8, 8), np.float32))
print(again(fast(x)).shape)
"""


def run_fallback(tmp_path, **env):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache"), **env}
    return subprocess.run([sys.executable, "-c", FALLBACK_SCRIPT], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("env, reason", [
    ({"CXX": "/nonexistent/g++", "PATH": "/nonexistent"}, "no C++ compiler (/nonexistent/g++ not found)"),
    ({"MS_GAN_NATIVE": "0"}, "MS_GAN_NATIVE=0"),
], ids=["no compiler", "switched off"])
def test_without_native_kernels_mindspores_own_layers_run_and_say_so_once(tmp_path, env, reason):
    result = run_fallback(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["NoneType", "NoneType", "None", "False", "(1,", "3,", "8,", "8)"]
    lines = [line for line in result.stderr.splitlines() if line.startswith("ms_gan:")]
    assert lines == [f"ms_gan: native CPU kernels off ({reason}); MindSpore's own run"]
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
@needs_library
def test_two_processes_building_into_a_fresh_cache_at_once_both_run(tmp_path):
    """As two msrun workers starting together: each builds and renames its own whole file."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    started = [subprocess.Popen([sys.executable, "-c", FALLBACK_SCRIPT], cwd=tmp_path, env=environment,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in started]
    built = list((tmp_path / "cache" / "ms_torch_gan" / "native").iterdir())
    assert [p.suffix for p in built] == [".so"]                 # no temporary folder left behind
    for code, out, err in results:
        assert code == 0, err
        assert out.split()[:4] == ["NativeConv2dBiasKernel", "NativeConv2dTransposeKernel", str(built[0]), "True"]
        assert out.split()[4:] == ["(1,", "3,", "8,", "8)"]
        assert "ms_gan:" not in err


def test_another_device_runs_mindspores_own_layers_and_says_so_once(monkeypatch, capsys):
    """The device is read as each layer is made (no GPU or Ascend here: the context's answer
    is replaced for this test only)."""
    real = ms.get_context
    monkeypatch.setattr(native.ms, "get_context", lambda key: "GPU" if key == "device_target" else real(key))
    made = [layers.Conv2d(3, 4, 3, 2, pad_mode="pad", padding=1) for _ in range(2)]
    assert [layer.kernel for layer in made] == [None, None]
    assert native.state() == (None, "the device is GPU")
    assert capsys.readouterr().err.count("native CPU kernels off (the device is GPU)") == 1
