"""Parity tests for your own MindSpore/PyTorch twins.

    from parity.testing import parity_pair      # noqa: F401  (a pytest fixture)

    def test_my_port(parity_pair):
        pair = parity_pair(MyCell(), MyModule())        # PyTorch's weights copied into MindSpore
        pair.assert_parity(pair.inputs((8, 16)), atol=1e-5, rtol=1e-4)

or without pytest's fixture: `assert_parity(ms_model, torch_model, inputs, atol=..., rtol=...)`.

Layers pair by attribute path and parameters by the rule table of
parity/common/layer_rules.py (BatchNorm's gamma/weight, Embedding's embedding_table,
PReLU's w, Conv1d's kernel layout, ...); twins whose paths differ take a `mapping` (a dict
of MindSpore names or layer paths to PyTorch's, or a callable), a pair of custom classes a
`rules` entry (layer_rules.Rule). First the settings of every paired layer are compared
(epsilon, momentum, slope, dropout, stride, padding, ...): a difference fails naming the
layer and the setting in both frameworks' terms, before any number. Then: every output,
and the gradient of every trainable parameter under the loss sum(output * v), v a fixed
seeded array; each by max |a - b| <= atol + rtol max |b|. On a failure the message names
the first layer whose output, running statistics or backward diverges (parity/layers.py).
MindSpore must run in PyNative mode (its default). Dropout masks come from each
framework's own RNG and cannot match: compare dropout in eval mode, or built with p=0.
"""
import zlib

import mindspore as ms
import numpy as np
import pytest
import torch

from parity.common.layer_rules import inserted_axis
from parity.layers import close, compare_layers, describe, first_diverging, flat_outputs, projected_loss
from parity.pairing import assert_same_settings, copy_weights, parameter_pairs, setting_mismatches  # noqa: F401
from parity.report import format_table


def _as_tuple(inputs):
    return tuple(np.asarray(x) for x in (inputs if isinstance(inputs, (tuple, list)) else (inputs,)))


def _outputs_and_grads(model, inputs, ms_names=None):
    """(outputs, {MindSpore parameter name: gradient}) under the loss sum(output * v);
    `ms_names` is {PyTorch name: MindSpore name} for a PyTorch model."""
    if isinstance(model, ms.nn.Cell):
        names = [n for n, p in model.parameters_and_names() if p.requires_grad]
        if not names:                   # a layer without parameters: its output alone
            return [o.asnumpy() for o in _outs(model(*[ms.Tensor(x) for x in inputs]))], {}

        def loss_and_output(*xs):
            out = model(*xs)
            return projected_loss(out, ms.Tensor), out

        (_, out), grads = ms.value_and_grad(loss_and_output, None, model.trainable_params(), has_aux=True)(
            *[ms.Tensor(x) for x in inputs])
        return [o.asnumpy() for o in _outs(out)], {n: g.asnumpy() for n, g in zip(names, grads)}
    device = next(model.parameters(), torch.empty(0)).device
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    out = model(*[torch.from_numpy(x).to(device) for x in inputs])
    if not named:
        return [o.detach().cpu().numpy() for o in _outs(out)], {}
    grads = torch.autograd.grad(projected_loss(out, lambda v: torch.from_numpy(v).to(device)), [p for _, p in named],
                                allow_unused=True, materialize_grads=True)
    return ([o.detach().cpu().numpy() for o in _outs(out)],
            {ms_names[n]: g.detach().cpu().numpy() for (n, _), g in zip(named, grads)})


def _outs(out):
    return flat_outputs(out)


