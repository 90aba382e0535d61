"""The native Dense layers (ms_gan/native/dense.cpp, layers.Dense, docs/native.md#dense):
every Dense of the six models at batch 2 and its training batch, and odd ones, forward and both
gradients (weight and bias), under ms.jit and in PyNative mode, against MindSpore's own nn.Dense
and PyTorch's nn.Linear, to the tolerance of the other layer tests; bit-equal from run to run;
and nn.Dense itself where the kernels are off or the input is not 2-d."""
import mindspore as ms
import numpy as np
import pytest
import torch
from mindspore import nn

from ms_gan import native
from ms_gan.models import layers
from helpers.layer_checks import assert_three_ways_agree, ms_value_and_grads, randn

needs_library = pytest.mark.skipif(native.library() is None, reason="needs g++ and MindSpore's libdnnl.so.2")


def dense(in_features, out_features, bias):
    return (layers.Dense(in_features, out_features, has_bias=bias), nn.Dense(in_features, out_features, has_bias=bias),
            torch.nn.Linear(in_features, out_features, bias=bias))


# (name, (in, out, bias), batch): the models' Dense layers, then odd ones.
CASES = [
    ("gan G 100-256", (100, 256, True), 32),
    ("gan G 256-512", (256, 512, True), 32),
    ("gan G 512-784", (512, 784, True), 2),
    ("gan D 784-512", (784, 512, True), 32),
    ("gan D 512-256", (512, 256, True), 2),
    ("gan D 256-1", (256, 1, True), 32),
    ("gan_bn G 128-256", (128, 256, True), 32),
    ("gan_bn G 512-1024", (512, 1024, True), 32),
    ("gan_bn G 1024-1024", (1024, 1024, True), 2),
    ("cnn_gan G 100-8192", (100, 8192, True), 32),
    ("cnn_gan D 512-1", (512, 1, True), 32),
    ("sgan D 512-11", (512, 11, True), 32),
    ("dcgan_mnist G 100-12544", (100, 12544, True), 2),
    ("dcgan_mnist D 4608-1", (4608, 1, True), 32),
    ("odd 1-1", (1, 1, True), 1),
    ("odd 7-3 no bias", (7, 3, False), 5),
    ("odd 33-65", (33, 65, True), 3),
    ("odd 300-17 no bias", (300, 17, False), 64),
]


@needs_library
@pytest.mark.parametrize("jit", [True, False], ids=["jit", "pynative"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case[0])
def test_native_dense_matches_mindspore_and_pytorch(case, jit):
    _, arguments, batch = case
    fast, own, reference = dense(*arguments)
    assert type(fast.kernel).__name__.startswith("NativeDense")
    assert_three_ways_agree(fast, own, reference, (batch, arguments[0]), jit, gradients=2 + arguments[2])


@needs_library
def test_native_dense_is_bit_equal_from_run_to_run():
    fast, _, _ = dense(1024, 1024, True)
    x, cotangent = randn(64, 1024), randn(64, 1024)
    first = ms_value_and_grads(fast, x, cotangent, jit=True)
    second = ms_value_and_grads(fast, x, cotangent, jit=True)
    for a, b in zip([first[0]] + first[1], [second[0]] + second[1]):
        np.testing.assert_array_equal(a, b)


@needs_library
def test_every_block_is_computed_however_fast_the_calls_come():
    """The thread pool under back-to-back jobs (docs/native.md#threads: the caller polls for
    the workers' last blocks, a worker lingers for the next job): a jit chain of eight Dense
    layers (two blocks of columns a thread each), called 200 times in a row on ten inputs in
    turn, gives each input's first output to the bit every time. A block skipped, or one run
    from a job that had ended, would leave another input's values."""
    net = nn.SequentialCell([layers.Dense(256, 256) for _ in range(8)])

    @ms.jit
    def forward(x):
        return net(x)
    inputs = [ms.Tensor(randn(32, 256)) for _ in range(10)]
    expected = [forward(x).asnumpy() for x in inputs]
    assert min(np.abs(a).mean() for a in expected) > 1e-3
    for i in range(200):
        np.testing.assert_array_equal(forward(inputs[i % 10]).asnumpy(), expected[i % 10])


def test_a_3d_input_runs_nn_dense():
    fast, own, _ = dense(6, 4, True)
    own.weight.set_data(fast.weight.data.copy())
    own.bias.set_data(fast.bias.data.copy())
    x = ms.Tensor(randn(2, 3, 6))
    np.testing.assert_array_equal(fast(x).asnumpy(), own(x).asnumpy())


def test_with_the_kernels_off_it_is_nn_dense():
    with native.suspended():
        fast, _, _ = dense(6, 4, True)
    assert fast.kernel is None


@pytest.mark.slow
@needs_library
def test_bench_ops_times_every_dense_op_and_adam_step(tmp_path, capsys):
    """`python -m parity bench-ops` at one repeat: the JSON's structure, no timing assertions."""
    import json

    import parity.__main__
    from parity.bench_ops import IMPLEMENTATIONS, OPS, format_result
    path = tmp_path / "ops.json"
    assert parity.__main__.main(["bench-ops", "--model", "gan", "--repeats", "1", "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    assert [(row["in"], row["out"]) for row in result["dense"]] == [(100, 256), (256, 512), (512, 784),
                                                                    (784, 512), (512, 256), (256, 1)]
    assert [row["network"] for row in result["adam"]] == ["gan G", "gan D"]
    assert all(set(row["ms"]) == set(OPS) and all(set(t) == set(IMPLEMENTATIONS) and min(t.values()) > 0
                                                  for t in row["ms"].values()) for row in result["dense"])
    assert all(set(row["ms"]) == set(IMPLEMENTATIONS) and row["parameters"] == 6 for row in result["adam"])
    assert format_result(result) in capsys.readouterr().out
