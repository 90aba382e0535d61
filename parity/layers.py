"""`python -m parity check MODEL --layers`: every layer of both twins on the same input,
forward and backward, and the first layer whose difference passes the tolerance.

Layers are matched by name (the same attribute paths in both twins); only layers without
sublayers are compared. For each, in the order the MindSpore twin calls them: its output,
then its running statistics after that forward (a BatchNorm momentum written the other
framework's way shows only there); then, from the loss back, the gradient it passes to its
input (its backward). The loss is sum(output * v), v a fixed seeded array per output, so
every output element gets its own gradient.

Both frameworks record through layer hooks: forward hooks, and backward hooks that see the
gradient w.r.t. a layer's input and output (MindSpore's `Cell.register_backward_hook`,
PyNative only; PyTorch's `register_full_backward_hook`, which refuses layers whose output
is later modified in place, e.g. ReLU(inplace=True)).
"""
import warnings
from dataclasses import dataclass, field

import mindspore as ms
import numpy as np
import torch

from ms_gan.models.layers import Kernel
from parity.common.layer_rules import RULES, class_names, translate
from parity.common.names import torch_to_ms_names
from parity.pairing import layer_pairs, setting_mismatches
from parity.report import Check, close
from parity.twins import GRAD_TOL, MS_KINKS, OUTPUT_TOL, TORCH_KINKS, Twins, kink_crossings, redrawn, to_numpy

KINKS = MS_KINKS + TORCH_KINKS   # parity/twins.py: why rounding there is not a port error


@dataclass
class Trace:
    """What one framework's network did, per layer name."""
    order: list = field(default_factory=list)      # layer names, in first-call order
    kinds: dict = field(default_factory=dict)      # name -> class name
    inputs: dict = field(default_factory=dict)     # name -> first input (kinked layers only)
    outputs: dict = field(default_factory=dict)    # name -> first output
    states: dict = field(default_factory=dict)     # name -> {MindSpore stat name: array} after the forward
    grads: dict = field(default_factory=dict)      # name -> gradient w.r.t. its first input


def leaves(net):
    """[(name, layer)] of the layers without sublayers, and of the layers the rule table
    knows (parity/common/layer_rules.py: an LSTM, whose MindSpore cell runs an inner one, a
    BatchNorm3d with its bn2d) as one, children included; a MindSpore layer's Kernel (its
    computation with a custom backward, ms_gan/models/layers.py) is part of the layer."""
    is_ms = isinstance(net, ms.nn.Cell)
    known = {name for rule in RULES for name in (rule.ms_classes if is_ms else rule.torch_classes)}
    found, whole = [], []
    for name, layer in (net.cells_and_names() if is_ms else net.named_modules()):
        if any(p == "" or name.startswith(p + ".") for p in whole):
            continue
        children = list(layer.cells() if is_ms else layer.children())
        if set(class_names(layer)) & known:
            whole.append(name)
            found.append((name, layer))
        elif not isinstance(layer, Kernel) and all(isinstance(sub, Kernel) for sub in children):
            found.append((name, layer))
    return found


def _state(layer):
    """A layer's own non-trainable tensors (running statistics) under MindSpore names."""
    if isinstance(layer, ms.nn.Cell):
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


def trace(net, inputs):
    """Run `net` (either framework) forward and backward on numpy `inputs` (a tuple), as it
    is set (train or eval mode), recording every leaf layer."""
    record = Trace()

    def forward_hook(name, layer):
        def hook(_layer, args, out):
            if name in record.outputs:
                return
            record.order.append(name)
            record.kinds[name] = type(layer).__name__
            record.outputs[name] = to_numpy(out)
            if isinstance(layer, KINKS):
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
    if isinstance(net, ms.nn.Cell):
        handles += [layer.register_backward_hook(backward_hook(name)) for name, layer in named]
        tensors = [ms.Tensor(x) for x in inputs]
        floats = tuple(i for i, x in enumerate(inputs) if x.dtype.kind == "f")
        # only token ids in (an Embedding's): the backward runs for the parameters' gradients
        weights = None if floats else net.trainable_params()
        run = lambda: ms.grad(lambda *xs: projected_loss(net(*xs), ms.Tensor), floats or None, weights)(*tensors)
    else:
        handles += [layer.register_full_backward_hook(backward_hook(name)) for name, layer in named]
        device = next(net.parameters(), torch.empty(0)).device
        tensors = [torch.from_numpy(x).to(device).requires_grad_(x.dtype.kind == "f") for x in inputs]
        run = lambda: torch.autograd.grad(projected_loss(net(*tensors), lambda v: torch.from_numpy(v).to(device)),
                                          [t for t in tensors if t.requires_grad]
                                          or [p for p in net.parameters() if p.requires_grad])
    try:
        with warnings.catch_warnings():   # token inputs: the backward starts at the Embedding's output
            warnings.filterwarnings("ignore", "Full backward hook is firing when gradients are computed with "
                                              "respect to module outputs")
            run()
    finally:
        for handle in handles:
            handle.remove()
    record.states = {name: _state(layer) for name, layer in named}
    return record


