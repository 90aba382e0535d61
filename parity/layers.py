"""`python -m parity check MODEL --layers`: every layer of both twins on the same input,
forward and backward, and the first layer whose difference passes the tolerance.

Layers are matched by name (the same attribute paths in both twins); only layers without
sublayers are compared. For each, in the order the MindSpore twin calls them: its output,
then its running statistics after that forward (a BatchNorm momentum written the other
framework's way shows only there); then, from the loss back, the gradient it passes to its
input (its backward). The loss is sum(output * v), v a fixed seeded array per output, so
every output element gets its own gradient.

The layers are recorded by parity/tracing.py (layer hooks), which `parity dump` shares.
"""
import mindspore as ms
import numpy as np
import torch

from parity.report import Check, compare
from parity.tracing import Trace, cotangent, leaves, projected_loss, trace   # noqa: F401 (this module's API)
from parity.twins import GRAD_TOL, MS_KINKS, OUTPUT_TOL, TORCH_KINKS, Twins, kink_crossings, redrawn

KINKS = MS_KINKS + TORCH_KINKS   # parity/twins.py: why rounding there is not a port error


def close(name, a, b, atol, rtol):
    """compare() with allclose's rule on the largest values: max |a - b| <= atol + rtol max |b|."""
    if a is None or b is None:
        return Check(name, float("inf"), float("inf"), atol, "abs", a is None and b is None)
    scale = float(np.abs(b).max()) if np.size(b) and np.isfinite(b).all() else 0.0
    return compare(name, a, b, atol + rtol * scale)


def compare_traces(ms_trace, torch_trace, atol, rtol, prefix=""):
    """Check rows in the order a difference would appear: forward (output, then running
    statistics) in call order, then backward from the loss back."""
    forward, backward = [], []
    for name in ms_trace.order:
        label = f"{prefix}{name or '(model)'} ({ms_trace.kinds[name]})"
        if name not in torch_trace.outputs:
            forward.append(Check(f"{label}: not called in PyTorch", float("inf"), float("inf"), atol, "abs", False))
            continue
        forward.append(close(f"{label} forward", ms_trace.outputs[name], torch_trace.outputs[name], atol, rtol))
        ms_state, torch_state = ms_trace.states[name], torch_trace.states[name]
        for stat in sorted(set(ms_state) | set(torch_state)):
            forward.append(close(f"{label} {stat}", ms_state.get(stat), torch_state.get(stat), atol, rtol))
        backward.append(close(f"{label} backward", ms_trace.grads.get(name), torch_trace.grads.get(name), atol, rtol))
    return forward + backward[::-1]


def compare_layers(ms_net, torch_net, inputs, atol, rtol, prefix=""):
    """(checks, kink crossings) of every layer of two twin networks on the same inputs."""
    inputs = tuple(np.asarray(x) for x in (inputs if isinstance(inputs, (tuple, list)) else (inputs,)))
    kinked = lambda layer: isinstance(layer, KINKS)
    ms_trace, torch_trace = trace(ms_net, inputs, kinked), trace(torch_net, inputs, kinked)
    return compare_traces(ms_trace, torch_trace, atol, rtol, prefix), kink_crossings(ms_trace.inputs, torch_trace.inputs)


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


def main(args):
    from parity.common.files import write_text_atomic
    from parity.report import format_markdown, format_table, write_json

    notes = []
    twins = Twins(args.model, args.seed, args.device)
    checks = check_twins_layers(twins, args.batch, args.seed, notes=notes)
    first = first_diverging(checks)
    print(f"parity check --layers: {args.model}, MindSpore {ms.__version__} on {args.device}, "
          f"PyTorch {torch.__version__}, batch {args.batch}, seed {args.seed}")
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
