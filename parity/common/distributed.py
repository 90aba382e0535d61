"""Data-parallel training, the framework-free half: who this worker is, and which part of
each step it computes. The frameworks' halves (joining the job, averaging gradients and
numbers across workers) are the backends' (ms_gan/train.py, torch_gan/train.py).

A run started by MindSpore's `msrun` or PyTorch's `torchrun` is detected from the
environment the launcher gives each worker; nothing else starts one. `--batch-size` stays
the global batch of one step: worker r of W computes the r-th of W contiguous, equal parts
of the very images and noise a one-process run's step has (the epoch order from
(seed, epoch), the noise from (seed, epoch, step)), and the gradients are averaged across
the workers before each optimizer step. So a model without BatchNorm computes the
one-process run's steps; with BatchNorm each worker normalises its own part.
"""
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .frameworks import MINDSPORE, framework

# Seconds a torchrun worker waits on its peers (torch.distributed's timeout, to join and in
# a collective) before it gives up. msrun's workers wait its --cluster_time_out to join.
TIMEOUT_S = 300


@dataclass(frozen=True)
class World:
    """This worker's place in the job: rank `rank` of `size` workers."""
    rank: int = 0
    size: int = 1

    @property
    def main(self):
        """Whether this worker writes the run's outputs (rank 0 does; the others only compute)."""
        return self.rank == 0


def launcher(environ=os.environ):
    """"msrun" or "torchrun" when that launcher started this process for a job of several
    workers, else None. msrun also starts the script as its scheduler (MS_ROLE MS_SCHED),
    whose mindspore.communication.init() serves the job and ends the process."""
    if environ.get("MS_ROLE") in ("MS_WORKER", "MS_SCHED") and int(environ.get("MS_WORKER_NUM", "1")) > 1:
        return "msrun"
    if int(environ.get("WORLD_SIZE", "1")) > 1:
        return "torchrun"
    return None


def rank_label(environ=os.environ):
    """'rank R: ' in a worker of a data-parallel job (for its messages), else ''."""
    found = launcher(environ)
    if found is None or environ.get("MS_ROLE") == "MS_SCHED":
        return ""
    return f"rank {environ.get('RANK_ID' if found == 'msrun' else 'RANK', '?')}: "


def check_split(batch_size, images, world, has_class_head=False):
    """Raise a one-line ValueError unless every step of an epoch of `images` images at
    global batch `batch_size` splits evenly across the workers."""
    if world.size == 1:
        return
    if has_class_head:
        raise ValueError("data-parallel training of a model with a class head (sgan) is not supported; "
                         "train it in one process")
    if batch_size % world.size:
        raise ValueError(f"--batch-size {batch_size} does not split across {world.size} workers: "
                         f"give a multiple of {world.size}")
    last = images % batch_size
    if last % world.size:
        raise ValueError(f"the last step of an epoch has {last} of the {images} images (--batch-size {batch_size}), "
                         f"which does not split across {world.size} workers: choose a --batch-size that leaves "
                         f"a multiple of {world.size}")


def part(count, world):
    """slice of this worker's part of a global batch of `count` images."""
    size = count // world.size
    return slice(world.rank * size, (world.rank + 1) * size)


def shard(order, batch_size, world):
    """This worker's images of an epoch in `order` at global batch `batch_size`, in the
    order it reads them: its part of each global batch in turn. Read in batches of
    batch_size // world.size, they are its parts of the global batches."""
    order = np.asarray(order)
    if world.size == 1:
        return order
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    return np.concatenate([batch[part(len(batch), world)] for batch in batches])


def launch_command(package, workers, argv, port, log_dir):
    """The command that runs `package`'s console script (ms-gan or torch-gan) with `argv`
    as `workers` workers on this machine with its engine's launcher, as the README's
    commands do (for 1 worker, the plain script). The script is the one pip installed
    beside this interpreter: msrun starts a script path with `python`, so a shell shim
    (pyenv's) found on PATH would not run."""
    bin_dir = Path(sys.executable).parent
    record = framework(package)
    script = [str(bin_dir / record.script), *argv]
    if workers == 1:
        return script
    if record.key == MINDSPORE:
        return [str(bin_dir / "msrun"), f"--worker_num={workers}", f"--local_worker_num={workers}",
                f"--master_port={port}", f"--log_dir={log_dir}", "--join=True", *script]
    return [str(bin_dir / "torchrun"), f"--nproc_per_node={workers}", f"--master_port={port}", *script]


def free_port():
    """A TCP port of the loopback interface that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