def parity_checks(ms_model, torch_model, inputs, atol=1e-5, rtol=1e-4, mapping=None, rules=()):
    """parity.report.Check rows: every output, then every parameter's gradient."""
    inputs = _as_tuple(inputs)
    pairs = parameter_pairs(ms_model, torch_model, mapping, rules)
    ms_out, ms_grads = _outputs_and_grads(ms_model, inputs)
    torch_out, torch_grads = _outputs_and_grads(torch_model, inputs, {t: m for m, t in pairs.items() if t})
    torch_grads = {n: g.reshape(ms_grads[n].shape) if n in ms_grads and ms_grads[n].shape == inserted_axis(g.shape)
                   else g for n, g in torch_grads.items()}       # the Conv1d family's kernel layout
    checks = [close(f"output {i}", a, b, atol, rtol) for i, (a, b) in enumerate(zip(ms_out, torch_out))]
    if len(ms_out) != len(torch_out):
        checks.append(close(f"{len(ms_out)} outputs against {len(torch_out)}", None, [], atol, rtol))
    for name in list(ms_grads) + [n for n in torch_grads if n not in ms_grads]:
        checks.append(close(f"grad {name}", ms_grads.get(name), torch_grads.get(name), atol, rtol))
    return checks


def assert_parity(ms_model, torch_model, inputs, atol=1e-5, rtol=1e-4, train=False, copy="torch",
                  mapping=None, rules=(), settings=True):
    """Assert that every paired layer is set alike (parity.pairing.SettingsDiffer names the
    layer and setting otherwise), copy `copy`'s weights into the other model (None: keep
    both as they are), run both on numpy `inputs` (an array or a tuple) in train or eval
    mode, and assert that outputs and gradients agree; the failure message names the first
    diverging layer. `settings=False` compares the numbers only. Returns the rows."""
    if settings:
        assert_same_settings(ms_model, torch_model, mapping, rules)
    if copy:
        copy_weights(ms_model, torch_model, copy, mapping, rules)
    ms_model.set_train(train)
    torch_model.train(train)
    checks = parity_checks(ms_model, torch_model, inputs, atol, rtol, mapping, rules)
    if not all(c.passed for c in checks):
        layer_checks, crossings = compare_layers(ms_model, torch_model, _as_tuple(inputs), atol, rtol, mapping=mapping)
        message = [f"MindSpore and PyTorch differ (atol {atol:g}, rtol {rtol:g}):",
                   format_table([c for c in checks if not c.passed]), describe(first_diverging(layer_checks))]
        if crossings:
            message.append("note: inputs of " + ", ".join(f"{name} ({n})" for name, (n, _) in crossings.items())
                           + " lie on opposite sides of 0 (a kink): float32 rounding there moves gradients; "
                             "try other inputs")
        raise AssertionError("\n".join(message))
    return checks


class ParityPair:
    """A MindSpore model and its PyTorch twin with equal weights, and seeded inputs."""

    def __init__(self, ms_model, torch_model, copy="torch", seed=0, mapping=None, rules=()):
        self.ms_model, self.torch_model = ms_model, torch_model
        self.mapping, self.rules = mapping, rules
        self.rng = np.random.default_rng(seed)
        if copy:
            copy_weights(ms_model, torch_model, copy, mapping, rules)

    def inputs(self, *shapes):
        """float32 N(0, 1) arrays of these shapes (one array for one shape)."""
        arrays = tuple(self.rng.standard_normal(shape, dtype=np.float32) for shape in shapes)
        return arrays[0] if len(arrays) == 1 else arrays

    def tokens(self, shape, high):
        """int32 token ids in [0, high) (an Embedding's input)."""
        return self.rng.integers(0, high, shape).astype(np.int32)

    def assert_parity(self, inputs, atol=1e-5, rtol=1e-4, train=False, settings=True):
        return assert_parity(self.ms_model, self.torch_model, inputs, atol, rtol, train, copy=None,
                             mapping=self.mapping, rules=self.rules, settings=settings)


@pytest.fixture
def parity_pair(request):
    """parity_pair(ms_model, torch_model, copy="torch", mapping=None, rules=()) -> ParityPair;
    inputs seeded by the test's id."""
    seed = zlib.crc32(request.node.nodeid.encode())
    return lambda ms_model, torch_model, copy="torch", mapping=None, rules=(): ParityPair(
        ms_model, torch_model, copy, seed, mapping, rules)
