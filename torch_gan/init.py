"""Apply the shared init spec (parity/common/init_spec.py) to PyTorch modules."""
import math

import torch
from torch import nn

from parity.common.init_spec import Constant, FanInUniform, Normal, distribution, draw_arrays, fan_in
from parity.common.names import torch_to_ms_names

_KINDS = (
    ((nn.Conv2d, nn.ConvTranspose2d, nn.Conv1d), "conv"),
    ((nn.Linear,), "linear"),
    ((nn.BatchNorm1d, nn.BatchNorm2d), "batchnorm"),
)
# PyTorch's BatchNorm weight/bias are MindSpore's gamma/beta; the inventory uses the latter.
_BN_ROLES = {"weight": "gamma", "bias": "beta"}


def layer_kind(module):
    for types, kind in _KINDS:
        if isinstance(module, types):
            return kind
    return None


def _roles(kind, module):
    """{MindSpore role: parameter} of a layer's trainable parameters."""
    return {(_BN_ROLES[name] if kind == "batchnorm" else name): param
            for name, param in module.named_parameters(recurse=False) if param.requires_grad}


def layer_inventory(model):
    """[(layer_name, kind, {role: shape})] of the trainable parameters, in model order;
    the same list as the MindSpore twin's."""
    inventory = []
    for layer_name, module in model.named_modules():
        kind = layer_kind(module)
        if kind is not None:
            inventory.append((layer_name, kind, {role: tuple(p.shape) for role, p in _roles(kind, module).items()}))
    return inventory


@torch.no_grad()
def _draw_in_place(param, dist, fan):
    if isinstance(dist, Normal):
        nn.init.normal_(param, mean=dist.mean, std=dist.std)
    elif isinstance(dist, Constant):
        nn.init.constant_(param, dist.value)
    elif isinstance(dist, FanInUniform):
        bound = 1.0 / math.sqrt(fan)
        nn.init.uniform_(param, -bound, bound)
    else:
        raise TypeError(f"no PyTorch initializer for {dist!r}")


def apply_init_spec(model, spec):
    """Initialise every trainable parameter from `spec` with PyTorch's random generator."""
    modules = dict(model.named_modules())
    for layer_name, kind, shapes in layer_inventory(model):
        for role, param in _roles(kind, modules[layer_name]).items():
            _draw_in_place(param, distribution(spec, kind, role, layer_name), fan_in(kind, role, shapes))


@torch.no_grad()
def load_arrays(model, arrays):
    """Copy numpy arrays keyed by *MindSpore* names (see parity/common/names.py) into
    the model's parameters and buffers. Every key must name a tensor of the same shape."""
    state = model.state_dict(keep_vars=True)
    torch_name = {ms_name: name for name, ms_name in torch_to_ms_names(state).items() if ms_name}
    unknown = sorted(set(arrays) - set(torch_name))
    if unknown:
        raise KeyError(f"no such parameters in {type(model).__name__}: {unknown}")
    for ms_name, value in arrays.items():
        name = torch_name[ms_name]
        tensor = state[name]
        if tuple(tensor.shape) != tuple(value.shape):
            raise ValueError(f"{name}: model has shape {tuple(tensor.shape)}, array has {tuple(value.shape)}")
        tensor.copy_(torch.from_numpy(value))


def init_from_seed(model, spec, seed):
    """Initialise `model` from numpy arrays drawn from `seed`: bit-equal to the
    MindSpore twin given the same seed."""
    load_arrays(model, draw_arrays(layer_inventory(model), spec, seed))


def state_arrays(model):
    """{MindSpore name: numpy array} of every parameter and running statistic
    (`num_batches_tracked` has no MindSpore twin and is left out)."""
    state = model.state_dict()
    return {ms_name: state[name].detach().cpu().numpy()
            for name, ms_name in torch_to_ms_names(state).items() if ms_name is not None}
