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

from parity.common.layer_rules import translate
from parity.pairing import layer_pairs, setting_mismatches
from parity.report import Check, close
from parity.tracing import Trace, cotangent, flat_outputs, leaves, projected_loss, trace  # noqa: F401 (this module's API)
from parity.twins import GRAD_TOL, MS_KINKS, OUTPUT_TOL, TORCH_KINKS, Twins, kink_crossings, redrawn

KINKS = MS_KINKS + TORCH_KINKS   # parity/twins.py: why rounding there is not a port error


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
    kinked = lambda layer: isinstance(layer, KINKS)
    ms_trace, torch_trace = trace(ms_net, inputs, kinked), trace(torch_net, inputs, kinked)
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
