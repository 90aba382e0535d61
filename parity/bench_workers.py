"""`python -m parity bench-workers`: training throughput with 1 and 2 data-parallel workers
per framework, each started by its engine's launcher exactly as a user starts it.

A run's wall time holds the launcher's and the frameworks' start-up, which dwarfs a short
epoch; so an epoch's time is read from the run itself: the time between the checkpoints
rank 0 writes after the first and after the last epoch, over the epochs between (each
includes its sample grid, checkpoint and plots, alike for any worker count). On a machine
of C cores, 2 workers share them: with C = 2 the figure says what communication and the
split cost, not a speed-up.
"""
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from parity.common.datasets import embedded_digits, scan_images
from parity.common.distributed import free_port, launch_command
from parity.common.files import write_json_atomic
from parity.common.frameworks import PACKAGES



def digits_folder(root, count):
    """`count` of the embedded digits, copied to root/digits."""
    folder = root / "digits"
    folder.mkdir()
    for path in scan_images(embedded_digits())[:count]:
        shutil.copy(path, folder / f"{path.parent.name}_{path.name}")
    return folder


def epoch_seconds(package, workers, argv, epochs, root):
    """(seconds an epoch, seconds of the whole run) of one training run of `epochs` epochs."""
    out = root / f"run_{package}_{workers}"
    command = launch_command(package, workers, ["train", "--out", str(out), "--epochs", str(epochs), *argv],
                             free_port(), f"{out}_log")
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "GLOG_v": "3"})
    seconds = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {(result.stdout + result.stderr)[-500:]}")
    written = sorted(path.stat().st_mtime for path in (out / "checkpoints").iterdir())
    return (written[-1] - written[0]) / (epochs - 1), seconds


def measure(model, images, batch, epochs, worker_counts, root):
    folder = digits_folder(root, images)
    rows = []
    for package in PACKAGES:
        for workers in worker_counts:
            argv = ["--model", model, "--data", str(folder), "--batch-size", str(batch), "--workers", "1",
                    "--log-every", "0"]
            epoch, run = epoch_seconds(package, workers, argv, epochs, root)
            rows.append({"framework": package, "workers": workers, "epoch_s": epoch, "images_per_s": images / epoch,
                         "run_s": run})
    return rows


def format_rows(rows):
    lines = [f"{'framework':10} {'workers':>7} {'epoch s':>8} {'img/s':>7} {'vs 1 worker':>11}"]
    single = {r["framework"]: r["images_per_s"] for r in rows if r["workers"] == 1}
    for r in rows:
        ratio = r["images_per_s"] / single[r["framework"]] if r["framework"] in single else float("nan")
        lines.append(f"{r['framework']:10} {r['workers']:7d} {r['epoch_s']:8.1f} {r['images_per_s']:7.1f} "
                     f"{ratio:10.2f}x")
    return "\n".join(lines)


def main(args):
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        rows = measure(args.model, args.images, args.batch_size, args.epochs, args.worker_counts, Path(tmp))
    result = {"model": args.model, "images": args.images, "batch_size": args.batch_size, "cores": os.cpu_count(),
              "load_average": load_before, "load_average_after": os.getloadavg(), "rows": rows}
    print(f"bench-workers: {args.model}, {args.images} images an epoch, global batch {args.batch_size}, "
          f"{os.cpu_count()} cores, load average {load_before[0]:.2f} -> {result['load_average_after'][0]:.2f}")
    print(format_rows(rows))
    if args.json:
        write_json_atomic(args.json, result)
    return 0
