"""`python -m parity bench-ops`: the native kernels that are not convolutions (docs/native.md),
per op at each model's training batch, against MindSpore's own ops and PyTorch's, side by side
in one run: median milliseconds.

- every Dense layer of the models: forward (x w^T + b), input gradient, weight and bias
  gradient; MindSpore's own as nn.Dense runs them (MatMul and BiasAdd; MatMul; MatMul and
  BiasAddGrad), PyTorch's as torch.nn.Linear's autograd does;
- each network's Adam step over all its parameters, on the gradients of one batch:
  mint.optim.Adam, the native one (ms_gan.native.adam.Adam, the same bits), torch.optim.Adam.

Every MindSpore op runs under ms.jit (as in the train step); implementations are timed in
turns, so a busy machine slows them alike: compare the ratios of one run.
"""
import os

import mindspore as ms
import numpy as np
import torch
from mindspore import mint, nn, ops
from mindspore.ops.operations import _grad_ops

import ms_gan.models
from ms_gan import native
from ms_gan.device import use_device
from ms_gan.models import layers
from ms_gan.native.adam import Adam
from parity.bench import TRAINING_BATCH, model_names
from parity.bench_convs import timed
from parity.common.files import write_json_atomic

OPS = ("forward", "input gradient", "weight gradient")
IMPLEMENTATIONS = ("mindspore", "native", "torch")


def dense_layers(model):
    """[(name, in features, out features)] of the model's Dense layers (their input is 2-d)."""
    return [(f"{net_name} {name}", cell.in_channels, cell.out_channels)
            for net_name, net in zip("GD", ms_gan.models.build(model, seed=0))
            for name, cell in net.cells_and_names() if isinstance(cell, nn.Dense)]


def _wait(out):
    for t in out if isinstance(out, (tuple, list)) else (out,):
        t.asnumpy()


def dense_runs(library, batch, in_features, out_features):
    """{op: {implementation: fn()}} for one Dense geometry on random data."""
    rng = np.random.default_rng(0)
    x, w, b, dy = (rng.standard_normal(s, dtype=np.float32)
                   for s in ((batch, in_features), (out_features, in_features), (out_features,),
                             (batch, out_features)))
    mx, mw, mb, mdy = (ms.Tensor(a) for a in (x, w, b, dy))
    tx, tw, tb, tdy = (torch.from_numpy(a) for a in (x, w, b, dy))
    kernel = layers.NativeDenseBiasKernel(library, (out_features, in_features), True)
    matmul_t, matmul, matmul_ta = ops.MatMul(transpose_b=True), ops.MatMul(), ops.MatMul(transpose_a=True)
    bias_add_grad = _grad_ops.BiasAddGrad()

    def own_forward(x, w, b):
        return ops.bias_add(matmul_t(x, w), b)

    def own_input(dy, w):
        return matmul(dy, w)

    def own_weight(x, dy):
        return matmul_ta(dy, x), bias_add_grad(dy)

    def native_forward(x, w, b):
        return kernel.forward(x, w, b)

    def native_input(dy, w):
        return kernel.backward_data(dy, w)

    def native_weight(x, dy):
        return kernel.backward_weights(x, dy)

    def run(fn, *args):
        jitted = ms.jit(fn)
        return lambda: _wait(jitted(*args))
    return {"forward": {"mindspore": run(own_forward, mx, mw, mb), "native": run(native_forward, mx, mw, mb),
                        "torch": lambda: torch.nn.functional.linear(tx, tw, tb)},
            "input gradient": {"mindspore": run(own_input, mdy, mw), "native": run(native_input, mdy, mw),
                               "torch": lambda: tdy @ tw},
            "weight gradient": {"mindspore": run(own_weight, mx, mdy), "native": run(native_weight, mx, mdy),
                                "torch": lambda: (tdy.t() @ tx, tdy.sum(0))}}


