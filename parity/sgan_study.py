"""`python -m parity sgan-study`: does the GAN help sgan's classifier? (seed 003's claim)

The study and its results: docs/sgan_study.md; the seed: docs/seeds.md#seed-003.

For every labelled-image count and framework it trains, with the trainers' own command
lines, sgan on all of --train with only that many labels seen (`--labels N`), and the
same D alone as a plain classifier on the same labelled batches (`--labels N
--supervised`); then `evaluate` gives each one's accuracy on --test. Each run is a
subprocess, with its folder under --out; a run whose checkpoint and result are there is not
trained or evaluated again, so an interrupted study goes on where it stopped, and a longer one
(--epochs) continues the shorter one's runs.
"""
import json
from pathlib import Path

from parity.common.files import write_json_atomic, write_text_atomic
from parity.common.frameworks import framework as framework_record
from parity.common.run_folder import Run
from parity.common.subcommands import run_module

KINDS = {"sgan": [], "supervised": ["--supervised"]}


def run_one(framework, kind, labels, args):
    """Train and evaluate one run of `framework` (its package, ms_gan or torch_gan); returns
    its evaluation result (dict)."""
    out = Path(args.out) / f"{framework}_{kind}_{labels}"
    run = Run(out, framework_record(framework).suffix, resume=True)    # the trainers' folder layout
    last = run.checkpoint_path(args.epochs)
    result_path = out / f"test_accuracy_{last.stem}.json"
    # Even a finished run goes through the trainer (with --resume it trains nothing): it
    # refuses a folder made with other settings, so no result is reused for the wrong run.
    run_module([framework, "train", "--model", "sgan", "--data", args.train, "--labels", labels,
                "--epochs", args.epochs, "--batch-size", args.batch_size, "--seed", args.seed, "--out", out,
                "--log-every", 0, *KINDS[kind], *(["--resume"] if run.last_checkpoint() else [])], capture=False)
    if not result_path.exists():
        run_module([framework, "evaluate", "--model", "sgan", "--checkpoint", last, "--data", args.test,
                    "--json", result_path], capture=False)
    return json.loads(result_path.read_text())


def format_markdown(rows, args):
    lines = [f"Test accuracy on {rows[0]['images']:,} images of `{args.test}`; trained on `{args.train}`, "
             f"{args.epochs} epochs, batch {args.batch_size} + {args.batch_size} labelled, seed {args.seed}.",
             "", "| labelled images | framework | sgan (GAN + classes) | D alone, supervised | difference |",
             "| ---: | --- | ---: | ---: | ---: |"]
    for labels in args.labels:
        for framework in args.frameworks:
            acc = {r["kind"]: r["accuracy"] for r in rows if r["labels"] == labels and r["framework"] == framework}
            lines.append(f"| {labels:,} | {framework_record(framework).display} | {acc['sgan']:.1%} | {acc['supervised']:.1%} | "
                         f"{100 * (acc['sgan'] - acc['supervised']):+.1f} points |")
    return "\n".join(lines) + "\n"


def main(args):
    rows = []
    for labels in args.labels:
        for framework in args.frameworks:
            for kind in KINDS:
                result = run_one(framework, kind, labels, args)
                rows.append({"labels": labels, "framework": framework, "kind": kind, **result})
                print(f"{framework} {kind} {labels} labels: test accuracy {result['accuracy']:.4f}", flush=True)
    table = format_markdown(rows, args)
    print(table)
    write_json_atomic(Path(args.out) / "study.json", rows)
    if args.markdown:
        write_text_atomic(args.markdown, table)
    return 0