def compare_traces(ms_trace, torch_trace, atol, rtol, prefix="", mapping=None):
    """Check rows in the order a difference would appear: forward (output, then running
    statistics) in call order, then backward from the loss back. A MindSpore layer pairs
    with the PyTorch layer at its path, after `mapping` (layer_rules.translate)."""
    forward, backward = [], []
    for name in ms_trace.order:
        label = f"{prefix}{name or '(model)'} ({ms_trace.kinds[name]})"
        other = translate(name, mapping) if name else name
        if other not in torch_trace.outputs:
            forward.append(Check(f"{label}: not called in PyTorch", float("inf"), float("inf"), atol, "abs", False))
            continue
        forward.append(close(f"{label} forward", ms_trace.outputs[name], torch_trace.outputs[other], atol, rtol))
        ms_state, torch_state = ms_trace.states[name], torch_trace.states[other]
        for stat in sorted(set(ms_state) & set(torch_state)):   # one side's alone: layer_rules' ms_only
            forward.append(close(f"{label} {stat}", ms_state.get(stat), torch_state.get(stat), atol, rtol))
        if name in ms_trace.grads or other in torch_trace.grads:   # none where only token ids flow in
            backward.append(close(f"{label} backward", ms_trace.grads.get(name), torch_trace.grads.get(other),
                                  atol, rtol))
    return forward + backward[::-1]


def compare_layers(ms_net, torch_net, inputs, atol, rtol, prefix="", mapping=None):
    """(checks, kink crossings) of every layer of two twin networks on the same inputs."""
    inputs = tuple(np.asarray(x) for x in (inputs if isinstance(inputs, (tuple, list)) else (inputs,)))
    ms_trace, torch_trace = trace(ms_net, inputs), trace(torch_net, inputs)
    crossings = kink_crossings(ms_trace.inputs, {name: torch_trace.inputs.get(translate(name, mapping) if name else name)
                                                 for name in ms_trace.inputs})
    return compare_traces(ms_trace, torch_trace, atol, rtol, prefix, mapping), crossings


def first_diverging(checks):
    """The first failing row, or None."""
    return next((c for c in checks if not c.passed), None)


def describe(check):
    if check is None:
        return "no layer diverges"
    return (f"first diverging layer: {check.name}: max abs diff {check.max_abs:.3e} "
            f"(max rel {check.max_rel:.3e}), tolerance {check.tol:.3e}")


def check_twins_layers(twins, batch=8, seed=0, atol=None, rtol=None, notes=None):
    """The layer comparison of a model's twins, G on noise and D on real-like images, in
    train mode (dropout off), BatchNorm statistics made non-trivial. Inputs are redrawn
    while every forward agrees but float32 rounding puts a kinked activation's input on
    opposite sides of 0 (then only that element's gradient parts); `notes` says so."""
    atol = OUTPUT_TOL if atol is None else atol
    rtol = GRAD_TOL if rtol is None else rtol
    notes = [] if notes is None else notes

    def attempt(z, real):
        twins.set_train(True)
        checks, crossings = [], {}
        for net, x in (("G", z), ("D", real)):
            ms_net, torch_net = twins.pairs()[net]
            rows, crossed = compare_layers(ms_net, torch_net, x, atol, rtol, prefix=f"{net} ")
            checks += rows
            crossings.update({f"{net} {name}": count for name, (count, _) in crossed.items()})
        forward_ok = all(c.passed for c in checks if not c.name.endswith("backward"))
        if not crossings or not forward_ok:
            return checks, None
        return checks, (", ".join(f"{n} input(s) of {layer}" for layer, n in crossings.items())
                        + " on opposite sides of 0 with every forward within tolerance")

    return redrawn(twins, batch, seed, attempt, notes)[0]


def twins_settings(twins):
    """["G main.4 (BatchNorm2d): MindSpore momentum ..., PyTorch momentum ...", ...]: the
    settings the twins' paired layers differ in (parity/common/layer_rules.py)."""
    return [f"{net} {line}" for net, (ms_net, torch_net) in twins.pairs().items()
            for line in setting_mismatches(ms_net, torch_net)]


def main(args):
    from parity.common.files import write_text_atomic
    from parity.report import format_markdown, format_table, write_json

    notes = []
    twins = Twins(args.model, args.seed, args.device)
    print(f"parity check --layers: {args.model}, MindSpore {ms.__version__} on {args.device}, "
          f"PyTorch {torch.__version__}, batch {args.batch}, seed {args.seed}")
    settings = twins_settings(twins)
    if settings:          # named before any number: the numbers would only say where, not why
        print("settings differ (compared before any number):\n  " + "\n  ".join(settings))
        if args.json:
            write_json(args.json, args.model, args.device, [], batch=args.batch, seed=args.seed, passed=False,
                       settings=settings, notes=notes)
        return 1
    pairs = sum(len(layer_pairs(ms_net, torch_net)) for ms_net, torch_net in twins.pairs().values())
    print(f"settings: the {pairs} paired layers agree")
    checks = check_twins_layers(twins, args.batch, args.seed, notes=notes)
    first = first_diverging(checks)
    print(format_table(checks))
    for note in notes:
        print("note:", note)
    print(describe(first))
    if args.json:
        write_json(args.json, args.model, args.device, checks, batch=args.batch, seed=args.seed,
                   first_diverging=first and first.name, notes=notes)
    if args.markdown:
        write_text_atomic(args.markdown, format_markdown(f"parity check --layers {args.model} ({args.device})", checks)
                          + f"\n{describe(first)}\n")
    return 0 if first is None else 1
