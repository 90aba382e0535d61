"""Data-parallel training on the engines' own launchers, 2 workers on this CPU: msrun for
MindSpore, torchrun for PyTorch, each starting the installed console script as a user does.

A 2-worker run of `gan` (no BatchNorm) computes the 1-worker run's steps; the frameworks
agree across 2 workers as closely as in one process; a checkpoint resumes with any worker
count; a worker that dies ends the job with the checkpoint before it intact."""
import os
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from helpers.runs import FRAMEWORKS, metrics
from parity.common.distributed import World, check_split, free_port, launch_command, launcher, part, shard

pytestmark = pytest.mark.slow

IMAGES, BATCH = 16, 8            # 2 steps an epoch, 4 images a worker a step


def command(framework, workers, out, *args):
    """The README's launch command for `workers` workers (or the plain script for 1)."""
    argv = ["train", "--out", str(out), "--workers", "1", "--log-every", "0", *args]
    return launch_command(framework, workers, argv, free_port(), f"{out}_log")


def launch(framework, workers, out, *args, timeout=600):
    result = subprocess.run(command(framework, workers, out, *args), capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "GLOG_v": "3"})
    logs = "".join(p.read_text(errors="replace") for p in sorted(out.parent.glob(f"{out.name}_log/worker_*.log")))
    return result.returncode, result.stdout + result.stderr + logs


@pytest.fixture(scope="module")
def folder(noise_folders):
    return noise_folders(IMAGES, (28, 28))


@pytest.fixture(scope="module")
def runs(folder, tmp_path_factory):
    """{(framework, model, workers): run folder}: one epoch each, global batch 8."""
    root, done = tmp_path_factory.mktemp("dp_runs"), {}

    def run(framework, model, workers):
        key = (framework, model, workers)
        if key not in done:
            out = root / f"{framework}_{model}_{workers}"
            code, output = launch(framework, workers, out, "--model", model, "--data", str(folder), "--epochs", "1",
                                  "--batch-size", str(BATCH), *(["--mode", "pynative"] if framework == "ms_gan" else []))
            assert code == 0, output[-3000:]
            done[key] = out
        return done[key]
    return run


def assert_steps_close(a, b, rel):
    assert [(r["epoch"], r["step"]) for r in a] == [(r["epoch"], r["step"]) for r in b]
    for x, y in zip(a, b):
        for key in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"):
            assert x[key] == pytest.approx(y[key], rel=rel), (x["step"], key)


def test_the_split_is_contiguous_and_even():
    order = np.arange(10)
    world = World(1, 2)
    assert list(shard(order, 4, world)) == [2, 3, 6, 7, 9]            # its half of [0..3], [4..7], [8, 9]
    assert list(shard(order, 4, World(0, 2))) == [0, 1, 4, 5, 8]
    assert part(6, world) == slice(3, 6)
    check_split(4, 10, world)                                         # 4 = 2 + 2, the last step 2 = 1 + 1
    with pytest.raises(ValueError, match="--batch-size 5 does not split across 2 workers"):
        check_split(5, 10, world)
    with pytest.raises(ValueError, match="the last step of an epoch has 3 of the 11 images"):
        check_split(4, 11, world)
    assert launcher({"MS_ROLE": "MS_WORKER", "MS_WORKER_NUM": "2"}) == "msrun"
    assert launcher({"WORLD_SIZE": "2", "RANK": "1"}) == "torchrun" and launcher({}) is None


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_two_workers_compute_the_one_process_steps(runs, framework):
    one, two = runs(framework, "gan", 1), runs(framework, "gan", 2)
    assert_steps_close(metrics(two), metrics(one), rel=1e-5)
    suffix = FRAMEWORKS[framework][1]
    assert sorted(p.name for p in (two / "checkpoints").iterdir()) == [f"epoch_001{suffix}"]
    assert (two / "samples" / "epoch_001.png").is_file() and (two / "losses.png").is_file()


