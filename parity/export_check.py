"""`python -m parity export-check MODEL`: every export of a model's two networks, checked
on one set of weights (seeded, BatchNorm running statistics drawn off 0 and 1):

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
from ms_gan.checkpoint import write_form
from ms_gan.init import state_arrays
from parity.common import export
from parity.common.checkpoints import NETWORKS, SHORT, Checkpoint
from parity.common.export import MINDIR, ONNX, VERIFY_BATCH
from parity.common.files import write_text_atomic
from parity.common.report import format_markdown, format_table, write_json
from parity.convert import convert
from parity.twins import Twins


def _named(checks, framework):
    return [replace(c, name=f"{c.name.split(' ', 1)[0]} {framework}: {c.name.split(' ', 1)[1]}") for c in checks]


def export_checks(model, seed, folder):
    """The Check rows of every export of `model`'s networks, files written in `folder`."""
    export.require("onnx", "onnxruntime", "onnxscript")
    twins = Twins(model, seed)
    twins.randomize_running_stats(seed + 2)
    config = twins.config
    checks = []
    for part, ms_net in zip(NETWORKS, (twins.ms_g, twins.ms_d)):
        ms_file, torch_file = folder / f"{part}.ckpt", folder / f"{part}.pt"
        write_form(Checkpoint({part: state_arrays(ms_net)}, model=model), ms_file)
        convert(ms_file, torch_file, model=model)
        files = {}
        for twin, checkpoint, fmt, batch in ((ms_gan.export.TWIN, ms_file, MINDIR, None),
                                             (ms_gan.export.TWIN, ms_file, ONNX, VERIFY_BATCH),
                                             (torch_gan.export.TWIN, torch_file, ONNX, None)):
            out = folder / f"{part}-{twin.framework.split()[0]}{export.SUFFIX[fmt]}"
            result = export.export_checkpoint(twin, checkpoint, part, fmt, out, batch, model, seed)
            checks += _named(result.checks, twin.framework.split()[0])
            files[twin.framework.split()[0], fmt] = out
        x = export.verify_inputs(config, part, VERIFY_BATCH, seed)
        checks += export.compare_outputs(f"{SHORT[part]} ONNX MindSpore vs PyTorch:", export.output_names(config, part),
                                         export.run_onnx(files["MindSpore", ONNX], x),
                                         export.run_onnx(files["PyTorch", ONNX], x))
    return checks


def main(args):
    with tempfile.TemporaryDirectory(prefix="export-check-") as folder:
        checks = export_checks(args.model, args.seed, Path(folder))
    title = f"export check: {args.model}, seed {args.seed}"
    print(title)
    print(format_table(checks))
    if args.json:
        write_json(args.json, args.model, "CPU", checks, seed=args.seed)
    if args.markdown:
        write_text_atomic(args.markdown, format_markdown(title, checks))
    return 0 if all(c.passed for c in checks) else 1
