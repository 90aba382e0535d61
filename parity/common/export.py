"""`export`, shared by both twins (ms_gan/export.py, torch_gan/export.py): the command's
checks, the exported file's input and output names, the seeded inputs of --verify, running
an ONNX file in onnxruntime, and the one flow that loads, exports and verifies.

A twin supplies its framework's part as an `ExportTwin`: load a network from a checkpoint,
run it, export it, run the exported file. What each exporter could not take and what the
twins do instead: docs/export.md.

onnx, onnxruntime and onnxscript (the `export` extra) are imported only when a command
needs them; a missing one is a one-line error naming the extra.
"""
import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .checkpoints import GENERATOR, SHORT
from .configs import get_config
from .files import atomic_path
from .compare import compare
from .report import format_table

MINDIR, ONNX = "mindir", "onnx"
FORMATS = (MINDIR, ONNX)
SUFFIX = {MINDIR: ".mindir", ONNX: ".onnx"}
FORMAT_NAME = {MINDIR: "MINDIR", ONNX: "ONNX"}
TOLERANCE = 1e-5            # absolute, as the parity check's outputs
VERIFY_BATCH = 4            # images --verify feeds a file of any batch size; it also feeds 1
EXTRA = "pip install -e '.[export]'"


class ExportMismatch(RuntimeError):
    """The exported file's outputs part from the network's by more than TOLERANCE."""

    def __init__(self, checks):
        self.checks = checks
        worst = max((c for c in checks if not c.passed), key=lambda c: c.max_abs)
        super().__init__(f"{worst.name} differs by {worst.max_abs:.3e} (max abs; tolerance {TOLERANCE:.0e})")


@dataclass
class ExportTwin:
    """One framework's part of `export`."""
    framework: str                  # "MindSpore 2.8.0"
    formats: tuple                  # the formats its exporter writes
    dynamic: Callable               # dynamic(fmt) -> whether the file can take any batch size
    packages: Callable              # packages(fmt) -> the modules its exporter needs
    load_network: Callable          # load_network(path, part, model) -> (model, network)
    run_network: Callable           # run_network(net, x) -> [numpy outputs], in eval mode
    export_network: Callable        # export_network(net, path, fmt, shape, batch or None, input, outputs)
    run_exported: Callable          # run_exported(path, fmt, x) -> [numpy outputs]


@dataclass
class Exported:
    model: str
    part: str
    fmt: str
    path: Path
    batch: int                      # None: any batch size
    checks: list                    # parity.common.report.Check rows; None without verification


def require(*modules):
    """Import `modules` (onnx, onnxruntime, onnxscript) or raise a one-line error naming the extra."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise RuntimeError(f"export needs {' and '.join(missing)}, not installed: install the export extra, {EXTRA}")


def input_name(part):
    """The exported file's input: G's noise, D's image."""
    return "noise" if part == GENERATOR else "image"


def output_names(config, part):
    """The exported file's outputs, in the network's order."""
    if part == GENERATOR:
        return ("image",)
    return ("probability", "class_logits") if config.num_classes else ("probability",)


def input_shape(config, part):
    """One input of the network, without the batch dimension."""
    return tuple(config.noise_shape if part == GENERATOR else config.image_shape)


def verify_inputs(config, part, batch, seed):
    """--verify's inputs: noise N(0, 1) for G, images uniform in [-1, 1] for D, from `seed`."""
    rng = np.random.default_rng([seed, batch])
    shape = (batch, *input_shape(config, part))
    if part == GENERATOR:
        return rng.standard_normal(shape, dtype=np.float32)
    return rng.uniform(-1.0, 1.0, shape).astype(np.float32)


def verify_batches(batch):
    """The batch sizes --verify runs: the file's, or 1 and VERIFY_BATCH for any batch size."""
    return (batch,) if batch else (1, VERIFY_BATCH)


def compare_outputs(label, names, got, want):
    """Check rows `<label> <output>, batch <n>` of two lists of outputs."""
    return [compare(f"{label} {name}, batch {len(b)}", a, b, TOLERANCE) for name, a, b in zip(names, got, want)]


def run_onnx(path, x):
    """The outputs of the ONNX file `path` for the numpy input `x`, in onnxruntime on CPU."""
    import onnxruntime
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


def runtime_name(fmt, framework):
    """Who runs a file of `fmt` for --verify."""
    if fmt == MINDIR:
        return f"{framework}'s GraphCell"
    import onnxruntime
    return f"onnxruntime {onnxruntime.__version__}"


def rename_onnx_io(model, input, outputs):
    """Give the graph of an onnx ModelProto the input name `input` and the output names
    `outputs` (in order), renaming every use."""
    graph = model.graph
    renames = {graph.input[0].name: input, **{o.name: n for o, n in zip(graph.output, outputs)}}
    for value in list(graph.input) + list(graph.output):
        value.name = renames.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]


def check_request(fmt, out, force, formats, framework):
    """The checks of `export` made before anything is read or written."""
    out = Path(out)
    if fmt not in formats:
        raise ValueError(f"--format {fmt}: {framework} exports {' or '.join(formats)}"
                         + ("; MINDIR is MindSpore's format: python -m ms_gan export reads this checkpoint too"
                            if fmt == MINDIR else ""))
    if out.suffix.lower() != SUFFIX[fmt]:
        raise ValueError(f"--out {out}: --format {fmt} writes a file ending in {SUFFIX[fmt]}")
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give the file to write")
    if out.exists() and not force:
        raise FileExistsError(f"--out {out} exists; give --force to overwrite it")
    return out


