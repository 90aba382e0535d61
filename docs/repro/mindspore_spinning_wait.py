"""Stand-alone reproducer: in MindSpore 2.8.0 on CPU, a jit function's caller busy-waits for
the graph to finish, and takes a core from the graph's own kernels.

    python docs/repro/mindspore_spinning_wait.py [--steps 30]

A jit call returns at once: MindSpore's frontend queue thread runs the graph. When the graph
has work after the value the caller reads (here a train step: its backward pass and Adam's
updates come after the loss), `Tensor.asnumpy()` waits for it in
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
from mindspore import nn
from mindspore.common.api import _pynative_executor


def train_step(layers=6, width=512, batch=64):
    """A jit train step of an MLP (Dense and ReLU), nn.Adam: its loss is ready before the
    backward pass and the updates that follow it in the graph."""
    net = nn.SequentialCell([layer for _ in range(layers) for layer in (nn.Dense(width, width), nn.ReLU())])
    optimizer = nn.Adam(net.trainable_params(), learning_rate=1e-4)

    def loss_of(x):
        return (net(x) ** 2).mean()
    grad = ms.value_and_grad(loss_of, None, optimizer.parameters)

    @ms.jit
    def step(x):
        loss, grads = grad(x)
        optimizer(grads)
        return loss
    x = ms.Tensor(np.random.default_rng(0).standard_normal((batch, width)).astype(np.float32))
    return step, x


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
    step, x = train_step()
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
