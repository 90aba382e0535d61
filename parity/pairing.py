"""A live MindSpore model and its PyTorch twin paired layer by layer and parameter by
parameter, through the rule table of parity/common/layer_rules.py: the names and shapes
that correspond, the settings that must agree, and weights copied either way.

`mapping` (a dict of MindSpore names or layer paths to PyTorch's, or a callable) serves
twins whose paths differ; `rules` (layer_rules.Rule) a pair of custom classes.
"""
import mindspore as ms
import numpy as np
import torch

from parity.common import layer_rules
from parity.common.frameworks import FRAMEWORKS, MINDSPORE, TORCH
from parity.common.layer_rules import class_names, find_rule, read_settings, translate


def layers(net):
    """{path: layer} of every layer of either framework's model ('' is the model)."""
    return dict(net.cells_and_names() if isinstance(net, ms.nn.Cell) else net.named_modules())


def tensors(net):
    """{name: tensor} of every parameter and running statistic."""
    if isinstance(net, ms.nn.Cell):
        return dict(net.parameters_and_names())
    return net.state_dict(keep_vars=True)


def parameter_pairs(ms_net, torch_net, mapping=None, rules=()):
    """{MindSpore name: PyTorch name (None: PyTorch's layer has no such tensor)}."""
    ms_layers = {p: class_names(c) for p, c in layers(ms_net).items()}
    torch_layers = {p: class_names(m) for p, m in layers(torch_net).items()}
    return layer_rules.pair_parameters(
        ms_layers, torch_layers, {n: tuple(p.shape) for n, p in tensors(ms_net).items()},
        {n: tuple(t.shape) for n, t in tensors(torch_net).items()}, mapping, rules)


def layer_pairs(ms_net, torch_net, mapping=None, rules=()):
    """[(MindSpore path, MindSpore layer, PyTorch layer, rule)] of the layers with a rule."""
    torch_layers = layers(torch_net)
    found = []
    for path, cell in layers(ms_net).items():
        module = torch_layers.get(translate(path, mapping) if path else path)
        rule = module is not None and find_rule(class_names(cell), class_names(module), rules)
        if rule:
            found.append((path, cell, module, rule))
    return found


def setting_mismatches(ms_net, torch_net, mapping=None, rules=()):
    """['layer: MindSpore epsilon 1e-07, PyTorch eps 1e-05', ...]: the settings that differ,
    in both frameworks' terms, in MindSpore's layer order."""
    found = []
    for path, cell, module, rule in layer_pairs(ms_net, torch_net, mapping, rules):
        found += layer_rules.compare_settings(f"{path or '(model)'} ({type(cell).__name__})",
                                              read_settings(rule, cell, MINDSPORE),
                                              read_settings(rule, module, TORCH))
    return found


class SettingsDiffer(AssertionError):
    """Twins whose layers are set differently: named before any number is compared."""


def assert_same_settings(ms_net, torch_net, mapping=None, rules=()):
    mismatches = setting_mismatches(ms_net, torch_net, mapping, rules)
    if mismatches:
        raise SettingsDiffer("the twins' layers are set differently:\n  " + "\n  ".join(mismatches))


def copy_weights(ms_net, torch_net, source=TORCH, mapping=None, rules=()):
    """Copy every parameter and running statistic of one model into the other; `source`
    is TORCH or MINDSPORE ("torch", "mindspore"). Names and layouts pair by parameter_pairs."""
    if source not in FRAMEWORKS:
        raise ValueError(f"source must be 'torch' or 'mindspore', not {source!r}")
    pairs = parameter_pairs(ms_net, torch_net, mapping, rules)
    ms_tensors, torch_tensors = tensors(ms_net), tensors(torch_net)
    for ms_name, torch_name in pairs.items():
        if torch_name is None:
            continue
        param, tensor = ms_tensors[ms_name], torch_tensors[torch_name]
        if source == TORCH:
            value = layer_rules.to_ms_array(tensor.detach().cpu().numpy(), param.shape)
            param.set_data(ms.Tensor(np.ascontiguousarray(value), dtype=param.dtype))
        else:
            value = layer_rules.to_torch_array(param.asnumpy(), tuple(tensor.shape))
            with torch.no_grad():
                tensor.copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return pairs
