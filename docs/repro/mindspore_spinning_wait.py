"""Stand-alone reproducer: in MindSpore 2.8.0 on CPU, a jit function's caller busy-waits for
the graph to finish, and takes a core from the graph's own kernels.

    python docs/repro/mindspore_spinning_wait.py [--steps 30]

A jit call returns at once: MindSpore's frontend queue thread runs the graph. When the graph
has work after the value the caller reads (here, as in a train step: in-place updates of
parameters after the loss), `Tensor.asnumpy()` waits for it in
`mindspore::runtime::AsyncRQueue::Wait` (called from `Pipeline::WaitAll` in
`TensorPybind::SyncAsNumpy`), a loop with no sleep or yield. With
`disable_frontend_and_bprop_pipeline()` on the PyNative executor (what
`mindspore.saved_tensors_hooks` does on entering), the caller runs the graph and sleeps
on its completion instead.

Needs only mindspore and numpy (not this project). Prints, for each way, the median wall ms
of a call and the calling thread's CPU time as a share of the wall time. On this project's
2-core machine, idle (docs/bench_ops.md#the-spinning-wait): the spinning caller's share is
0.6-0.7 and every kernel of the graph runs at about half speed.
"""
import argparse
import statistics
import time

import mindspore as ms
import numpy as np
from mindspore import nn, ops
from mindspore.common.api import _pynative_executor


class Updates(nn.Cell):
    """A loss from three matrix products, then an in-place update of each weight after it."""

    def __init__(self, size=1024):
        super().__init__()
        rng = np.random.default_rng(0)
        self.weights = ms.ParameterTuple(
            ms.Parameter(ms.Tensor(rng.standard_normal((size, size)).astype(np.float32) / 32), name=f"w{i}")
            for i in range(3))

    def construct(self, x):
        h = x
        for w in self.weights:
            h = ops.matmul(h, w)
        loss = (h * h).mean()
        for w in self.weights:            # the work after the loss: as an optimizer's update
            ops.assign(w, w * 0.999 + ops.matmul(w, w) * 1e-6)
        return loss


def run(step, x, steps):
    """(median wall ms a call, the calling thread's CPU time / wall time)."""
    for _ in range(3):
        step(x).asnumpy()
    walls, cpu, start = [], time.thread_time(), time.perf_counter()
    for _ in range(steps):
        t = time.perf_counter()
        step(x).asnumpy()
        walls.append(time.perf_counter() - t)
    return 1000 * statistics.median(walls), (time.thread_time() - cpu) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    ms.set_device("CPU")
    net = Updates()
    step = ms.jit(net)
    x = ms.Tensor(np.random.default_rng(1).standard_normal((512, 1024)).astype(np.float32))
    print(f"MindSpore {ms.__version__}, CPU; median of {args.steps} calls")
    for name in ("default (frontend queue)", "caller runs the graph", "default (frontend queue)"):
        if name.startswith("default"):
            _pynative_executor.enable_frontend_and_bprop_pipeline()
        else:
            _pynative_executor.disable_frontend_and_bprop_pipeline()
        wall, share = run(step, x, args.steps)
        print(f"{name:26s} {wall:8.1f} ms a call   calling thread's CPU / wall {share:.2f}")


if __name__ == "__main__":
    main()
