"""`python -m parity quality-study`: is MindSpore's generator as good as PyTorch's?

For every seed and framework it trains --model with the trainer's own command line and
`--fid-every 1` (parity/common/epoch_fid.py: the digit score for 1-channel models, Inception
FID for 3-channel ones, of --fid-n images from a fixed noise against --data), each run a
subprocess with its folder under --out; a finished run is not trained again (the trainer,
with --resume, trains nothing), a longer --epochs continues it. Then, per epoch, each
framework's mean score over the seeds and its spread (min-max), the frameworks'
difference of means, and whether that lies within the seed-to-seed spread: |difference|
<= the larger of the two frameworks' ranges (max - min over the seeds).
Results: docs/quality_study.md.
"""
import json
import time
from pathlib import Path

import numpy as np

from parity.common import fid
from parity.common.files import write_json_atomic, write_text_atomic
from parity.common.frameworks import framework as framework_record
from parity.common.pictures import save_line_plot
from parity.common.run_folder import Run
from parity.common.subcommands import run_module

COLOURS = {"ms_gan": "tab:blue", "torch_gan": "tab:orange"}


def run_one(framework, seed, args):
    """Train one run of `framework` (its package, ms_gan or torch_gan) if not done, and
    return its {"framework", "seed", "seconds", "records"}, the records its --fid-every
    scores of epochs 1..--epochs."""
    out = Path(args.out) / f"{framework}_{args.model}_seed{seed}"
    run = Run(out, framework_record(framework).suffix, resume=True)    # the trainers' folder layout
    began = time.perf_counter()
    run_module([framework, "train", "--model", args.model, "--epochs", args.epochs, "--seed", seed, "--out", out,
                "--log-every", 0, "--fid-every", 1, "--fid-n", args.fid_n,
                *(["--data", args.data] if args.data else []),
                *(["--batch-size", args.batch_size] if args.batch_size else []),
                *(["--resume"] if run.last_checkpoint() else [])], capture=False)
    seconds = time.perf_counter() - began
    records = [r for r in map(json.loads, run.metrics_path.read_text().splitlines())
               if "fid" in r and r["epoch"] <= args.epochs]
    if [(r["epoch"], r["fid_n"]) for r in records] != [(e, args.fid_n) for e in range(1, args.epochs + 1)]:
        raise ValueError(f"{out} was not scored after every epoch at --fid-n {args.fid_n} "
                         f"(it holds {[(r['epoch'], r['fid_n']) for r in records]} as (epoch, n)); "
                         f"give another --out")
    return {"framework": framework, "seed": seed, "seconds": round(seconds, 1), "records": records}


def display(framework):
    """'MindSpore' for ms_gan."""
    return framework_record(framework).display


def scores(run):
    """'51.20, 40.13': a run's score per epoch."""
    return ", ".join(f"{r['fid']:.2f}" for r in run["records"])


def spread(values):
    """(mean, min, max) of the seeds' scores."""
    return float(np.mean(values)), float(np.min(values)), float(np.max(values))


def epoch_rows(runs, args):
    """[{"epoch", framework: (mean, min, max), ...}] over the seeds, one per epoch."""
    return [{"epoch": epoch, **{f: spread([r["records"][epoch - 1]["fid"] for r in runs if r["framework"] == f])
                                for f in args.frameworks}}
            for epoch in range(1, args.epochs + 1)]


def verdict(a, b, seeds):
    """Whether the difference of two (mean, min, max) lies within the seeds' spread."""
    if seeds < 2:
        return "no spread (1 seed)"
    difference, widest = abs(a[0] - b[0]), max(a[2] - a[1], b[2] - b[1])
    return f"{'yes' if difference <= widest else 'no'} ({difference:.2f} {'<=' if difference <= widest else '>'} {widest:.2f})"


def format_markdown(runs, args):
    kind = runs[0]["records"][0]["fid_kind"]
    name = "digit FID" if kind == fid.DIGIT else "FID (Inception)"
    pair = len(args.frameworks) == 2
    seeds = ", ".join(map(str, args.seeds))
    lines = [f"{name} of {args.fid_n:,} images of `{args.model}` (fixed noise) against as many of "
             f"`{args.data or 'the embedded digits'}`, after each epoch; per framework the mean over seeds "
             f"{seeds} and, in brackets, the min-max over them. Within spread: |difference| <= the larger "
             f"of the two ranges.", "",
             "| epoch | " + " | ".join(display(f) for f in args.frameworks)
             + (f" | {display(args.frameworks[0])} - {display(args.frameworks[1])} | within the seeds' spread |" if pair else " |"),
             "| ---: |" + " ---: |" * len(args.frameworks) + (" ---: | --- |" if pair else "")]
    for row in epoch_rows(runs, args):
        cells = [f"{row[f][0]:.2f} ({row[f][1]:.2f}-{row[f][2]:.2f})" for f in args.frameworks]
        if pair:
            a, b = (row[f] for f in args.frameworks)
            cells += [f"{a[0] - b[0]:+.2f}", verdict(a, b, len(args.seeds))]
        lines.append(f"| {row['epoch']} | " + " | ".join(cells) + " |")
    lines += ["", "| framework | seed | " + name + " per epoch | last epoch: confident, class entropy | wall s |",
              "| --- | ---: | --- | --- | ---: |"]
    for r in runs:
        last = r["records"][-1]
        digits = f"{last['confident']:.1%}, {last['class_entropy']:.3f} bits" if "confident" in last else ""
        lines.append(f"| {display(r['framework'])} | {r['seed']} | {scores(r)} "
                     f"| {digits} | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def save_plot(runs, args, path):
    """One thin line per run, one colour per framework."""
    lines = [([x["epoch"] for x in r["records"]], [x["fid"] for x in r["records"]],
              {"color": COLOURS[r["framework"]], "linewidth": 0.8, "marker": ".",
               "label": display(r["framework"]) if r["seed"] == args.seeds[0] else None}) for r in runs]
    name = "digit FID" if runs[0]["records"][0]["fid_kind"] == fid.DIGIT else "FID (Inception)"
    save_line_plot(path, lines, f"{args.model}: {name} of {args.fid_n:,} images, seeds {', '.join(map(str, args.seeds))}",
                   "epoch", name, xticks=range(1, args.epochs + 1))


def main(args):
    runs = []
    for seed in args.seeds:
        for framework in args.frameworks:
            run = run_one(framework, seed, args)
            runs.append(run)
            print(f"{framework} seed {seed}: {scores(run)} "
                  f"({run['seconds']:.0f} s)", flush=True)
    table = format_markdown(runs, args)
    print(table)
    write_json_atomic(Path(args.out) / "study.json", runs)
    if args.markdown:
        write_text_atomic(args.markdown, table)
    if args.plot:
        save_plot(runs, args, args.plot)
    return 0
