"""Stand-alone reproducer: in MindSpore 2.8.0 on CPU, calling an already compiled `ms.jit`
function costs 0.1-0.2 ms before any kernel runs, about half of it Python.

    python docs/repro/mindspore_jit_call_overhead.py [--calls 2000]

Each call of a jit function builds a new `_JitExecutor`, checks its arguments through
`inspect.signature`, reads the context, makes the compile-cache key and sets the jit
config (`mindspore/common/api.py`), then hands the graph to the frontend queue. For a small
network that fixed cost is most of the call: an MLP generator's three matrix products at
batch 32 take about 0.18 ms in MindSpore's kernels as in PyTorch's, and the whole call
0.4-0.5 ms against PyTorch eager's 0.3 ms (docs/bench_ops.md#what-is-left-per-op-and-why-no-kernel-of-ours-takes-it).

Needs only mindspore and numpy (not this project). Prints the median wall time of a call
of a jit function holding one `x + 1` on a 32x100 tensor, of the same op in PyNative, and of
a jit MLP forward (100 -> 256 -> 512 -> 784, ReLU, tanh; MindSpore's own layers) at batch
32; then cProfile's split of the jit call into the Python of `mindspore.common.api` and the
C++ call that runs the graph (cProfile adds its own cost to every Python call, so it
overstates the Python part). On this project's 2-core machine, idle: the jit x + 1 0.13 ms
a call, the same op in PyNative 0.63 ms, the MLP forward 0.63 ms; under cProfile 0.165 ms
a call, 0.047 ms of it in grad_jit.
"""
import argparse
import cProfile
import pstats
import statistics
import time

import mindspore as ms
import numpy as np
from mindspore import nn


def median_ms(fn, calls):
    for _ in range(50):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def python_share(fn, calls):
    """(ms a call under cProfile, of it ms in PyNativeExecutor.grad_jit: the C++ that runs the graph)."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        fn()
    profile.disable()
    stats = pstats.Stats(profile)
    total = stats.total_tt
    in_graph = sum(row[2] for key, row in stats.stats.items() if key[2] == "grad_jit")
    return 1000 * total / calls, 1000 * in_graph / calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls
    rng = np.random.default_rng(0)
    x = ms.Tensor(rng.standard_normal((32, 100)).astype(np.float32))

    @ms.jit
    def add_one(t):
        return t + 1

    mlp = nn.SequentialCell(nn.Dense(100, 256), nn.ReLU(), nn.Dense(256, 512), nn.ReLU(), nn.Dense(512, 784), nn.Tanh())
    mlp.set_train(False)

    @ms.jit
    def forward(t):
        return mlp(t)

    print(f"MindSpore {ms.__version__}, {calls} calls each, median ms a call:")
    print(f"  jit function, one x + 1 (32x100), .asnumpy()   {median_ms(lambda: add_one(x).asnumpy(), calls):7.3f}")
    print(f"  the same op in PyNative, .asnumpy()            {median_ms(lambda: (x + 1).asnumpy(), calls):7.3f}")
    print(f"  jit MLP forward, batch 32, .asnumpy()          {median_ms(lambda: forward(x).asnumpy(), calls):7.3f}")
    total, in_graph = python_share(lambda: add_one(x), calls)
    print(f"cProfile, jit x + 1 without .asnumpy(): {total:.3f} ms a call, of it {in_graph:.3f} ms in grad_jit "
          f"(the C++ that runs the graph), {total - in_graph:.3f} ms Python in mindspore.common.api and the call")


if __name__ == "__main__":
    main()
