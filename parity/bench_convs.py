"""`python -m parity bench-convs`: every convolution of the models at its training batch, per
op (forward, input gradient, weight gradient), MindSpore's own kernels against the native ones
(docs/native.md) and PyTorch's, side by side in one run: median milliseconds.

A transposed convolution is timed as the convolution it is the data gradient of (its forward
is that convolution's input gradient, and the reverse). The three implementations of each op
are timed in turns, so a busy machine slows them alike: compare the ratios of one run.
"""
import os
import statistics
import time

import mindspore as ms
import numpy as np
import torch
from mindspore import ops
from mindspore.ops.operations import _grad_ops

import ms_gan.models
from ms_gan import native
from ms_gan.device import use_device
from ms_gan.models import layers
from parity.bench import TRAINING_BATCH, model_names
from parity.common.configs import get_config
from parity.common.files import write_json_atomic

OPS = ("forward", "input gradient", "weight gradient")


def convolutions(model, batch):
    """[(name, layer, input shape)] of the model's convolutions as they run on a batch,
    found by running G and D once in PyNative mode with hooks."""
    config = get_config(model)
    found = []
    nets = ms_gan.models.build(model, seed=0)
    inputs = [np.zeros((batch, *config.noise_shape), np.float32), np.zeros((batch, *config.image_shape), np.float32)]
    for net_name, net, x in zip("GD", nets, inputs):
        handles = []
        for name, cell in net.cells_and_names():
            if isinstance(cell, (layers.Conv2d, layers.Conv2dTranspose)):
                def hook(cell, args, name=f"{net_name} {name}"):
                    found.append((name, cell, tuple(args[0].shape)))
                handles.append(cell.register_forward_pre_hook(hook))
        net.set_train(False)
        net(ms.Tensor(x))
        for handle in handles:
            handle.remove()
    return found


