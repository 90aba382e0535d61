"""Stand-alone reproducer: MindSpore 2.8.0 CPU ops that run far behind PyTorch's, and the
same math in another MindSpore formulation.

    python docs/repro/mindspore_cpu_slow_ops.py [--repeats 7]
    python docs/repro/mindspore_cpu_slow_ops.py --trace

`--trace` shows why the convolutions are slow: one stride-2 convolution, forward and both
gradients, under oneDNN's verbose log (DNNL_VERBOSE=1 for MindSpore's bundled oneDNN 2.2,
ONEDNN_VERBOSE=1 for PyTorch's), one line per oneDNN kernel run: MindSpore runs each as
`gemm:jit` (im2col and a matrix product) on plain `abcd`; PyTorch as direct kernels on
blocked layouts.

Needs only mindspore, torch and numpy (not this project). Each row times one op forward
(or forward and backward) under ms.jit against PyTorch eager on the same float32 data,
median wall milliseconds of the repeats, the implementations taken in turns so that a busy
machine slows them alike. Results measured on the project's machine are in
docs/bench_ops.md.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import mindspore as ms
import numpy as np
import torch
from mindspore import mint, ops
from mindspore.ops.operations import _grad_ops

N, C, O, H = 32, 128, 64, 32     # the README job's largest layer: cnn_gan's Conv2d(128, 64, 3, 1, 1) at 32x32


def timed(fns, repeats):
    """{name: median ms} of fns {name: fn() -> anything with a result to wait for}."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


