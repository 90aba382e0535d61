"""`python -m parity.readme_run`: make again every picture, figure and sample output the
README shows from the set-up command, from the current code (docs/embedded_run/README.md).

In a new empty working directory it runs the README's own commands, as a new user would:
`python -m ms_gan train` (the set-up run: the embedded digits, cnn_gan, seed 0),
`generate` of both frameworks on its last checkpoint (the PyTorch twin's on the `.pt` that
`parity convert` makes of it), `parity fid ... --features digit` and `parity check dcgan`.
Then it writes into the repository:

    docs/embedded_run/epoch_001.png, epoch_002.png, losses.png, progress.gif   the run's pictures
    docs/embedded_run/metrics_head.jsonl   the run's first metrics lines (tests/project/test_readme_run.py
                                           holds a new run of epoch 1 to them and to epoch_001.png)
    docs/embedded_run/run.json             what was measured: time, load average, the grids' pixels
    README.md                              the blocks after `<!-- readme_run: NAME -->` markers

Rerun it whenever MindSpore's arithmetic changes (new layers, kernels, a new version): the
set-up run's pictures change with it. It takes the set-up run's time and about a minute more.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from parity.common.subcommands import run_module

REPO = Path(__file__).resolve().parents[1]
FIGURES = REPO / "docs" / "embedded_run"
PICTURES = ("samples/epoch_001.png", "samples/epoch_002.png", "losses.png", "progress.gif")
METRICS_HEAD = 5            # metrics lines kept for the test
RUN = Path("runs/ms_gan")   # the set-up command's --out, as the README names it
# the rows of `parity check dcgan` the README shows, between its first and last lines
CHECK_ROWS = ("G output, eval mode", "G main.1.moving_mean after a train step", "D loss", "G grad main.0.weight")


def command(args, cwd):
    """Run `python -m ARGS` in `cwd` with this repository first on the path; its stdout."""
    return run_module(args, cwd=cwd, env={"PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])})


def differing_pixels(a, b):
    a, b = (np.asarray(Image.open(p)) for p in (a, b))
    return int(np.count_nonzero(a != b)), int(a.size), int(np.abs(a.astype(int) - b.astype(int)).max())


def d_of_fakes(metrics_lines):
    """{epoch: [min, max, mean]} of D(G(z)) before D's update (d_g_z1), as docs/models.md quotes it."""
    records = [json.loads(line) for line in metrics_lines]
    by_epoch = {}
    for record in records:
        by_epoch.setdefault(record["epoch"], []).append(record["d_g_z1"])
    return {epoch: [round(min(v), 3), round(max(v), 3), round(sum(v) / len(v), 3)] for epoch, v in by_epoch.items()}


def replace_block(text, name, lines):
    """`text` with the fenced block after the line `<!-- readme_run: name -->` made `lines`."""
    marker = f"<!-- readme_run: {name} -->\n"
    start = text.index(marker) + len(marker)
    body = text.index("\n", start) + 1                  # after the opening fence
    end = text.index("```", body)
    return text[:body] + "".join(line + "\n" for line in lines) + text[end:]


def check_excerpt(output):
    lines = output.strip().splitlines()
    rows = [line for line in lines if line.split("  ")[0].strip() in CHECK_ROWS]
    return lines[:2] + rows + ["..."] + lines[-1:]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m parity.readme_run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", metavar="DIR", help="run in DIR (made; must not exist) and keep it "
                                                     "(default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="readme_run."))
    work.mkdir(parents=True, exist_ok=not args.keep)
    try:
        load_before, start = os.getloadavg(), time.perf_counter()
        command(["ms_gan", "train"], work)
        seconds = time.perf_counter() - start
        load_after = os.getloadavg()
        checkpoint = RUN / "checkpoints" / "epoch_002.ckpt"
        command(["ms_gan", "generate", "--checkpoint", str(checkpoint), "--seed", "0", "--out", "runs/grid.png"], work)
        command(["parity", "convert", str(checkpoint), "runs/epoch_002.pt"], work)
        command(["torch_gan", "generate", "--checkpoint", "runs/epoch_002.pt", "--seed", "0",
                 "--out", "runs/grid_torch.png"], work)
        fid = command(["parity", "fid", "datasets/mnist_5k", str(checkpoint), "--n", "2500", "--features", "digit",
                       "--cache-dir", "runs/fid_cache"], work)
        check = command(["parity", "check", "dcgan"], work)

        for picture in PICTURES:
            shutil.copyfile(work / RUN / picture, FIGURES / Path(picture).name)
        lines = (work / RUN / "metrics.jsonl").read_text().splitlines()
        (FIGURES / "metrics_head.jsonl").write_text("".join(line + "\n" for line in lines[:METRICS_HEAD]))
        measured = {
            "command": "python -m ms_gan train", "seconds": round(seconds, 1),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
            "generate_vs_epoch_002": differing_pixels(work / "runs/grid.png", work / RUN / "samples/epoch_002.png"),
            "torch_generate_vs_mindspore": differing_pixels(work / "runs/grid_torch.png", work / "runs/grid.png"),
            "d_g_z1_min_max_mean_by_epoch": d_of_fakes(lines),
            "fid": fid.strip(),
        }
        (FIGURES / "run.json").write_text(json.dumps(measured, indent=1) + "\n")
        readme = (REPO / "README.md").read_text()
        readme = replace_block(readme, "fid", [f"python -m parity fid datasets/mnist_5k {checkpoint} --n 2500 "
                                                "--features digit", fid.strip()])
        readme = replace_block(readme, "parity-check", check_excerpt(check))
        (REPO / "README.md").write_text(readme)
        print(json.dumps(measured, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
