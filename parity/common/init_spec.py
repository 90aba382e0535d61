"""The init spec: which distribution each kind of parameter starts from, declared once.

Each framework applies a spec with its own random generator (`ms_gan.init`,
`torch_gan.init`). For bit-equal twins, `draw_arrays` draws one set of numpy arrays
from a seed, which both frameworks load.

A model describes itself to this module as a *layer inventory*: a list of
`(layer_name, kind, {role: shape})` in model order, where kind is "conv", "linear" or
"batchnorm" and roles are MindSpore's parameter names (weight, bias, gamma, beta).
Both twins produce the same inventory, so the same seed gives the same arrays.
"""
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Normal:
    mean: float
    std: float

    def draw(self, rng, shape, fan_in):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(self.std)
                + np.float32(self.mean))


@dataclass(frozen=True)
class Constant:
    value: float

    def draw(self, rng, shape, fan_in):
        return np.full(shape, self.value, dtype=np.float32)


@dataclass(frozen=True)
class FanInUniform:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for Linear and Conv
    weights (kaiming_uniform with a=sqrt(5)) and biases."""

    def draw(self, rng, shape, fan_in):
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(np.float32)


# (kind, role) -> distribution. A (kind, role) missing from a spec is an error, not a
# silent framework default: the frameworks' defaults differ
# (docs/framework_differences.md#default-initialisation).
InitSpec = dict

DCGAN_INIT = {
    ("conv", "weight"): Normal(mean=0.0, std=0.02),
    ("batchnorm", "gamma"): Normal(mean=1.0, std=0.02),
    ("batchnorm", "beta"): Constant(0.0),
}

# One named default for the seeds that rely on their framework's own initialisation:
# PyTorch's, written down so that MindSpore draws from the same distribution.
TORCH_DEFAULT_INIT = {
    ("conv", "weight"): FanInUniform(),
    ("conv", "bias"): FanInUniform(),
    ("linear", "weight"): FanInUniform(),
    ("linear", "bias"): FanInUniform(),
    ("batchnorm", "gamma"): Constant(1.0),
    ("batchnorm", "beta"): Constant(0.0),
}


def fan_in(kind, role, shapes):
    """Fan-in of a layer as PyTorch computes it, from the weight's shape (biases use
    the weight's fan-in). Transposed conv weights are [in, out, kh, kw], and PyTorch
    takes dim 1 as fan-in for them too; MindSpore stores them the same way."""
    weight = shapes.get("weight")
    if weight is None or len(weight) < 2:
        return 1
    return int(np.prod(weight[1:]))


def distribution(spec, kind, role, layer_name):
    try:
        return spec[(kind, role)]
    except KeyError:
        raise ValueError(f"the init spec has no entry for {kind} {role!r} "
                         f"(layer {layer_name!r})") from None


def draw_arrays(inventory, spec, seed):
    """Draw every trainable parameter of a model from `spec`, reproducibly from `seed`.

    Returns {"layer.role": float32 array}, keys in MindSpore's naming."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for layer_name, kind, shapes in inventory:
        for role, shape in shapes.items():
            dist = distribution(spec, kind, role, layer_name)
            arrays[f"{layer_name}.{role}"] = dist.draw(rng, tuple(shape), fan_in(kind, role, shapes))
    return arrays


def draw_running_stats(inventory, seed):
    """Non-trivial BatchNorm running statistics (mean N(0, 0.5), variance U(0.5, 2)),
    so that a mapping mistake cannot hide behind zeros and ones."""
    rng = np.random.default_rng(seed)
    stats = {}
    for layer_name, kind, shapes in inventory:
        if kind == "batchnorm":
            (features,) = shapes["gamma"]
            stats[f"{layer_name}.moving_mean"] = rng.normal(0.0, 0.5, features).astype(np.float32)
            stats[f"{layer_name}.moving_variance"] = rng.uniform(0.5, 2.0, features).astype(np.float32)
    return stats


# Seed 003's weights_init_normal: conv weights N(0, 0.02) and BatchNorm gamma N(1, 0.02)
# as in DCGAN_INIT; what it leaves alone (conv biases, Linear layers) keeps PyTorch's
# default. The seed writes `normal_(bn.bias, 0.0)` (std defaults to 1!) where its source,
# PyTorch-GAN, has `constant_(bn.bias, 0.0)`: beta 0 here, as in DCGAN_INIT.
DCGAN_CONV_TORCH_DEFAULT_INIT = {**TORCH_DEFAULT_INIT, **DCGAN_INIT}
