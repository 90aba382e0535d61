"""What several test modules share: the trainers' command lines and reading a run's
metrics and checkpoints. Tests import these names from here, never from one another."""
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


def public_classes(module):
    """Names of the classes a module defines itself (not those it imports), without a leading _."""
    return {name for name, value in vars(module).items()
            if isinstance(value, type) and value.__module__ == module.__name__ and not name.startswith("_")}


def twin_differences(config):
    """What keeps a model's two files from being twins, as [str] (empty when they are): the
    same public classes, and for G and D the same parameter paths (PyTorch's names through
    parity/common/names.py) with the trainable ones in the same order (the converter maps
    Adam's moments by it)."""
    import importlib

    from parity.common.names import NUM_BATCHES_TRACKED, ms_to_torch_names

    problems = []
    ms_module, torch_module = map(importlib.import_module, (config.ms_module, config.torch_module))
    if public_classes(ms_module) != public_classes(torch_module):
        problems.append(f"classes: {config.ms_module} {sorted(public_classes(ms_module))}, "
                        f"{config.torch_module} {sorted(public_classes(torch_module))}")
    for net, network, kwargs in (("G", "Generator", config.generator_kwargs),
                                 ("D", "Discriminator", config.discriminator_kwargs)):
        ms_net, torch_net = (getattr(module, network)(**kwargs) for module in (ms_module, torch_module))
        ms_params = list(ms_net.parameters_and_names())
        as_torch = ms_to_torch_names([name for name, _ in ms_params])
        torch_names = [n for n in torch_net.state_dict() if not n.endswith(NUM_BATCHES_TRACKED)]
        if sorted(as_torch.values()) != sorted(torch_names):
            problems.append(f"{net} parameters: MindSpore {sorted(as_torch.values())}, PyTorch {sorted(torch_names)}")
        trainable = [as_torch[name] for name, param in ms_params if param.requires_grad]
        if trainable != [name for name, _ in torch_net.named_parameters()]:
            problems.append(f"{net} trainable order: MindSpore {trainable}, "
                            f"PyTorch {[name for name, _ in torch_net.named_parameters()]}")
    return problems
