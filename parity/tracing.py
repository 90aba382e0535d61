"""Every leaf layer of one network, forward and backward, through layer hooks: what
`parity check --layers` (parity/layers.py) compares in one process and what `parity dump`
(parity/dump.py) writes on a machine with one framework. It imports only the framework of
the network it is given.

Both frameworks record through layer hooks: forward hooks, and backward hooks that see the
gradient w.r.t. a layer's input and output (MindSpore's `Cell.register_backward_hook`,
PyNative only; PyTorch's `register_full_backward_hook`, which refuses layers whose output
is later modified in place, e.g. ReLU(inplace=True)). The loss is sum(output * v), v a
fixed seeded array per output, so every output element gets its own gradient.
"""
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from parity.common.layer_rules import RULES, class_names
from parity.common.names import torch_to_ms_names


@dataclass
class Trace:
    """What one framework's network did, per layer name."""
    order: list = field(default_factory=list)      # layer names, in first-call order
    kinds: dict = field(default_factory=dict)      # name -> class name
    inputs: dict = field(default_factory=dict)     # name -> first input (layers keep_input chose)
    outputs: dict = field(default_factory=dict)    # name -> first output
    states: dict = field(default_factory=dict)     # name -> {MindSpore stat name: array} after the forward
    grads: dict = field(default_factory=dict)      # name -> gradient w.r.t. its first input
    weight_grads: dict = field(default_factory=dict)   # MindSpore parameter name -> its gradient (weights=True)


def is_mindspore(net):
    """True for a MindSpore Cell (without importing MindSpore where it is not loaded)."""
    ms = sys.modules.get("mindspore")
    return ms is not None and isinstance(net, ms.nn.Cell)


def to_numpy(x):
    """numpy of a MindSpore or PyTorch tensor (the first, of a tuple), or None."""
    x = x[0] if isinstance(x, (tuple, list)) else x
    if x is None:
        return None
    return x.asnumpy() if hasattr(x, "asnumpy") else x.detach().cpu().numpy()


def leaves(net):
    """[(name, layer)] of the layers without sublayers, and of the layers the rule table
    knows (parity/common/layer_rules.py: an LSTM, whose MindSpore cell runs an inner one, a
    BatchNorm3d with its bn2d) as one, children included; a MindSpore layer's Kernel (its
    computation with a custom backward, ms_gan/models/layers.py) is part of the layer."""
    is_ms = is_mindspore(net)
    if is_ms:
        from ms_gan.models.layers import Kernel
    known = {name for rule in RULES for name in (rule.ms_classes if is_ms else rule.torch_classes)}
    found, whole = [], []
    for name, layer in (net.cells_and_names() if is_ms else net.named_modules()):
        if any(p == "" or name.startswith(p + ".") for p in whole):
            continue
        children = list(layer.cells() if is_ms else layer.children())
        if set(class_names(layer)) & known:
            whole.append(name)
            found.append((name, layer))
        elif is_ms and not isinstance(layer, Kernel) and all(isinstance(sub, Kernel) for sub in children):
            found.append((name, layer))
        elif not is_ms and not children:
            found.append((name, layer))
    return found


def layer_state(layer):
    """A layer's own non-trainable tensors (running statistics) under MindSpore names."""
    if is_mindspore(layer):
        return {n.rpartition(".")[2]: p.asnumpy().copy()
                for n, p in layer.parameters_and_names(expand=False) if not p.requires_grad}
    buffers = dict(layer.named_buffers(recurse=False))
    return {ms_name.lstrip("."): to_numpy(buffers[n]).copy()   # names of one layer: ".moving_mean"
            for n, ms_name in torch_to_ms_names(buffers).items() if ms_name}


def cotangent(shape, index=0):
    """The fixed weights v of sum(output * v) for an output of this shape."""
    return np.random.default_rng([index, *shape]).standard_normal(shape, dtype=np.float32)