def ms_call(fn, *args):
    jitted = ms.jit(fn)
    tensors = [ms.Tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    return lambda: _wait(jitted(*tensors))


def _wait(out):
    for t in out if isinstance(out, (tuple, list)) else (out,):
        t.asnumpy()


TRACED = """
import mindspore as ms, numpy as np, torch
from mindspore import nn
ms.set_device("CPU")
x = np.random.default_rng(0).standard_normal((32, 64, 16, 16)).astype(np.float32)
conv = nn.Conv2d(64, 128, 4, 2, pad_mode="pad", padding=1)


def loss(x):
    return (conv(x) ** 2).sum()


grad = ms.jit(ms.grad(loss, 0, conv.trainable_params()))
tconv = torch.nn.Conv2d(64, 128, 4, 2, 1)
tx = torch.from_numpy(x).requires_grad_()
for _ in range(2):
    grad(ms.Tensor(x))[0].asnumpy()
    (tconv(tx) ** 2).sum().backward()
"""


def trace():
    """The last run's oneDNN verbose lines of both frameworks for one Conv2d(64, 128, 4, 2, 1)."""
    env = {**os.environ, "DNNL_VERBOSE": "1", "ONEDNN_VERBOSE": "1"}
    with tempfile.TemporaryDirectory() as folder:       # ms.jit compiles from a source file
        script = os.path.join(folder, "traced.py")
        with open(script, "w") as f:
            f.write(TRACED)
        out = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True).stdout
    runs = [line for line in out.splitlines() if line.startswith(("dnnl_verbose,exec", "onednn_verbose,"))
            and ",exec," in line]
    for line in runs[len(runs) // 2:]:
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--trace", action="store_true", help="the oneDNN verbose lines of one convolution")
    args = parser.parse_args()
    if args.trace:
        return trace()
    ms.set_device("CPU")
    torch.set_num_threads(os.cpu_count())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, H), dtype=np.float32)
    w = rng.standard_normal((O, C, 3, 3), dtype=np.float32) * 0.05
    dy = rng.standard_normal((N, O, H, H), dtype=np.float32)
    flipped = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
    tx, tw, tdy = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(dy)

    conv = ops.Conv2D(O, 3, pad_mode="pad", pad=1)
    conv_as_input_grad = ops.Conv2D(C, 3, pad_mode="pad", pad=1)
    input_grad = ops.Conv2DBackpropInput(O, 3, pad_mode="pad", pad=1)
    filter_grad = _grad_ops.Conv2DBackpropFilter(O, 3, pad_mode="pad", pad=(1,) * 4, pad_list=(1,) * 4)

    def ms_conv(x, w):
        return conv(x, w)

    def ms_input_grad(dy, w):
        return input_grad(dy, w, (N, C, H, H))

    def ms_input_grad_as_conv(dy, w_flipped):
        return conv_as_input_grad(dy, w_flipped)

    def ms_filter_grad(dy, x):
        return filter_grad(dy, x, (O, C, 3, 3))

    rows = []

    def row(what, ms_ms, torch_ms):
        rows.append((what, ms_ms, torch_ms))

    t = timed({"ms": ms_call(ms_conv, x, w),
               "ms dgrad": ms_call(ms_input_grad, dy, w),
               "ms dgrad as conv": ms_call(ms_input_grad_as_conv, dy, flipped),
               "ms wgrad": ms_call(ms_filter_grad, dy, x),
               "torch": lambda: torch.nn.functional.conv2d(tx, tw, padding=1),
               "torch dgrad": lambda: torch.nn.grad.conv2d_input(tx.shape, tw, tdy, padding=1),
               "torch wgrad": lambda: torch.nn.grad.conv2d_weight(tx, tw.shape, tdy, padding=1)}, args.repeats)
    row(f"Conv2D forward, ({N},{C},{H},{H}) 3x3 -> {O}", t["ms"], t["torch"])
    row("Conv2DBackpropInput (the input gradient)", t["ms dgrad"], t["torch dgrad"])
    row("  the same as a forward Conv2D (flipped weights)", t["ms dgrad as conv"], t["torch dgrad"])
    row("Conv2DBackpropFilter (the weight gradient)", t["ms wgrad"], t["torch wgrad"])

    big = rng.standard_normal((N, C, H + 2, H + 2), dtype=np.float32)
    tbig = torch.from_numpy(big)

    def ms_slice(x):
        return x[:, :, 1:1 + H, 2:2 + H]

    def ms_pad(x):
        return ops.pad(x, (1, 1, 1, 1))

    def ms_sum(x):
        return x.sum()

    def ms_channel_sum(x):
        return x.sum(axis=(0, 2, 3))

    t = timed({"ms slice": ms_call(ms_slice, big), "torch slice": lambda: tbig[:, :, 1:1 + H, 2:2 + H].contiguous(),
               "ms pad": ms_call(ms_pad, big), "torch pad": lambda: torch.nn.functional.pad(tbig, (1, 1, 1, 1)),
               "ms sum": ms_call(ms_sum, big), "torch sum": lambda: tbig.sum(),
               "ms csum": ms_call(ms_channel_sum, big), "torch csum": lambda: tbig.sum(dim=(0, 2, 3))},
              args.repeats)
    row(f"StridedSlice of 4 axes, ({N},{C},{H + 2},{H + 2})", t["ms slice"], t["torch slice"])
    row("Pad of the last 2 axes", t["ms pad"], t["torch pad"])
    row("ReduceSum of all", t["ms sum"], t["torch sum"])
    row("ReduceSum per channel, axes (0, 2, 3)", t["ms csum"], t["torch csum"])

    small = rng.standard_normal((N, C, H // 2, H // 2), dtype=np.float32)
    cot = rng.standard_normal((N, C, H, H), dtype=np.float32)
    tsmall = torch.from_numpy(small).requires_grad_()
    tcot = torch.from_numpy(cot)

    def upsample_loss(v, cot):
        return (ops.interpolate(v, scale_factor=2.0, mode="nearest", recompute_scale_factor=True) * cot).sum()

    def ms_upsample_grad(x, cot):
        return ms.grad(upsample_loss)(x, cot)

    def torch_upsample_grad():
        return torch.autograd.grad((torch.nn.functional.interpolate(tsmall, scale_factor=2) * tcot).sum(), tsmall)

    def leaky_loss(v, cot):
        return (ops.leaky_relu(v, 0.2) * cot).sum()

    def ms_leaky_grad(x, cot):
        return ms.grad(leaky_loss)(x, cot)

    tx_grad = torch.from_numpy(x).requires_grad_()
    tcx = torch.from_numpy(rng.standard_normal(x.shape, dtype=np.float32))
    cx = tcx.numpy()

    def torch_leaky_grad():
        return torch.autograd.grad((torch.nn.functional.leaky_relu(tx_grad, 0.2) * tcx).sum(), tx_grad)

    t = timed({"ms up": ms_call(ms_upsample_grad, small, cot), "torch up": torch_upsample_grad,
               "ms leaky": ms_call(ms_leaky_grad, x, cx), "torch leaky": torch_leaky_grad}, args.repeats)
    row(f"nearest x2 upsample, forward + backward, ({N},{C},{H // 2},{H // 2})", t["ms up"], t["torch up"])
    row(f"leaky_relu(0.2), forward + backward, ({N},{C},{H},{H})", t["ms leaky"], t["torch leaky"])

    shapes = [(8192, 100), (8192,), (128, 128, 3, 3), (128,), (64, 128, 3, 3), (64,), (1, 64, 3, 3), (1,)]
    grads = [rng.standard_normal(s, dtype=np.float32) * 0.01 for s in shapes]
    mint_params = [ms.Parameter(ms.Tensor(np.zeros(s, np.float32)), name=f"p{i}") for i, s in enumerate(shapes)]
    mint_adam = mint.optim.Adam(mint_params, lr=2e-4, betas=(0.5, 0.999))
    fused_params = [ms.Parameter(ms.Tensor(np.zeros(s, np.float32)), name=f"q{i}") for i, s in enumerate(shapes)]
    moments = [[ms.Parameter(ms.Tensor(np.zeros(s, np.float32)), name=f"{k}{i}") for i, s in enumerate(shapes)]
               for k in "mv"]
    apply_adam = ops.Adam()

    def fused(gs):
        for p, m, v, g in zip(fused_params, moments[0], moments[1], gs):
            apply_adam(p, m, v, 0.5, 0.999, 2e-4, 0.5, 0.999, 1e-8, g)
        return gs[0]

    ms_grads = tuple(ms.Tensor(g) for g in grads)
    torch_params = [torch.zeros(s, requires_grad=True) for s in shapes]
    torch_adam = torch.optim.Adam(torch_params, lr=2e-4, betas=(0.5, 0.999))
    for p, g in zip(torch_params, grads):
        p.grad = torch.from_numpy(g)
    jit_mint, jit_fused = ms.jit(mint_adam), ms.jit(fused)
    t = timed({"mint": lambda: (jit_mint(ms_grads), mint_params[0].asnumpy()),
               "fused": lambda: _wait(jit_fused(ms_grads)), "torch": torch_adam.step}, args.repeats)
    row("mint.optim.Adam step, cnn_gan G's 8 parameters", t["mint"], t["torch"])
    row("  ops.Adam (ApplyAdam, one kernel a parameter)", t["fused"], t["torch"])

    print(f"MindSpore {ms.__version__}, PyTorch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'op':62s} {'MindSpore ms':>12s} {'PyTorch ms':>11s} {'MS / PT':>8s}")
    for what, a, b in rows:
        print(f"{what:62s} {a:12.1f} {b:11.1f} {a / b:8.1f}")


if __name__ == "__main__":
    main()