def export_checkpoint(twin, checkpoint, part, fmt, out, batch=None, model=None, seed=0, force=False, verify=True):
    """Export the `part` (GENERATOR or DISCRIMINATOR) of a checkpoint to `out` in `fmt`
    and, with `verify`, run the file on seeded inputs against the twin's own network.
    The file is written atomically and only once verified; a difference past TOLERANCE
    is an ExportMismatch, and nothing is written. `batch` None: any batch size where the
    format allows it, else 1."""
    out = check_request(fmt, out, force, twin.formats, twin.framework)
    require(*twin.packages(fmt))
    model, net = twin.load_network(checkpoint, part, model)
    config = get_config(model)
    batch = batch or (None if twin.dynamic(fmt) else 1)
    names = output_names(config, part)
    inputs = [verify_inputs(config, part, n, seed) for n in verify_batches(batch)]
    expected = [twin.run_network(net, x) for x in inputs] if verify else None
    checks = None
    with atomic_path(out) as tmp:
        twin.export_network(net, tmp, fmt, input_shape(config, part), batch, input_name(part), names)
        if verify:
            label = f"{SHORT[part]} {FORMAT_NAME[fmt]}"
            checks = [c for x, want in zip(inputs, expected)
                      for c in compare_outputs(label, names, twin.run_exported(tmp, fmt, x), want)]
            if not all(c.passed for c in checks):
                raise ExportMismatch(checks)
    return Exported(model, part, fmt, out, batch, checks)


def describe(result, checkpoint, twin, seed):
    """What `export` prints: the checks' table (when verified) and what was written."""
    config = get_config(result.model)
    shape = ", ".join(map(str, ("N" if result.batch is None else result.batch, *input_shape(config, result.part))))
    batch = ("any batch size (N)" if result.batch is None else
             f"batch fixed at {result.batch}" + ("" if twin.dynamic(result.fmt) else
                                                  f" ({twin.framework}'s {FORMAT_NAME[result.fmt]} exporter "
                                                  f"takes no dynamic shape; --batch N sets it)"))
    lines = []
    if result.checks is not None:
        lines += [f"export check: {result.model} {result.part}, {result.path} in "
                  f"{runtime_name(result.fmt, twin.framework)} against {twin.framework}'s network, seed {seed}",
                  format_table(result.checks)]
    lines.append(f"wrote {result.path}: the {result.part} of {result.model} from {checkpoint} "
                 f"({twin.framework}, {FORMAT_NAME[result.fmt]}); input {input_name(result.part)!r} "
                 f"({shape}): {batch}; output{'s' if len(output_names(config, result.part)) > 1 else ''} "
                 f"{', '.join(map(repr, output_names(config, result.part)))}"
                 + ("" if result.checks is not None else "; not verified (--no-verify)"))
    return "\n".join(lines)


def main(args, twin):
    """`python -m ms_gan export` / `python -m torch_gan export`: 0, or 1 when the exported
    file's outputs part from the network's (its table and the worst output are printed)."""
    try:
        result = export_checkpoint(twin, args.checkpoint, args.net, args.format, args.out, args.batch,
                                   args.model, args.seed, args.force, args.verify)
    except ExportMismatch as error:
        print(format_table(error.checks))
        print(f"export FAILED: the {args.net} in {FORMAT_NAME[args.format]} is not the network: {error}; "
              f"nothing written to {args.out}", file=sys.stderr)
        return 1
    print(describe(result, args.checkpoint, twin, args.seed))
    return 0



def add_parser(commands, models, from_file):
    """The `export` command of both twins' command lines; MINDIR is refused by PyTorch's
    with a message that says where to get it (check_request)."""
    from . import arguments
    from .checkpoints import NETWORKS
    export = commands.add_parser("export", help="write a network of a checkpoint of either framework as a "
                                                "MINDIR (MindSpore) or ONNX file, checked against the network")
    export.add_argument("--checkpoint", required=True, metavar="PATH",
                        help="training or weights-only checkpoint, .ckpt (MindSpore) or .pt/.pth (PyTorch)")
    export.add_argument("--net", choices=NETWORKS, default=GENERATOR, help="the network (default %(default)s)")
    export.add_argument("--format", required=True, choices=FORMATS,
                        help="mindir (MindSpore only: MindSpore Lite and serving) or onnx")
    export.add_argument("--out", required=True, metavar="PATH", help="the file to write, ending in .mindir or .onnx")
    export.add_argument("--batch", type=arguments.POSITIVE_INT, metavar="N",
                        help="fix the file's batch size at N (default: any batch size where the exporter "
                             "allows it, MINDIR and PyTorch's ONNX; MindSpore's ONNX 1)")
    export.add_argument("--model", choices=models, help=f"the model ({from_file})")
    export.add_argument("--seed", type=arguments.SEED, default=0, help="seed of --verify's inputs (default 0)")
    export.add_argument("--force", action="store_true", help="overwrite an existing --out")
    export.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip running the file against the network on seeded inputs "
                             f"(done by default: within {TOLERANCE:.0e}, else exit 1 and nothing written)")
    return export