@pytest.mark.parametrize("model", ["gan", "gan_bn"])
def test_the_frameworks_agree_across_two_workers(runs, model):
    """As the one-process twins do on their first step (tests/training/test_train.py)."""
    ms_first, torch_first = (metrics(runs(framework, model, 2))[0] for framework in sorted(FRAMEWORKS))
    for key in ("loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2"):
        assert ms_first[key] == pytest.approx(torch_first[key], rel=1e-4), key


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_batchnorm_workers_normalise_their_own_part(runs, framework):
    """gan_bn: each worker's BatchNorm sees 4 images, not 8, so the steps differ from the
    one-process run's (as with PyTorch's DDP without SyncBatchNorm)."""
    one, two = metrics(runs(framework, "gan_bn", 1)), metrics(runs(framework, "gan_bn", 2))
    parted = max(abs(a[key] - b[key]) / abs(b[key]) for a, b in zip(two, one) for key in ("loss_d", "loss_g", "d_g_z2"))
    print(f"{framework} gan_bn, 2 workers against 1: largest relative difference {parted:.1e}")
    assert parted > 1e-4          # gan's steps agree to 1e-5 (test above): here the statistics differ


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
@pytest.mark.parametrize("first, then", [(2, 1), (1, 2)])
def test_a_checkpoint_resumes_with_another_worker_count(runs, folder, tmp_path, framework, first, then):
    start = runs(framework, "gan", first)
    out = tmp_path / "run"
    shutil.copytree(start, out, ignore=shutil.ignore_patterns("*_log"))
    code, output = launch(framework, then, out, "--resume", "--epochs", "2", "--data", str(folder),
                          "--batch-size", str(BATCH), *(["--mode", "pynative"] if framework == "ms_gan" else []))
    assert code == 0, output[-3000:]
    records = metrics(out)
    assert [(r["epoch"], r["step"]) for r in records] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    straight = tmp_path / "straight"
    code, output = launch(framework, 1, straight, "--model", "gan", "--epochs", "2", "--data", str(folder),
                          "--batch-size", str(BATCH), *(["--mode", "pynative"] if framework == "ms_gan" else []))
    assert code == 0, output[-3000:]
    assert_steps_close(records, metrics(straight), rel=1e-5)


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_a_batch_that_does_not_split_is_refused_before_training(folder, tmp_path, framework):
    out = tmp_path / "run"
    code, output = launch(framework, 2, out, "--model", "gan", "--data", str(folder), "--batch-size", "7")
    assert code != 0
    # each worker refuses alike; the launcher may stop one before it has said so
    assert re.search(r"rank [01]: error: --batch-size 7 does not split across 2 workers", output), output[-3000:]
    assert not (out / "checkpoints").exists()


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_a_killed_worker_ends_the_job_and_the_last_checkpoint_loads(folder, tmp_path, framework):
    out = tmp_path / "run"
    job = subprocess.Popen(command(framework, 2, out, "--model", "gan", "--data", str(folder), "--epochs", "500",
                                   "--batch-size", str(BATCH)),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env={**os.environ, "GLOG_v": "3"}, start_new_session=True)
    first = out / "checkpoints" / f"epoch_001{FRAMEWORKS[framework][1]}"
    deadline = time.time() + 300
    while not first.exists() and time.time() < deadline and job.poll() is None:
        time.sleep(0.5)
    assert first.exists(), "no epoch finished"
    victim = worker_pid(job.pid, rank=1)
    os.kill(victim, signal.SIGKILL)
    killed = time.time()
    try:
        code = job.wait(timeout=420)
        print(f"{framework}: the job ended {time.time() - killed:.0f} s after rank 1 was killed, exit {code}")
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert code != 0
    checkpoints = sorted((out / "checkpoints").iterdir())
    last = checkpoints[-1]
    grid = tmp_path / "grid.png"
    main, _ = FRAMEWORKS[framework]
    assert main(["generate", "--checkpoint", str(last), "--out", str(grid), "--n", "4"]) == 0
    assert grid.is_file()


def worker_pid(launcher_pid, rank):
    """The pid of the worker of `rank` among the launcher's descendants (its environment
    names its rank: RANK_ID under msrun, RANK under torchrun)."""
    for _ in range(100):
        for pid in descendants(launcher_pid):
            try:
                environ = dict(item.split("=", 1) for item in
                               open(f"/proc/{pid}/environ").read().split("\0") if "=" in item)
            except OSError:
                continue
            role_ok = environ.get("MS_ROLE") == "MS_WORKER" or "TORCHELASTIC_RUN_ID" in environ and "LOCAL_RANK" in environ
            if role_ok and environ.get("RANK_ID", environ.get("RANK")) == str(rank):
                return pid
        time.sleep(0.1)
    raise AssertionError(f"no worker of rank {rank} under pid {launcher_pid}")


def descendants(pid):
    children = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            children += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
        except OSError:
            pass
    return children + [d for c in children for d in descendants(c)]


def test_bench_workers_measures_both_frameworks_at_1_and_2_workers(tmp_path, capsys):
    import json

    import parity.__main__
    path = tmp_path / "workers.json"
    assert parity.__main__.main(["bench-workers", "--images", "64", "--batch-size", "32", "--epochs", "2",
                                 "--json", str(path)]) == 0
    result = json.loads(path.read_text())
    assert [(r["framework"], r["workers"]) for r in result["rows"]] == [
        ("ms_gan", 1), ("ms_gan", 2), ("torch_gan", 1), ("torch_gan", 2)]
    for row in result["rows"]:     # an epoch is timed inside the run: less than the run's wall time
        assert 0 < row["epoch_s"] < row["run_s"] and row["images_per_s"] == pytest.approx(64 / row["epoch_s"])
    assert "vs 1 worker" in capsys.readouterr().out
