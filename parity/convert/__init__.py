"""`python -m parity convert SRC DST`: checkpoints from MindSpore to PyTorch and back.

The direction comes from the suffixes: `.ckpt` is MindSpore, `.pt`/`.pth` PyTorch. SRC is
read into one framework-free form (parity/common/checkpoints.py: numpy arrays under the
project's MindSpore names, parity/common/names.py) and DST written from it, each file
opened once, through the CheckpointFormat of whichever twin's framework is installed
(parity/common/formats.py), which reads and writes the other framework's files without
it (parity/common/layouts.py), so it runs where only one is installed
(docs/cross_machine.md#checkpoint-files); values and dtypes are kept bit for bit. Both are
matched against the generator and the discriminator each model builds (parity.common.
checkpoints.identify). Without --model, the file is matched against every model in
configs.MODELS: the one it fits is used; one that fits several alike (cnn_gan's and
sgan's generators are the same network) needs the model named, and the error says so.

    read.py    SRC into the form, its values checked to be finite
    write.py   the form into DST
    verify.py  --verify: both frameworks' models on SRC and DST, compared (needs both)
    own.py     --ms-model/--torch-model: a porter's own checkpoint, through its two models
"""
from dataclasses import dataclass
from pathlib import Path

from parity.common import layouts
from parity.common.files import atomic_path
from parity.common.checkpoints import Checkpoint, framework_of
from parity.common.checkpoints import CheckpointError as ConversionError
from parity.common.frameworks import FRAMEWORKS

from .read import load_foreign_checkpoint, read_checkpoint
from .write import write_checkpoint, writing_notes

__all__ = ["Checkpoint", "ConversionError", "ConversionReport", "convert", "framework_of",
           "load_foreign_checkpoint", "main", "ms_to_torch_state", "read_checkpoint", "torch_to_ms_state",
           "verify_files"]

LAYOUTS = ("project", "tutorial")


def verify_files(src, dst, model=None, batch=4, seed=0, notes=None):
    """--verify (parity/convert/verify.py): needs both frameworks."""
    from .verify import verify_files as verify
    return verify(src, dst, model, batch, seed, notes)


def ms_to_torch_state(arrays, order=None):
    """{MindSpore name: array} -> PyTorch state_dict of torch tensors (layouts.ms_to_torch_state)."""
    from torch_gan.checkpoint import to_tensors
    return to_tensors(layouts.ms_to_torch_state(arrays, order))


def torch_to_ms_state(state):
    """PyTorch state_dict -> {MindSpore name: numpy array}; `num_batches_tracked` is dropped."""
    from torch_gan.checkpoint import to_arrays
    return layouts.torch_to_ms_state(to_arrays(state))


@dataclass
class ConversionReport:
    src: str
    dst: str
    source: str            # framework of SRC
    target: str            # framework of DST
    layout_in: str
    layout_out: str
    model: str
    networks: tuple
    tensors: int           # tensors written
    notes: list
    checks: list = None    # parity.report.Check rows when verified

    @property
    def passed(self):
        return self.checks is None or all(c.passed for c in self.checks)


def convert(src, dst, model=None, layout="project", verify=False, force=False, strict=False):
    """Convert SRC into DST (direction from the suffixes) and return a ConversionReport.
    `model` names the configs.MODELS entry; None finds the one model the file fits.
    DST is written atomically and only if every check (and `verify`, when asked) passes;
    an existing DST is kept unless `force`."""
    src, dst = Path(src), Path(dst)
    source, target = framework_of(src), framework_of(dst)
    if layout not in LAYOUTS:
        raise ConversionError(f"unknown layout {layout!r}; choose {' or '.join(LAYOUTS)}")
    if dst.is_dir():
        raise ConversionError(f"{dst}: is a directory")
    if dst.exists() and not force:
        raise ConversionError(f"{dst}: exists; kept (use --force to overwrite)")
    if dst.resolve() == src.resolve():
        raise ConversionError(f"{dst}: is the source file")
    ck = read_checkpoint(src, model, strict)
    if layout == "tutorial" and ck.training:
        raise ConversionError(f"{src}: --layout tutorial applies to one network's weights; "
                              f"the tutorials write no training checkpoints")
    if layout == "tutorial" and ck.model != "dcgan":
        raise ConversionError(f"{src}: --layout tutorial is the faces tutorials' DCGAN's; this is {ck.model}")
    notes = ck.notes + writing_notes(ck, source, target, layout)
    checks = None
    # The twin writes atomically too; this keeps DST unwritten until --verify has passed.
    with atomic_path(dst) as tmp:
        tensors = write_checkpoint(ck, tmp, layout)
        if verify:
            from .verify import verify_checkpoints
            checks = verify_checkpoints(src, ck, tmp, read_checkpoint(tmp, ck.model), notes=notes)
            if not all(c.passed for c in checks):
                from parity.report import format_table
                raise ConversionError(f"{src} -> {dst}: verification FAILED, nothing written\n{format_table(checks)}")
    return ConversionReport(str(src), str(dst), source, target, ck.layout,
                            "training" if ck.training else layout, ck.model, tuple(ck.networks),
                            tensors, notes, checks)


def main(args):
    if args.ms_model or args.torch_model:
        return _main_own(args)
    if args.verify:
        from ms_gan.device import use_device as use_ms_device
        use_ms_device("CPU")   # before any MindSpore kernel runs: --verify builds the twins on it
    report = convert(args.src, args.dst, args.model, args.layout, args.verify, args.force, args.strict)
    print(f"converted {report.src} ({FRAMEWORKS[report.source].display}, {report.layout_in} layout) -> "
          f"{report.dst} ({FRAMEWORKS[report.target].display}, {report.layout_out} layout): "
          f"{report.model} {', '.join(report.networks)}, {report.tensors} tensors")
    for note in report.notes:
        print(f"note: {note}")
    if report.checks is not None:
        from parity.report import format_table
        print(format_table(report.checks))
    return 0 if report.passed else 1


def _main_own(args):
    """A porter's own checkpoint through --ms-model and --torch-model (convert/own.py)."""
    import mindspore as ms
    import torch

    from ms_gan.device import use_device as use_ms_device
    from parity.port_check import load_model, load_object
    from .own import convert_own

    use_ms_device("CPU")

    if not (args.ms_model and args.torch_model):
        raise ConversionError("--ms-model and --torch-model go together: give both")
    if args.model or args.verify or args.layout != "project" or args.strict:
        raise ConversionError("--ms-model/--torch-model convert one model's weights: --model, --verify, "
                              "--layout and --strict are the project's models'")
    ms_model = load_model(args.ms_model, "--ms-model", ms.nn.Cell)
    torch_model = load_model(args.torch_model, "--torch-model", torch.nn.Module)
    mapping = load_object(args.mapping, "--mapping") if args.mapping else None
    tensors = convert_own(args.src, args.dst, ms_model, torch_model, mapping, args.force)
    print(f"converted {args.src} ({FRAMEWORKS[framework_of(args.src)].display}) -> {args.dst} "
          f"({FRAMEWORKS[framework_of(args.dst)].display}) through {args.ms_model} and {args.torch_model}: "
          f"{tensors} tensors")
    return 0
