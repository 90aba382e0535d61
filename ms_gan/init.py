"""Apply the shared init spec (parity/common/init_spec.py) to MindSpore cells."""
import numpy as np
import mindspore as ms
from mindspore import nn
from mindspore.common.initializer import Constant as MsConstant
from mindspore.common.initializer import Normal as MsNormal
from mindspore.common.initializer import Uniform as MsUniform
from mindspore.common.initializer import initializer

from parity.common.init_spec import Constant, FanInUniform, Normal, distribution, draw_arrays, fan_in

_KINDS = (
    ((nn.Conv2d, nn.Conv2dTranspose, nn.Conv1d), "conv"),
    ((nn.Dense,), "linear"),
    ((nn.BatchNorm1d, nn.BatchNorm2d), "batchnorm"),
)


def layer_kind(cell):
    for types, kind in _KINDS:
        if isinstance(cell, types):
            return kind
    return None


def layer_inventory(model):
    """[(layer_name, kind, {role: shape})] of the trainable parameters, in model order."""
    inventory = []
    for layer_name, cell in model.cells_and_names():
        kind = layer_kind(cell)
        if kind is None:
            continue
        shapes = {name: tuple(param.shape)
                  for name, param in cell.parameters_and_names(expand=False)
                  if param.requires_grad}
        inventory.append((layer_name, kind, shapes))
    return inventory


def _ms_initializer(dist, fan):
    # MindSpore's Normal takes sigma first (Normal(sigma, mean)): always pass keywords.
    if isinstance(dist, Normal):
        return MsNormal(sigma=dist.std, mean=dist.mean)
    if isinstance(dist, Constant):
        return MsConstant(dist.value)
    if isinstance(dist, FanInUniform):
        return MsUniform(scale=1.0 / np.sqrt(fan))
    raise TypeError(f"no MindSpore initializer for {dist!r}")


def apply_init_spec(model, spec):
    """Initialise every trainable parameter from `spec` with MindSpore's random generator."""
    for layer_name, kind, shapes in layer_inventory(model):
        cell = model if not layer_name else _cell_at(model, layer_name)
        for role, shape in shapes.items():
            dist = distribution(spec, kind, role, layer_name)
            param = getattr(cell, role)
            param.set_data(initializer(_ms_initializer(dist, fan_in(kind, role, shapes)), shape, ms.float32))


def _cell_at(model, path):
    return dict(model.cells_and_names())[path]


def load_arrays(model, arrays):
    """Copy numpy arrays, keyed by MindSpore parameter names relative to `model`, into
    its parameters. Every key must name a parameter of the same shape."""
    params = dict(model.parameters_and_names())
    unknown = sorted(set(arrays) - set(params))
    if unknown:
        raise KeyError(f"no such parameters in {type(model).__name__}: {unknown}")
    for name, value in arrays.items():
        param = params[name]
        if tuple(param.shape) != tuple(value.shape):
            raise ValueError(f"{name}: model has shape {tuple(param.shape)}, array has {tuple(value.shape)}")
        param.set_data(ms.Tensor(np.ascontiguousarray(value), dtype=param.dtype))


def init_from_seed(model, spec, seed):
    """Initialise `model` from numpy arrays drawn from `seed`: bit-equal to the PyTorch
    twin given the same seed."""
    load_arrays(model, draw_arrays(layer_inventory(model), spec, seed))


def state_arrays(model):
    """{MindSpore name: numpy array} of every parameter, running statistics included."""
    return {name: param.asnumpy() for name, param in model.parameters_and_names()}
