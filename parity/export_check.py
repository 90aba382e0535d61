"""`python -m parity export-check MODEL` / `--checkpoint PATH`: every export of a model's two
networks, checked on one set of weights (seeded, BatchNorm running statistics drawn off 0
and 1; or a checkpoint's, of either framework):

    MINDIR and ONNX from MindSpore (`ms_gan export`), each against the MindSpore network;
    ONNX from PyTorch (`torch_gan export`) of the checkpoint converted by `parity convert`,
        against the PyTorch network;
    the two ONNX files against each other in onnxruntime, on the same inputs.

Every figure within 1e-5 (absolute) or the command exits 1. docs/export.md has its table
for every model.
"""
import tempfile
from dataclasses import replace
from pathlib import Path

import ms_gan.export
import torch_gan.export
from ms_gan.checkpoint import FORMAT
from ms_gan.init import state_arrays
from parity.common import export
from parity.common.checkpoints import NETWORKS, SHORT, Checkpoint, framework_of
from parity.common.frameworks import FRAMEWORKS, MINDSPORE, TORCH
from parity.common.configs import get_config
from parity.common.export import MINDIR, ONNX, VERIFY_BATCH
from parity.common.files import write_text_atomic
from parity.common.report import format_markdown, format_table, write_json
from parity.convert import convert
from parity.twins import Twins

EXPORTERS = {MINDSPORE: ms_gan.export.TWIN, TORCH: torch_gan.export.TWIN}


def _named(checks, framework):
    return [replace(c, name=f"{c.name.split(' ', 1)[0]} {framework}: {c.name.split(' ', 1)[1]}") for c in checks]


def seeded_files(model, seed, folder):
    """A MindSpore training-layout checkpoint of `model`'s seeded networks (BatchNorm running
    statistics drawn off 0 and 1), in `folder`."""
    twins = Twins(model, seed)
    twins.randomize_running_stats(seed + 2)
    path = folder / f"{model}.ckpt"
    FORMAT.write(Checkpoint({part: state_arrays(net) for part, net in zip(NETWORKS, (twins.ms_g, twins.ms_d))},
                            training=True, config={"model": model}, model=model), path)
    return path


def both_frameworks(checkpoint, model, folder):
    """({MINDSPORE: .ckpt, TORCH: .pt} of `checkpoint`, the other framework's converted by
    `parity convert`; the networks it holds)."""
    checkpoint = Path(checkpoint)
    other = folder / f"converted{FRAMEWORKS[TORCH if framework_of(checkpoint) == MINDSPORE else MINDSPORE].suffix}"
    report = convert(checkpoint, other, model=model)
    ms_file, torch_file = (checkpoint, other) if framework_of(checkpoint) == MINDSPORE else (other, checkpoint)
    return {MINDSPORE: ms_file, TORCH: torch_file}, report.networks


def export_checks(checkpoint, model, seed, folder):
    """(model, the Check rows of every export of every network of a checkpoint of either
    framework); files written in `folder`."""
    export.require("onnx", "onnxruntime", "onnxscript")
    files, parts = both_frameworks(checkpoint, model, folder)
    checks = []
    for part in parts:
        onnx_files = {}
        for key, fmt, batch in ((MINDSPORE, MINDIR, None), (MINDSPORE, ONNX, VERIFY_BATCH), (TORCH, ONNX, None)):
            name = FRAMEWORKS[key].display
            out = folder / f"{part}-{name}{export.SUFFIX[fmt]}"
            result = export.export_checkpoint(EXPORTERS[key], files[key], part, fmt, out, batch, model, seed)
            checks += _named(result.checks, name)
            if fmt == ONNX:
                onnx_files[key] = out
            model = result.model
        x = export.verify_inputs(get_config(model), part, VERIFY_BATCH, seed)
        checks += export.compare_outputs(f"{SHORT[part]} ONNX MindSpore vs PyTorch:",
                                         export.output_names(get_config(model), part),
                                         export.run_onnx(onnx_files[MINDSPORE], x),
                                         export.run_onnx(onnx_files[TORCH], x))
    return model, checks


def main(args):
    if args.model is None and args.checkpoint is None:
        raise ValueError("export-check: give a MODEL (its seeded weights) or --checkpoint PATH")
    with tempfile.TemporaryDirectory(prefix="export-check-") as folder:
        folder = Path(folder)
        checkpoint = args.checkpoint or seeded_files(args.model, args.seed, folder)
        model, checks = export_checks(checkpoint, args.model, args.seed, folder)
    title = f"export check: {model} from {args.checkpoint or f'seeded weights (seed {args.seed})'}, inputs seed {args.seed}"
    print(title)
    print(format_table(checks))
    if args.json:
        write_json(args.json, model, "CPU", checks, seed=args.seed, checkpoint=args.checkpoint)
    if args.markdown:
        write_text_atomic(args.markdown, format_markdown(title, checks))
    return 0 if all(c.passed for c in checks) else 1
