"""While a jit train step runs, the calling thread sleeps: with MindSpore's default frontend
queue it spun in AsyncRQueue::Wait until the step's last update was done, and took a core from
the kernels (ms_gan.device.waiting_without_spinning, docs/bench_ops.md#the-spinning-wait).
Measured as the calling thread's CPU time against the wall time: spinning, 55-70% on this
project's 2-core machine; sleeping, Python's few milliseconds a step."""
import time

import numpy as np

import ms_gan.models
from ms_gan.train import TrainStep
from parity.common.configs import get_config

MODEL = "dcgan_mnist"    # convolutions: a step of tens of milliseconds, most of it in kernels


def callers_share_of_the_wall_time(call, times):
    call()                                    # compiles
    call()
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(times):
        call()
    return (time.thread_time() - cpu) / (time.perf_counter() - wall)


def test_the_caller_sleeps_while_a_jit_step_runs():
    config = get_config(MODEL)
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (32, *config.image_shape)).astype(np.float32)
    z = rng.standard_normal((32, *config.noise_shape)).astype(np.float32)
    step = TrainStep(*ms_gan.models.build(MODEL, seed=0), loss=config.loss)
    share = callers_share_of_the_wall_time(lambda: step(real, z), 10)
    assert share < 0.2, f"the calling thread used {share:.0%} of the wall time: it waits by spinning"

