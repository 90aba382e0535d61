"""`python -m ms_gan export`: a network of a checkpoint of either framework as a MINDIR or
ONNX file, run against the network (parity/common/export.py has the flow).

MindSpore's exporters cannot take some of the project's layers (docs/export.md): the
exported graph is the network's *export form*, the same weights computing the same
numbers with layers the exporter takes, set up by `export_form` for the export only:
    a fast layer of ms_gan/models/layers.py (any subclass of a mindspore.nn layer made
        here) runs as that nn layer: the same parameters, the plain form of its math;
    Upsample runs as a reshape and broadcast (a copy of each pixel to its 2x2 block), which
        both formats take with any batch size (ResizeNearestNeighborV2 is not in the ONNX
        exporter, and fails at run time in a MINDIR of any batch size);
    Tanh runs as tanh in ONNX (onnxruntime's is exact; expm1 is not in the ONNX exporter)
        and as expm1 in MINDIR (MindSpore's CPU tanh is not exact).
The ONNX file is then repaired with the onnx package: ConvTranspose's `output_shape` is
written as (N, C, H, W), where ONNX has (H, W); and its input and outputs are named as
PyTorch's (noise / image, probability, class_logits).

Twin: torch_gan/export.py.
"""
from contextlib import contextmanager

import mindspore as ms
import numpy as np
from mindspore import nn, ops

from ms_gan.checkpoint import FORMAT
from ms_gan.device import use_device
from ms_gan.models import layers
from parity.common import export
from parity.common.export import MINDIR, ONNX


class UpsampleExportForm(layers.Upsample):
    """Nearest-neighbour x2 as a reshape and broadcast: each pixel copied to its 2x2 block,
    the same numbers exactly; the batch dimension stays free (-1)."""

    def construct(self, x):
        _, c, h, w = x.shape
        blocks = ops.broadcast_to(x.reshape(-1, c, h, 1, w, 1), (-1, c, h, 2, w, 2))
        return blocks.reshape(-1, c, 2 * h, 2 * w)


class TanhExportForm(layers.Tanh):
    """tanh as the Tanh operator: exact in onnxruntime (docs/export.md)."""

    def construct(self, x):
        return ops.tanh(x)


class TanhExpm1Form(layers.Tanh):
    """tanh as layers.expm1_tanh, MindSpore's own ops (the native kernel is no operator of
    the format; MindSpore's CPU nn.Tanh is not exact: docs/framework_differences.md#tanh)."""

    def construct(self, x):
        return layers.expm1_tanh(x)


# The layers whose export form is not the nn layer they subclass (today they subclass none):
# their forms by format.
EXPORT_FORMS = {MINDIR: {layers.Upsample: UpsampleExportForm, layers.Tanh: TanhExpm1Form},
                ONNX: {layers.Upsample: UpsampleExportForm, layers.Tanh: TanhExportForm}}


def plain_layer(cls):
    """The mindspore.nn layer a layer class of the project stands for (the nearest in its
    bases), or None: a fast layer subclasses it with the same parameters, so the nn
    layer's construct is the plain form of the same math."""
    if cls.__module__.startswith("mindspore."):
        return None
    return next((base for base in cls.__mro__[1:]
                 if base.__module__.startswith("mindspore.nn") and base is not nn.Cell), None)


def export_class(cell, fmt):
    """The class `cell` runs as in the export form for `fmt`, or None to keep its own."""
    for layer, form in EXPORT_FORMS[fmt].items():
        if isinstance(cell, layer):
            return form
    return plain_layer(type(cell))


@contextmanager
def export_form(net, fmt):
    """`net` in eval mode as its export form for `fmt` (the module docstring), put back as
    it was on leaving: the same cells and parameters, only their classes swapped."""
    swapped = [(cell, cell.__class__) for _, cell in net.cells_and_names() if export_class(cell, fmt)]
    was_training = net.training
    for cell, _ in swapped:
        cell.__class__ = export_class(cell, fmt)
    net.set_train(False)
    try:
        yield net
    finally:
        for cell, cls in swapped:
            cell.__class__ = cls
        net.set_train(was_training)


def _numpy_outputs(out):
    return [o.asnumpy() for o in (out if isinstance(out, tuple) else (out,))]


def run_network(net, x):
    """The network's outputs (numpy) for numpy `x`, in eval mode, with its own layers."""
    was_training = net.training
    net.set_train(False)
    out = _numpy_outputs(net(ms.Tensor(x)))
    net.set_train(was_training)
    return out


def repair_onnx(path, input, outputs):
    """The ONNX file MindSpore wrote, made valid and named: ConvTranspose's output_shape
    trimmed to its spatial part, the input and outputs named as PyTorch's file's."""
    import onnx
    model = onnx.load(str(path))
    for node in model.graph.node:
        for attribute in node.attribute:
            if node.op_type == "ConvTranspose" and attribute.name == "output_shape" and len(attribute.ints) == 4:
                del attribute.ints[:2]
    export.rename_onnx_io(model, input, outputs)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def export_network(net, path, fmt, shape, batch, input, outputs):
    """Write `net`'s export form to `path` (ending in the format's suffix, which
    mindspore.export then keeps) for inputs (batch, *shape); batch None: any batch size
    (MINDIR only)."""
    example = (ms.Tensor(shape=[None, *shape], dtype=ms.float32) if batch is None
               else ms.Tensor(np.zeros((batch, *shape), np.float32)))
    with export_form(net, fmt):
        ms.export(net, example, file_name=str(path), file_format=fmt.upper())
    if fmt == ONNX:
        repair_onnx(path, input, outputs)


def run_exported(path, fmt, x):
    """The outputs of an exported file for numpy `x`: MINDIR in a GraphCell, ONNX in onnxruntime."""
    if fmt == ONNX:
        return export.run_onnx(path, x)
    return _numpy_outputs(nn.GraphCell(ms.load(str(path)))(ms.Tensor(x)))


TWIN = export.ExportTwin(
    framework=f"MindSpore {ms.__version__}", formats=(MINDIR, ONNX),
    dynamic=lambda fmt: fmt == MINDIR,      # mindspore.export refuses a dynamic shape in ONNX
    packages=lambda fmt: ("onnx", "onnxruntime") if fmt == ONNX else (),
    load_network=FORMAT.load_network, run_network=run_network, export_network=export_network, run_exported=run_exported)


def main(args):
    use_device("CPU")
    return export.main(args, TWIN)