def flat_outputs(out):
    """A model's outputs as a flat list: an LSTM's (output, (h, c)) is [output, h, c]."""
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in flat_outputs(o)]
    return [out]


def projected_loss(out, tensor):
    """sum(output * v) over every output; `tensor` makes a framework tensor of numpy v."""
    outs = flat_outputs(out)
    return sum((o * tensor(cotangent(tuple(o.shape), i))).sum() for i, o in enumerate(outs))


def trace(net, inputs, keep_input=lambda layer: False, weights=False):
    """Run `net` (either framework) forward and backward on numpy `inputs` (a tuple), as it
    is set (train or eval mode), recording every leaf layer; a layer's input is kept where
    keep_input(layer); with `weights`, every trainable parameter's gradient too."""
    record = Trace()

    def forward_hook(name, layer):
        def hook(_layer, args, out):
            if name in record.outputs:
                return
            record.order.append(name)
            record.kinds[name] = type(layer).__name__
            record.outputs[name] = to_numpy(out)
            if keep_input(layer):
                record.inputs[name] = to_numpy(args)
        return hook

    def backward_hook(name):
        def hook(_layer, grad_input, _grad_output):
            grad = to_numpy(grad_input)
            if grad is not None:
                record.grads.setdefault(name, grad)
        return hook

    named = leaves(net)
    handles = [layer.register_forward_hook(forward_hook(name, layer)) for name, layer in named]
    if is_mindspore(net):
        import mindspore as ms
        handles += [layer.register_backward_hook(backward_hook(name)) for name, layer in named]
        tensors = [ms.Tensor(x) for x in inputs]
        floats = tuple(i for i, x in enumerate(inputs) if x.dtype.kind == "f")
        # names relative to `net` (a TrainStep renames param.name)
        params = [(n, p) for n, p in net.parameters_and_names() if p.requires_grad] if weights else []
        loss = lambda *xs: projected_loss(net(*xs), ms.Tensor)
        if params:
            def run():
                grads = ms.grad(loss, floats or None, [p for _, p in params])(*tensors)
                weight_grads = grads[1] if floats else grads
                record.weight_grads.update({n: to_numpy(g) for (n, _), g in zip(params, weight_grads)})
        else:
            # only token ids in (an Embedding's): the backward runs for the parameters' gradients
            run = lambda: ms.grad(loss, floats or None, None if floats else net.trainable_params())(*tensors)
    else:
        import torch
        handles += [layer.register_full_backward_hook(backward_hook(name)) for name, layer in named]
        device = next(net.parameters(), torch.empty(0)).device
        tensors = [torch.from_numpy(x).to(device).requires_grad_(x.dtype.kind == "f") for x in inputs]
        parameters = dict(net.named_parameters()) if weights else {}
        # BatchNorm's weight is MindSpore's gamma only beside its running statistics: map the whole state
        state_names = torch_to_ms_names(net.state_dict(keep_vars=True)) if weights else {}
        ms_names = {n: state_names[n] for n in parameters if state_names.get(n)}

        def run():
            # only token ids in (an Embedding's): the backward runs for the parameters' gradients
            wrt = [t for t in tensors if t.requires_grad] or ([] if ms_names else
                                                              [p for p in net.parameters() if p.requires_grad])
            loss = projected_loss(net(*tensors), lambda v: torch.from_numpy(v).to(device))
            grads = torch.autograd.grad(loss, wrt + [parameters[n] for n in ms_names])
            record.weight_grads.update({m: to_numpy(g) for m, g in zip(ms_names.values(), grads[len(wrt):])})
    try:
        with warnings.catch_warnings():   # token inputs: the backward starts at the Embedding's output
            warnings.filterwarnings("ignore", "Full backward hook is firing when gradients are computed with "
                                              "respect to module outputs")
            run()
    finally:
        for handle in handles:
            handle.remove()
    record.states = {name: layer_state(layer) for name, layer in named}
    return record
