"""`python -m torch_gan export`: a network of a checkpoint of either framework as an ONNX
file, run against the network (parity/common/export.py has the flow).

torch.onnx.export (the dynamo exporter, which needs onnxscript) takes every layer of the
models as it is, with any batch size: the export form is the network in eval mode
(docs/export.md). MINDIR is MindSpore's format: `python -m ms_gan export` writes it.

Twin: ms_gan/export.py.
"""
import warnings
from contextlib import contextmanager

import torch

from parity.common import export
from parity.common.export import ONNX
from torch_gan.checkpoint import FORMAT

# torch.export specialises a dimension of size 1: the example of a file of any batch size has 2.
DYNAMIC_EXAMPLE_BATCH = 2


@contextmanager
def export_form(net, fmt):
    """`net` in eval mode, put back as it was on leaving: PyTorch's exporter takes its layers as they are."""
    was_training = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was_training)


@torch.no_grad()
def run_network(net, x):
    """The network's outputs (numpy) for numpy `x`, in eval mode."""
    with export_form(net, ONNX):
        out = net(torch.from_numpy(x))
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


def export_network(net, path, fmt, shape, batch, input, outputs):
    """Write `net` to `path` as ONNX for inputs (batch, *shape); batch None: any batch size."""
    example = torch.zeros((batch or DYNAMIC_EXAMPLE_BATCH, *shape))
    dynamic = None if batch else ({0: torch.export.Dim("batch")},)
    with export_form(net, fmt), warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the exporter's notes on its own internals
        program = torch.onnx.export(net, (example,), dynamo=True, dynamic_shapes=dynamic, input_names=[input],
                                    output_names=list(outputs), verbose=False)
    program.save(str(path))


def run_exported(path, fmt, x):
    """The outputs of an ONNX file for numpy `x`, in onnxruntime."""
    return export.run_onnx(path, x)


TWIN = export.ExportTwin(
    framework=f"PyTorch {torch.__version__}", formats=(ONNX,), dynamic=lambda fmt: True,
    packages=lambda fmt: ("onnx", "onnxruntime", "onnxscript"),
    load_network=FORMAT.load_network, run_network=run_network, export_network=export_network, run_exported=run_exported)


def main(args):
    return export.main(args, TWIN)     # on the CPU, where the network loads
