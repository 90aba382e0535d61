"""`python -m parity check MODEL`: the same weights and inputs through both twins.

Compares, in this order: outputs in eval mode (every head of D); outputs in train mode
and the BatchNorm running statistics that one train-mode forward leaves; D's loss on real
and fake (and, for models whose D loss has parts, such as sgan's adversarial and class
terms, each part) and G's loss; the gradient of every trainable parameter of both
networks under each of those losses.

The pair under test, its inputs, tolerances and kink rule are parity/twins.py's; in
the check's parity mode the twins' dropout is off, and the check says so in its notes.
"""
import copy

import mindspore as ms
import numpy as np
import torch

import ms_gan.losses
import torch_gan.losses
from ms_gan.init import state_arrays as ms_state
from parity.report import Check, compare
from parity.twins import (GRAD_TOL, MS_KINKS, OUTPUT_TOL, TORCH_KINKS, Twins, draw_labels, kink_crossings, redrawn,
                          to_numpy as _np)
from torch_gan.init import state_arrays as torch_state


def _d_objectives(losses):
    """[(loss name prefix, gradient row prefix, fn)]: D's loss, then each of its parts."""
    return [("D", "D", losses.discriminator_loss)] + [
        (f"D {part}", f"D {part}-loss", fn) for part, fn in losses.parts.items()]


def _ms_losses_and_grads(twins, real, fake, z, labels=None):
    g, d = twins.ms_g, twins.ms_d
    model_losses = ms_gan.losses.for_model(twins.config.name)
    d_params = [p for p in d.trainable_params()]
    g_params = [p for p in g.trainable_params()]
    ms_labels = None if labels is None else twins.ms_tensor(labels)
    losses, grads = {}, {}
    for prefix, grad_prefix, fn in _d_objectives(model_losses):
        def d_objective(real, fake, fn=fn):
            real_loss, fake_loss, loss = fn(d(real), d(fake), ms_labels)
            return loss, real_loss, fake_loss

        (d_loss, real_loss, fake_loss), d_grads = ms.value_and_grad(d_objective, None, d_params, has_aux=True)(
            twins.ms_tensor(real), twins.ms_tensor(fake))
        losses.update({f"{prefix} loss real": real_loss, f"{prefix} loss fake": fake_loss, f"{prefix} loss": d_loss})
        grads[grad_prefix] = [_np(x) for x in d_grads]

    def g_objective(z):
        return model_losses.generator_loss(d(g(z)))

    losses["G loss"], g_grads = ms.value_and_grad(g_objective, None, g_params)(twins.ms_tensor(z))
    grads["G"] = [_np(x) for x in g_grads]
    return {k: _np(v) for k, v in losses.items()}, grads


def _torch_losses_and_grads(twins, real, fake, z, labels=None):
    g, d = twins.torch_g, twins.torch_d
    model_losses = torch_gan.losses.for_model(twins.config.name)
    torch_labels = None if labels is None else twins.torch_tensor(labels)
    losses, grads = {}, {}
    for prefix, grad_prefix, fn in _d_objectives(model_losses):
        real_loss, fake_loss, d_loss = fn(d(twins.torch_tensor(real)), d(twins.torch_tensor(fake)), torch_labels)
        # a part of D's loss leaves the other head's parameters out: their gradient is 0
        grads[grad_prefix] = [_np(x) for x in torch.autograd.grad(
            d_loss, [p for p in d.parameters() if p.requires_grad], allow_unused=True, materialize_grads=True)]
        losses.update({f"{prefix} loss real": real_loss, f"{prefix} loss fake": fake_loss, f"{prefix} loss": d_loss})
    losses["G loss"] = model_losses.generator_loss(d(g(twins.torch_tensor(z))))
    grads["G"] = [_np(x) for x in torch.autograd.grad(losses["G loss"], [p for p in g.parameters() if p.requires_grad])]
    return {k: _np(v) for k, v in losses.items()}, grads


def _trainable_names(ms_net):
    return [name for name, p in ms_net.parameters_and_names() if p.requires_grad]


def run_check(model="dcgan", device="CPU", batch=8, seed=0, notes=None):
    """Run every comparison on twins made from `seed`; returns a list of parity.report.Check."""
    return check_twins(Twins(model, seed, device), batch, seed, notes)


# Names of a network's outputs when it returns several (sgan's D: probability, class logits).
HEAD_NAMES = ("output", "class logits")


def _heads(out):
    outs = out if isinstance(out, tuple) else (out,)
    return [(HEAD_NAMES[i], _np(o)) for i, o in enumerate(outs)]