def adam_runs(net):
    """{implementation: fn()}: one Adam step over the network's parameters (copies), lr 2e-4,
    betas (0.5, 0.999), on fixed random gradients."""
    rng = np.random.default_rng(0)
    values = [p.asnumpy() for p in net.trainable_params()]
    grads = [rng.standard_normal(v.shape, dtype=np.float32) for v in values]
    runs = {}
    for name, optimizer_class in (("mindspore", mint.optim.Adam), ("native", Adam)):
        params = [ms.Parameter(ms.Tensor(v.copy()), f"{name}.{i}") for i, v in enumerate(values)]
        optimizer = optimizer_class(params, lr=2e-4, betas=(0.5, 0.999))

        def step(gradients, optimizer=optimizer):
            return optimizer(gradients)
        jitted = ms.jit(step)
        gradients = ms.mutable(tuple(ms.Tensor(g) for g in grads))
        # the step returns a constant: wait for its last write instead
        runs[name] = lambda jitted=jitted, gradients=gradients, params=params: (jitted(gradients),
                                                                                params[-1].asnumpy())
    torch_params = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    for p, g in zip(torch_params, grads):
        p.grad = torch.from_numpy(g)
    torch_optimizer = torch.optim.Adam(torch_params, lr=2e-4, betas=(0.5, 0.999))
    runs["torch"] = torch_optimizer.step
    return runs


def run_bench_ops(models, repeats, log=print):
    use_device("CPU")
    library = native.library()
    if library is None:
        raise SystemExit(f"parity bench-ops: the native kernels are off ({native.state()[1]})")
    result = {"load_average": os.getloadavg(), "dense": [], "adam": [], "torch_threads": torch.get_num_threads()}
    seen = {}
    for model in models:
        batch = TRAINING_BATCH[model]
        for name, in_features, out_features in dense_layers(model):
            key = (batch, in_features, out_features)
            if key in seen:
                seen[key]["layers"].append(f"{model} {name}")
                continue
            log(f"timing {model} {name} Dense {in_features} -> {out_features} at batch {batch} ...")
            row = {"layers": [f"{model} {name}"], "batch": batch, "in": in_features, "out": out_features,
                   "ms": {op: timed(runs, repeats)
                          for op, runs in dense_runs(library, batch, in_features, out_features).items()}}
            seen[key] = row
            result["dense"].append(row)
        for net_name, net in zip("GD", ms_gan.models.build(model, seed=0)):
            params = net.trainable_params()
            log(f"timing {model} {net_name} Adam step ({len(params)} parameters) ...")
            result["adam"].append({"network": f"{model} {net_name}", "parameters": len(params),
                                   "elements": int(sum(np.prod(p.shape) for p in params)),
                                   "ms": timed(adam_runs(net), repeats)})
    result["load_average_after"] = os.getloadavg()
    return result


def _ratios(t):
    return f"{t['native'] / t['mindspore']:.2f} | {t['native'] / t['torch']:.2f}"


def format_result(result):
    lines = [f"parity bench-ops: MindSpore {ms.__version__} own ops, native (docs/native.md), "
             f"PyTorch {torch.__version__} ({result['torch_threads']} threads); median ms; load average "
             f"{result['load_average'][0]:.1f} at the start, {result['load_average_after'][0]:.1f} at the end",
             "",
             "| Dense layer (training batch) | in -> out | op | MindSpore | native | PyTorch | native / MindSpore "
             "| native / PyTorch |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    totals = dict.fromkeys(IMPLEMENTATIONS, 0.0)
    for row in result["dense"]:
        for op in OPS:
            t = row["ms"][op]
            for k in totals:
                totals[k] += t[k]
            lines.append(f"| {', '.join(row['layers'])} (N={row['batch']}) | {row['in']} -> {row['out']} | {op} "
                         f"| {t['mindspore']:.3f} | {t['native']:.3f} | {t['torch']:.3f} | {_ratios(t)} |")
    lines.append(f"| all | | | {totals['mindspore']:.2f} | {totals['native']:.2f} | {totals['torch']:.2f} "
                 f"| {_ratios(totals)} |")
    lines += ["", "| Adam step | parameters (elements) | MindSpore (mint.optim.Adam) | native | PyTorch "
              "| native / MindSpore | native / PyTorch |", "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["adam"]:
        t = row["ms"]
        lines.append(f"| {row['network']} | {row['parameters']} ({row['elements']:,}) | {t['mindspore']:.3f} "
                     f"| {t['native']:.3f} | {t['torch']:.3f} | {_ratios(t)} |")
    return "\n".join(lines)


def main(args):
    result = run_bench_ops(model_names(args.model), args.repeats)
    print(format_result(result))
    if args.json:
        write_json_atomic(args.json, result)
    return 0
