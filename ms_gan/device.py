"""Device selection for MindSpore: the project's device names (parity/common/devices.py)
to MindSpore's CPU, GPU or Ascend."""
import contextlib
import warnings

import mindspore as ms
from mindspore.common.api import _pynative_executor

from parity.common.devices import DEVICES, device_name

TARGETS = {"cpu": "CPU", "gpu": "GPU", "ascend": "Ascend"}
# oneDNN falls back to its reference kernel for NCHW convolutions in these releases:
# 30-100x slower on CPU than 2.8.0 (docs/framework_differences.md#mindspore-version).
SLOW_CPU_CONVOLUTIONS = ("2.9", "2.10")


def slow_cpu_convolutions(version=None):
    """True for a MindSpore release (default: this one) known to run CPU convolutions 30-100x slower."""
    return ".".join((version or ms.__version__).split(".")[:2]) in SLOW_CPU_CONVOLUTIONS


@contextlib.contextmanager
def waiting_without_spinning():
    """Inside, MindSpore runs a jit graph on the calling thread, which then sleeps until the
    graph is done; on CPU only, where the graph's kernels need every core.

    By default (2.8.0) a jit call returns at once and MindSpore's frontend queue thread runs
    the graph. A train step's losses are ready before its optimizer updates are, and the
    caller's read of them (`.asnumpy()`) then waits for the rest of the graph in
    `AsyncRQueue::Wait`, a loop with no sleep or yield: that thread took a core from the
    kernels, which ran at about half speed on this project's 2-core machine
    (docs/bench_ops.md#the-spinning-wait). The switch is MindSpore's own (its
    `saved_tensors_hooks` sets it the same way); it lives on the PyNative executor, with no
    public name, and is put back as it was on leaving. PyNative steps are left alone: there
    the queue thread runs one op while Python dispatches the next."""
    disable = getattr(_pynative_executor, "disable_frontend_and_bprop_pipeline", None)
    if disable is None or ms.get_context("device_target") != "CPU":
        yield
        return
    was_disabled = disable()
    try:
        yield
    finally:
        if not was_disabled:
            _pynative_executor.enable_frontend_and_bprop_pipeline()


def use_device(name):
    """Make `name` (the project's vocabulary, or MindSpore's) MindSpore's device for this
    process, or fail naming what is missing; returns MindSpore's name of it."""
    target = TARGETS[device_name(name)]
    if target != "CPU" and not ms.hal.is_available(target):
        raise RuntimeError(
            f"MindSpore {ms.__version__} cannot use {target} on this machine: "
            f"{'no CUDA GPU or no GPU build of MindSpore' if target == 'GPU' else 'no Ascend NPU or CANN toolkit'} "
            f"was found (mindspore.hal.is_available({target!r}) is False). Use --device cpu.")
    if target == "CPU" and slow_cpu_convolutions():
        warnings.warn(f"MindSpore {ms.__version__} runs CPU convolutions 30-100x slower than 2.8.0 "
                      f"(oneDNN's reference kernel): pip install mindspore==2.8.0", RuntimeWarning, stacklevel=2)
    try:
        ms.set_device(target)
    except RuntimeError:
        # MindSpore fixes the device once a kernel has run; the same device again is fine
        # (a second command in one process), another one is not.
        if ms.get_context("device_target") != target:
            raise RuntimeError(f"MindSpore already runs on {ms.get_context('device_target')} in this process; "
                               f"it cannot switch to {target}: start a new process") from None
    return target