def forward_checks(twins, z, real, notes=None):
    """Outputs of G and D (every head) in eval mode, then in train mode, and the running
    statistics one train-mode forward leaves. Returns (checks, G's train-mode output
    from MindSpore). An output compared with float64 instead (_against_float64) is said
    in `notes`."""
    inputs = {"G": z, "D": real}
    checks = []
    for mode in ("eval", "train"):
        twins.set_train(mode == "train")
        for net, (ms_net, torch_net) in twins.pairs().items():
            x = inputs[net]
            heads_ms = _heads(ms_net(twins.ms_tensor(x)))
            heads_torch = _heads(torch_net(twins.torch_tensor(x)))
            for i, ((head, out_ms), (_, out_torch)) in enumerate(zip(heads_ms, heads_torch)):
                check = compare(f"{net} {head}, {mode} mode", out_ms, out_torch, OUTPUT_TOL)
                if not check.passed and np.isfinite(out_ms).all():
                    exact = _against_float64(check, out_ms, torch_net, x, i)
                    if notes is not None:
                        notes.append(f"{check.name}: the frameworks are {check.max_abs:.2e} apart; MindSpore "
                                     f"is {exact.max_abs:.2e} from a float64 run of the PyTorch twin, which "
                                     f"the check compares with instead")
                    check = exact
                checks.append(check)
            if net == "G" and mode == "train":
                fake = heads_ms[0][1]
    for net, (ms_net, torch_net) in twins.pairs().items():
        ms_stats, torch_stats = ms_state(ms_net), torch_state(torch_net)
        for name in ms_stats:
            if name.endswith(("moving_mean", "moving_variance")):
                checks.append(compare(f"{net} {name} after a train step", ms_stats[name],
                                      torch_stats[name], OUTPUT_TOL))
    return checks, fake


def _against_float64(check, out_ms, torch_net, x, head):
    """An output the frameworks part on by more than OUTPUT_TOL, compared instead with the
    exact answer: a float64 copy of the PyTorch twin (same weights, statistics and modes)
    on the same input. Measured on dcgan_mnist's G in train mode (BatchNorm1d over ReLU
    outputs, batch 4): each float32 framework lies 5-6e-6 from float64, so on some CPUs
    they lie 1.02e-5 from each other; a real port difference lies far from float64 too.
    The check keeps its name and tolerance and measures MindSpore against float64."""
    exact = copy.deepcopy(torch_net).double()     # deepcopy keeps each layer's train/eval mode
    with torch.no_grad():
        out_exact = _heads(exact(torch.from_numpy(np.asarray(x, np.float64)).to(
            next(exact.parameters()).device)))[head][1]
    return compare(check.name, out_ms, out_exact, OUTPUT_TOL)


def _kink_inputs(nets, kink_types, calls):
    """[(layer, input)] of every kinked activation, in call order, while running `calls`."""
    seen = []
    handles = []
    for net_name, net in nets.items():
        named = net.cells_and_names() if isinstance(net, ms.nn.Cell) else net.named_modules()
        for layer, cell in named:
            if isinstance(cell, kink_types):
                hook = (lambda name: lambda _cell, inputs, _out: seen.append((name, _np(inputs[0]))))(
                    f"{net_name} {layer}")
                handles.append(cell.register_forward_hook(hook))
    try:
        calls()
    finally:
        for handle in handles:
            handle.remove()
    return seen


def forward_crossings(twins, z, real, fake):
    """parity.twins.kink_crossings over every forward the loss and gradient checks make:
    D on real and on the fakes, and D(G(z)). Twins whose kinked activations differ (one
    that the other lacks, or a hook that did not fire) are a RuntimeError, not a pass."""
    ms_g, ms_d = twins.ms_g, twins.ms_d
    torch_g, torch_d = twins.torch_g, twins.torch_d
    ms_seen = _kink_inputs({"G": ms_g, "D": ms_d}, MS_KINKS, lambda: [
        ms_d(twins.ms_tensor(real)), ms_d(twins.ms_tensor(fake)), ms_d(ms_g(twins.ms_tensor(z)))])
    with torch.no_grad():
        torch_seen = _kink_inputs({"G": torch_g, "D": torch_d}, TORCH_KINKS, lambda: [
            torch_d(twins.torch_tensor(real)), torch_d(twins.torch_tensor(fake)),
            torch_d(torch_g(twins.torch_tensor(z)))])
    if [layer for layer, _ in ms_seen] != [layer for layer, _ in torch_seen]:
        raise RuntimeError(f"the twins ran different kinked activations: MindSpore {[n for n, _ in ms_seen]}, "
                           f"PyTorch {[n for n, _ in torch_seen]}")
    crossings = {}
    for i, ((layer, a), (_, b)) in enumerate(zip(ms_seen, torch_seen)):   # a layer runs in several forwards
        for name, (count, size) in kink_crossings({i: a}, {i: b}).items():
            total, largest = crossings.get(layer, (0, 0.0))
            crossings[layer] = (total + count, max(largest, size))
    return crossings