def geometry(layer, x_shape):
    """The convolution's (x shape, weight shape, y shape, stride, (top, bottom, left, right)):
    for a transposed layer, the convolution it is the data gradient of."""
    kernel = layer.kernel
    sh, sw, top, left, bottom, right, kh, kw = kernel.config.asnumpy().tolist()
    w = tuple(layer.weight.shape)
    if isinstance(layer, layers.Conv2dTranspose):
        y = x_shape
        x = (x_shape[0], w[1], (y[2] - 1) * sh - top - bottom + kh, (y[3] - 1) * sw - left - right + kw)
    else:
        x = x_shape
        y = (x[0], w[0], (x[2] + top + bottom - kh) // sh + 1, (x[3] + left + right - kw) // sw + 1)
    return x, w, y, (sh, sw), (top, bottom, left, right)


def op_runs(library, x_shape, w_shape, y_shape, stride, pads):
    """{op: {implementation: fn()}} for one convolution geometry on random data."""
    rng = np.random.default_rng(0)
    x, w, dy = (rng.standard_normal(s, dtype=np.float32) for s in (x_shape, w_shape, y_shape))
    mx, mw, mdy = (ms.Tensor(a) for a in (x, w, dy))
    tx, tw, tdy = (torch.from_numpy(a) for a in (x, w, dy))
    top, bottom, left, right = pads
    o, c, kh, kw = w_shape
    conv = ops.Conv2D(o, (kh, kw), pad_mode="pad", pad=pads, stride=stride)
    input_grad = ops.Conv2DBackpropInput(o, (kh, kw), pad_mode="pad", pad=pads, pad_list=pads, stride=stride)
    filter_grad = _grad_ops.Conv2DBackpropFilter(o, (kh, kw), pad_mode="pad", pad=pads, pad_list=pads, stride=stride)
    kernel = layers.NativeConv2dKernel(library, w_shape, stride, pads)

    def native_forward(x, w):
        return kernel.forward(x, w, kernel.config)

    def native_input(dy, w, x):
        return kernel.backward_data(dy, w, x, kernel.config)

    def native_weight(x, dy):
        return kernel.backward_weights(x, dy, kernel.config)

    def own_forward(x, w):
        return conv(x, w)

    def own_input(dy, w):
        return input_grad(dy, w, x_shape)

    def own_weight(dy, x):
        return filter_grad(dy, x, w_shape)

    # PyTorch pads symmetrically; an asymmetric "valid" floor is the same as padding (top, left)
    torch_pad = (top, left)

    def torch_input():
        return torch.nn.grad.conv2d_input(x_shape, tw, tdy, stride=stride, padding=torch_pad)

    def wait(fn, *args):
        jitted = ms.jit(fn)
        return lambda: jitted(*args).asnumpy()
    return {"forward": {"mindspore": wait(own_forward, mx, mw), "native": wait(native_forward, mx, mw),
                        "torch": lambda: torch.nn.functional.conv2d(tx, tw, stride=stride, padding=torch_pad)},
            "input gradient": {"mindspore": wait(own_input, mdy, mw), "native": wait(native_input, mdy, mw, mx),
                               "torch": torch_input},
            "weight gradient": {"mindspore": wait(own_weight, mdy, mx), "native": wait(native_weight, mx, mdy),
                                "torch": lambda: torch.nn.grad.conv2d_weight(tx, w_shape, tdy, stride=stride,
                                                                             padding=torch_pad)}}


def timed(runs, repeats):
    """{name: median ms} of runs {name: fn()}, in turns after one untimed call of each."""
    for fn in runs.values():
        fn()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append(1000 * (time.perf_counter() - start))
    return {name: statistics.median(t) for name, t in times.items()}


def run_bench_convs(models, repeats, log=print):
    use_device("CPU")
    library = native.library()
    if library is None:
        raise SystemExit(f"parity bench-convs: the native kernels are off ({native.state()[1]})")
    result = {"load_average": os.getloadavg(), "rows": [], "torch_threads": torch.get_num_threads()}
    seen = {}
    for model in models:
        batch = TRAINING_BATCH[model]
        for name, layer, x_shape in convolutions(model, batch):
            x, w, y, stride, pads = geometry(layer, x_shape)
            key = (x, w, y, stride, pads)
            if key in seen:
                seen[key]["layers"].append(f"{model} {name}")
                continue
            log(f"timing {model} {name} {x} -> {y} ...")
            row = {"layers": [f"{model} {name}"], "transposed": isinstance(layer, layers.Conv2dTranspose),
                   "x": x, "w": w, "y": y, "stride": stride, "pads": pads,
                   "ms": {op: timed(runs, repeats) for op, runs in op_runs(library, x, w, y, stride, pads).items()}}
            seen[key] = row
            result["rows"].append(row)
    result["load_average_after"] = os.getloadavg()
    return result


def format_result(result):
    lines = [f"parity bench-convs: MindSpore {ms.__version__} own kernels, native (docs/native.md), "
             f"PyTorch {torch.__version__} ({result['torch_threads']} threads); median ms; load average "
             f"{result['load_average'][0]:.1f} at the start, {result['load_average_after'][0]:.1f} at the end",
             "| layer (training batch) | convolution x -> y | op | MindSpore | native | PyTorch | native / MindSpore "
             "| native / PyTorch |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    totals = {"mindspore": 0.0, "native": 0.0, "torch": 0.0}
    for row in result["rows"]:
        shape = f"{row['x'][1]}x{row['x'][2]}x{row['x'][3]} -> {row['y'][1]}x{row['y'][2]}x{row['y'][3]}, " \
                f"k{row['w'][2]} s{row['stride'][0]}"
        roles = dict(zip(OPS, ("input gradient", "forward", "weight gradient"))) if row["transposed"] else \
            dict(zip(OPS, OPS))
        for op in OPS:
            t = row["ms"][op]
            for k in totals:
                totals[k] += t[k]
            label = f"{op} (transposed: {roles[op]})" if row["transposed"] else op
            lines.append(f"| {', '.join(row['layers'])} (N={row['x'][0]}) | {shape} | {label} | {t['mindspore']:.2f} "
                         f"| {t['native']:.2f} | {t['torch']:.2f} | {t['native'] / t['mindspore']:.2f} "
                         f"| {t['native'] / t['torch']:.2f} |")
    lines.append(f"| all | | | {totals['mindspore']:.1f} | {totals['native']:.1f} | {totals['torch']:.1f} "
                 f"| {totals['native'] / totals['mindspore']:.2f} | {totals['native'] / totals['torch']:.2f} |")
    return "\n".join(lines)


def main(args):
    result = run_bench_convs(model_names(args.model), args.repeats)
    print(format_result(result))
    if args.json:
        write_json_atomic(args.json, result)
    return 0
