"""The trainers' command lines, and reading a run's metrics and checkpoints."""
import json
import os

os.environ.setdefault("GLOG_v", "3")

import ms_gan.__main__      # noqa: E402  (after GLOG_v: MindSpore reads it when imported)
import torch_gan.__main__   # noqa: E402
from parity.common.frameworks import FRAMEWORKS as RECORDS, MINDSPORE, TORCH  # noqa: E402

# package -> (its command line's main(argv), its checkpoint suffix)
FRAMEWORKS = {RECORDS[key].package: (main, RECORDS[key].suffix)
              for key, main in ((MINDSPORE, ms_gan.__main__.main), (TORCH, torch_gan.__main__.main))}
IMAGES = 8          # images in the trainers' tiny test folders


def metrics(out):
    """The records of a run's metrics.jsonl."""
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def load_checkpoint_arrays(framework, path):
    """{name: numpy array} of every tensor of a training checkpoint, under the MindSpore
    file's names or the PyTorch file's `generator.<name>`, `optimizer_g.<index>.<key>`, ..."""
    if framework == "ms_gan":
        import mindspore as ms
        return {k: v.asnumpy() for k, v in ms.load_checkpoint(str(path)).items() if not isinstance(v, str)}
    import torch
    state = torch.load(path, weights_only=True)
    flat = {}
    for key in ("generator", "discriminator"):
        flat.update({f"{key}.{n}": t.numpy() for n, t in state[key].items()})
    for key in ("optimizer_g", "optimizer_d"):
        for index, slot in state[key]["state"].items():
            flat.update({f"{key}.{index}.{n}": t.numpy() for n, t in slot.items()})
    return flat


def trainer(batch_size, *fixed):
    """train(framework, data, out, *args): the framework's `train` on the folder `data` into
    `out` at `batch_size`, with one loader worker, no log lines and the `fixed` arguments
    before `args`; its exit code."""
    def train(framework, data, out, *args):
        main, _ = FRAMEWORKS[framework]
        return main(["train", *fixed, "--data", str(data), "--batch-size", str(batch_size), "--out", str(out),
                     "--workers", "1", "--log-every", "0", *args])
    return train


def pynative(framework):
    """The arguments that run MindSpore's step in PyNative (compiling it with ms.jit takes
    longer than a test's few steps take to run); none for PyTorch."""
    return ["--mode", "pynative"] if framework == "ms_gan" else []