def biases_before_batchnorm(torch_net, x):
    """Names of the biases whose gradient is exactly 0 in train mode: of a Linear/Conv
    layer whose output goes straight into a BatchNorm over the same features (the batch
    mean subtracts any per-feature constant). Found from the order the layers run in."""
    calls = []
    leaves = [(name, m) for name, m in torch_net.named_modules() if not list(m.children())]
    handles = [m.register_forward_hook((lambda name: lambda m, i, o: calls.append((name, m)))(name))
               for name, m in leaves]
    was_training = torch_net.training
    try:
        torch_net.eval()            # the same order, without touching the running statistics
        with torch.no_grad():
            torch_net(x)
    finally:
        torch_net.train(was_training)
        for handle in handles:
            handle.remove()
    return [f"{name}.bias" for (name, layer), (_, after) in zip(calls, calls[1:])
            if isinstance(after, torch.nn.modules.batchnorm._BatchNorm)
            and getattr(layer, "bias", None) is not None and layer.bias.shape == (after.num_features,)]


def _compare_zero(name, ms_grad, torch_grad, scale):
    """A gradient that is 0 in exact arithmetic: both frameworks' values must be float32
    residue, at most GRAD_TOL of `scale` (the largest gradient of the layer's weight). Their
    ratio to each other is residue over residue and means nothing."""
    a, b = np.asarray(ms_grad, np.float64), np.asarray(torch_grad, np.float64)
    size = max(float(np.abs(a).max()), float(np.abs(b).max()))
    rel = size / scale if scale > 0 else (0.0 if size == 0 else float("inf"))
    passed = bool(np.isfinite(a).all() and np.isfinite(b).all() and rel <= GRAD_TOL)
    return Check(name, float(np.abs(a - b).max()), rel, GRAD_TOL, "rel", passed)


def check_twins(twins, batch=8, seed=0, notes=None):
    """Run every comparison on given twins (weights as they are, running statistics
    made non-trivial from `seed`). Inputs are redrawn while float32 rounding puts an
    activation on opposite sides of a ReLU kink in the two frameworks; what was
    redrawn and why is appended to `notes`."""
    notes = [] if notes is None else notes
    if twins.dropout_off and twins.dropout_layers():
        notes.append("dropout (" + ", ".join(twins.dropout_layers()) + ") is off in the train-mode "
                     "comparisons, BatchNorm in train mode: its masks come from the training step "
                     "(drawn from the run's seed), which a call of the networks outside one has not; "
                     "tests/models/test_dropout.py compares the twins' steps with dropout on")

    def attempt(z, real):
        draw_notes = []
        checks, fake = forward_checks(twins, z, real, draw_notes)  # both D twins judge the same fakes
        crossings = forward_crossings(twins, z, real, fake)
        reason = "; ".join(f"{n} input(s) of {layer} on opposite sides of 0, within {size:.1e} of it"
                           for layer, (n, size) in crossings.items())
        return (checks, fake, draw_notes), reason or None

    (checks, fake, draw_notes), z, real, draw = redrawn(twins, batch, seed, attempt, notes)
    notes.extend(draw_notes)

    labels = draw_labels(twins.config, batch, [seed + 5, draw])
    ms_losses, ms_grads = _ms_losses_and_grads(twins, real, fake, z, labels)
    torch_losses, torch_grads = _torch_losses_and_grads(twins, real, fake, z, labels)
    for name in ms_losses:
        checks.append(compare(name, ms_losses[name], torch_losses[name], OUTPUT_TOL))
    names = {"D": _trainable_names(twins.ms_d), "G": _trainable_names(twins.ms_g)}
    zero = {"G": biases_before_batchnorm(twins.torch_g, twins.torch_tensor(z)),
            "D": biases_before_batchnorm(twins.torch_d, twins.torch_tensor(real))}
    if zero["G"] or zero["D"]:
        notes.append("exactly 0 in train mode, so compared as zero (both frameworks' values at most "
                     f"{GRAD_TOL:g} of the largest gradient of the layer's weight): the gradients of "
                     + ", ".join(f"{net} {name}" for net in zero for name in zero[net])
                     + ", biases feeding straight into a BatchNorm")
    for prefix in ms_grads:
        net = prefix[0]
        torch_by_name = dict(zip(names[net], torch_grads[prefix]))
        for name, ms_grad, torch_grad in zip(names[net], ms_grads[prefix], torch_grads[prefix]):
            if name in zero[net]:
                scale = float(np.abs(torch_by_name[name[:-len("bias")] + "weight"]).max())
                checks.append(_compare_zero(f"{prefix} grad {name} (= 0)", ms_grad, torch_grad, scale))
            else:
                checks.append(compare(f"{prefix} grad {name}", ms_grad, torch_grad, GRAD_TOL, measure="rel"))
    return checks


def main(args):
    from parity.common.files import write_text_atomic
    from parity.report import format_markdown, format_table, write_json

    notes = []
    checks = run_check(args.model, args.device, args.batch, args.seed, notes)
    print(f"parity check: {args.model}, MindSpore {ms.__version__} on {args.device}, "
          f"PyTorch {torch.__version__}, batch {args.batch}, seed {args.seed}")
    print(format_table(checks))
    for note in notes:
        print("note:", note)
    if args.json:
        write_json(args.json, args.model, args.device, checks, batch=args.batch, seed=args.seed, notes=notes)
    if args.markdown:
        write_text_atomic(args.markdown, format_markdown(f"parity check {args.model} ({args.device})", checks))
    return 0 if all(c.passed for c in checks) else 1
