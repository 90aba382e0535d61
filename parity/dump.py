"""`python -m parity dump MODEL --framework mindspore|torch --out DIR`: one framework's run
of a model, written to a self-describing folder for `parity compare` on any machine
(docs/cross_machine.md#the-dump). It imports only the framework it dumps.

For each of --steps steps, on inputs it draws from --seed (or reads from --inputs, a dump
folder or its inputs.npz, so both sides use the same): every leaf layer of G (on the
step's noise) and of D (on the step's real images) forward and backward, recorded by
parity/tracing.py as `parity check --layers` records them (the loss sum(output * v)), with
the layers' running statistics after that forward, which are then put back; then one
training step of the twin's TrainStep on the same inputs: its losses, and every weight and
running statistic after it. The folder:

    manifest.json   format, framework, model, level, the environment (versions, device,
                    dtype, seeds, deterministic settings, command line), the checksums of
                    the weights and the inputs, the layers in call order, and per tensor
                    its shape, dtype, min/max/mean/norm and sha256
    inputs.npz      the inputs of every step (z<s>, real<s>, labels<s>)
    tensors/*.npy   every tensor (--level full; none with --level stats)

A porter's own network: `--factory pkg.module:function`, a function of no arguments that
returns one network of the dumped framework (built and loaded as the porter likes: both
sides must start from the same weights, which compare checks). Each input `x<s>` of
--inputs (an .npz), or one drawn from --seed of --input-shape, is one step of the layer
trace; there is no training step.
"""
import importlib
import hashlib
import json
import platform
import sys
from pathlib import Path

import numpy as np

from parity.common.checkpoints import DISCRIMINATOR, GENERATOR
from parity.common.configs import get_config
from parity.common.files import atomic_folder
from parity.common.frameworks import FRAMEWORKS, MINDSPORE, TORCH
from parity.common.inputs import draw_inputs, draw_labels

FORMAT = "parity-dump"
VERSION = 1
LEVELS = ("full", "stats")
CUSTOM = "custom"     # the model of a --factory dump; the factory itself is recorded beside it


# ---------------------------------------------------------------- tensors


def checksum(array):
    """sha256 of an array's dtype, shape and little-endian C-order bytes."""
    array = np.asarray(array)
    digest = hashlib.sha256(f"{array.dtype.newbyteorder('=').str}{array.shape}".encode())
    digest.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())
    return digest.hexdigest()


def statistics(array):
    """min, max, mean and L2 norm (float64) of an array; None for an empty one."""
    values = np.asarray(array, dtype=np.float64)
    if not values.size:
        return {"min": None, "max": None, "mean": None, "norm": None}
    return {"min": float(values.min()), "max": float(values.max()), "mean": float(values.mean()),
            "norm": float(np.sqrt((values * values).sum()))}


def group_checksum(arrays):
    """sha256 of the contents of {name: array}, whatever their names and unit axes: each
    array's dtype and little-endian bytes hashed, those digests sorted and hashed. Two
    ports that name a layer or a parameter differently (parity compare --mapping, the rule
    table's gamma/weight), or keep a Conv1d kernel with an axis of 1, start from the same
    weights by this sum; which tensor meets which is the pairing's business."""
    digests = []
    for array in arrays.values():
        array = np.asarray(array)
        digest = hashlib.sha256(array.dtype.newbyteorder("=").str.encode())
        digest.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())
        digests.append(digest.hexdigest())
    return hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()


# ---------------------------------------------------------------- inputs


def make_inputs(config, steps, batch, seed):
    """{"z0": ..., "real0": ..., ["labels0": ...], ...} for `steps` steps from `seed`."""
    inputs = {}
    for step in range(steps):
        inputs[f"z{step}"], inputs[f"real{step}"] = draw_inputs(config, batch, [seed, step])
        labels = draw_labels(config, batch, [seed, step, 1])
        if labels is not None:
            inputs[f"labels{step}"] = labels
    return inputs


def read_inputs(path, first="z0"):
    """The inputs of a dump folder (its inputs.npz) or of an .npz; `first` must be among them."""
    path = Path(path)
    file = path / "inputs.npz" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"--inputs {path}: no such dump folder or .npz")
    with np.load(file) as data:
        inputs = {k: data[k] for k in data.files}
    if first not in inputs or (first == "z0" and "real0" not in inputs):
        raise ValueError(f"--inputs {path}: no {first} in it (a project model's dump has z0, real0, ...; "
                         f"a --factory network's x0, x1, ...)")
    return inputs


def steps_of(inputs):
    return sum(1 for k in inputs if k.startswith("z"))


# ---------------------------------------------------------------- the two frameworks


class MindSporeSide:
    name = MINDSPORE

    def __init__(self, device, mode):
        import mindspore as ms

        from ms_gan.device import use_device
        self.ms = ms
        self.device = use_device(device or "CPU")
        self.mode = mode
        ms.set_context(mode=ms.PYNATIVE_MODE)      # the layer hooks run in PyNative only

    def build(self, model, seed, checkpoint):
        import ms_gan.models
        from ms_gan.checkpoint import FORMAT
        nets = ms_gan.models.build(model, seed=seed, dropout=False)
        if checkpoint:
            _load(FORMAT, nets, checkpoint, model)
        return nets

    def state(self, net):
        from ms_gan.init import state_arrays
        return {n: a.copy() for n, a in state_arrays(net).items()}

    def load(self, net, arrays):
        from ms_gan.init import load_arrays
        load_arrays(net, arrays)

    def train_step(self, g, d, config):
        from ms_gan.train import TrainStep
        return TrainStep(g, d, loss=config.loss, mode=self.mode)

    def set_train(self, net):
        net.set_train(True)

    def environment(self):
        ms = self.ms
        return {"framework": MINDSPORE, "framework_version": ms.__version__, "device": self.device,
                "device_name": self.device if self.device != "CPU" else platform.processor() or platform.machine(),
                "mode": self.mode, "deterministic": ms.get_context("deterministic")}


class TorchSide:
    name = TORCH

    def __init__(self, device, mode):
        import torch
        self.torch = torch
        name = {"cpu": "cpu", "cuda": "cuda", "gpu": "cuda"}.get(str(device or "cpu").lower())
        if name is None:
            raise ValueError(f"--device {device}: PyTorch runs on cpu or cuda")
        if name == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("--device cuda: torch.cuda.is_available() is False on this machine")
        self.device = torch.device(name)
        self.mode = "eager"
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    def build(self, model, seed, checkpoint):
        import torch_gan.models
        from torch_gan.checkpoint import FORMAT
        nets = torch_gan.models.build(model, seed=seed, dropout=False)
        if checkpoint:
            _load(FORMAT, nets, checkpoint, model)
        return tuple(net.to(self.device) for net in nets)

    def state(self, net):
        from torch_gan.init import state_arrays
        return {n: a.copy() for n, a in state_arrays(net).items()}

    def load(self, net, arrays):
        from torch_gan.init import load_arrays
        load_arrays(net, arrays)

    def train_step(self, g, d, config):
        from torch_gan.train import TrainStep
        return TrainStep(g, d, loss=config.loss)

    def set_train(self, net):
        net.train(True)

    def environment(self):
        torch = self.torch
        cuda = self.device.type == "cuda"
        return {"framework": TORCH, "framework_version": torch.__version__, "device": self.device.type.upper(),
                "device_name": torch.cuda.get_device_name(self.device) if cuda
                else platform.processor() or platform.machine(),
                "cuda": torch.version.cuda if cuda else None, "mode": self.mode,
                "deterministic": {"algorithms": torch.are_deterministic_algorithms_enabled(),
                                  "cudnn.deterministic": torch.backends.cudnn.deterministic,
                                  "tf32": torch.backends.cuda.matmul.allow_tf32},
                "threads": torch.get_num_threads()}


SIDES = {MINDSPORE: MindSporeSide, TORCH: TorchSide}


def _load(twin_format, nets, path, model):
    """G and D (or the one network a weights-only file holds) from a checkpoint of either framework."""
    ck = twin_format.read(path, model)
    if ck.model != model:
        raise ValueError(f"--checkpoint {path} is a {ck.model} checkpoint, not {model}")
    for key, net in zip((GENERATOR, DISCRIMINATOR), nets):
        if key in ck.networks:
            twin_format.load_arrays(net, ck.networks[key])


# ---------------------------------------------------------------- the dump


class Writer:
    """The tensors of a dump: their entries in the manifest, and their .npy files at level full."""

    def __init__(self, folder, level):
        self.folder, self.level, self.entries = folder, level, {}

    def add(self, key, array):
        if array is None:
            return
        array = np.asarray(array)
        entry = {"shape": list(array.shape), "dtype": str(array.dtype), **statistics(array),
                 "sha256": checksum(array), "file": None}
        if self.level == "full":
            entry["file"] = f"tensors/{len(self.entries):05d}.npy"
            np.save(self.folder / entry["file"], array)
        self.entries[key] = entry


def load_factory(spec):
    """The function `pkg.module:function` names; a ValueError naming what is missing."""
    module, _, name = str(spec).partition(":")
    if not module or not name:
        raise ValueError(f"--factory {spec}: give it as pkg.module:function")
    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"--factory {spec}: {error}") from None
    if not callable(function):
        raise ValueError(f"--factory {spec}: {name} is not callable")
    return function


def dump_factory(factory, framework, out, inputs=None, input_shape=None, seed=0, level="full", device=None,
                 command=None):
    """Write the layer trace of the network `factory` (pkg.module:function) builds, one step
    per input, to the folder `out`. Returns the manifest."""
    out = _new_folder(out, framework, level)
    side = SIDES[framework](device, "pynative")
    net = load_factory(factory)()
    from parity.tracing import is_mindspore
    if is_mindspore(net) != (framework == MINDSPORE):
        raise ValueError(f"--factory {factory}: returned a {type(net).__module__}.{type(net).__name__}, "
                         f"not a {framework} network")
    if framework == TORCH:
        net = net.to(side.device)
    if inputs:
        inputs = read_inputs(inputs, first="x0")
    elif input_shape:
        inputs = {"x0": np.random.default_rng(seed).standard_normal(input_shape, dtype=np.float32)}
    else:
        raise ValueError("--factory needs --inputs (an .npz of x0, x1, ...) or --input-shape")
    steps = sum(1 for k in inputs if k.startswith("x"))
    initial = side.state(net)
    with atomic_folder(out) as folder:
        (folder / "tensors").mkdir()
        np.savez(folder / "inputs.npz", **inputs)
        writer, layers = Writer(folder, level), {}
        side.set_train(net)
        for step in range(steps):
            _trace(writer, layers, step, "net", net, inputs[f"x{step}"])
            side.load(net, initial)       # the trace's forward moved the running statistics
        manifest = _manifest(CUSTOM, level, steps, int(inputs["x0"].shape[0]), seed, None, side, command,
                             initial, inputs, [], layers, writer)
        manifest["factory"] = factory
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _new_folder(out, framework, level):
    if framework not in SIDES:
        raise ValueError(f"--framework {framework}: choose {' or '.join(FRAMEWORKS)}")
    if level not in LEVELS:
        raise ValueError(f"--level {level}: choose {' or '.join(LEVELS)}")
    out = Path(out)
    if out.exists():
        raise FileExistsError(f"--out {out}: exists; give a new folder")
    return out


def _manifest(model, level, steps, batch, seed, checkpoint, side, command, initial, inputs, losses, layers, writer):
    return {"format": FORMAT, "version": VERSION, "model": model, "level": level, "steps": steps,
            "batch": batch, "seed": seed, "checkpoint": str(checkpoint) if checkpoint else None,
            "environment": {**side.environment(), "python": platform.python_version(),
                            "numpy": np.__version__, "platform": platform.platform(), "dtype": "float32",
                            "command": command or " ".join(sys.argv)},
            "checksums": {"weights": group_checksum(initial), "inputs": group_checksum(inputs)},
            "losses": losses, "layers": layers, "tensors": writer.entries}


def dump(model, framework, out, steps=2, batch=4, seed=0, inputs=None, checkpoint=None, level="full",
         device=None, mode="pynative", command=None):
    """Write the dump of `model` in `framework` to the folder `out` (made atomically; an
    existing one is refused). Returns the manifest."""
    out = _new_folder(out, framework, level)
    config = get_config(model)
    inputs = read_inputs(inputs) if inputs else make_inputs(config, steps, batch, seed)
    steps = steps_of(inputs)
    side = SIDES[framework](device, mode)
    g, d = side.build(model, seed, checkpoint)
    nets = {"G": g, "D": d}
    initial = {f"{net}.{name}": a for net, module in nets.items() for name, a in side.state(module).items()}
    with atomic_folder(out) as folder:
        (folder / "tensors").mkdir()
        np.savez(folder / "inputs.npz", **inputs)
        writer = Writer(folder, level)
        layers = {}
        train = side.train_step(g, d, config)
        losses = []
        for step in range(steps):
            feeds = {"G": inputs[f"z{step}"], "D": inputs[f"real{step}"]}
            for net, module in nets.items():
                side.set_train(module)
                kept = side.state(module)
                _trace(writer, layers, step, net, module, feeds[net])
                side.load(module, kept)       # the trace's forward moved the running statistics
            stats = train(inputs[f"real{step}"], inputs[f"z{step}"], inputs.get(f"labels{step}"))
            losses.append(stats)
            for name, value in stats.items():
                writer.add(f"{step}/loss/{name}", np.float64(value))
            for net, module in nets.items():
                for name, array in side.state(module).items():
                    writer.add(f"{step}/weights/{net}/{name}", array)
        manifest = _manifest(model, level, steps, int(inputs["z0"].shape[0]), seed, checkpoint, side, command,
                             initial, inputs, losses, layers, writer)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _trace(writer, layers, step, net, module, x):
    from parity.tracing import trace
    record = trace(module, (x,), keep_input=lambda layer: True, weights=True)
    layers.setdefault(net, [{"name": name, "kind": record.kinds[name]} for name in record.order])
    for name in record.order:
        writer.add(f"{step}/{net}/forward/{name}/input", record.inputs.get(name))
        writer.add(f"{step}/{net}/forward/{name}/output", record.outputs.get(name))
        for stat, value in sorted(record.states.get(name, {}).items()):
            writer.add(f"{step}/{net}/state/{name}/{stat}", value)
        writer.add(f"{step}/{net}/backward/{name}", record.grads.get(name))
    for name, grad in record.weight_grads.items():
        writer.add(f"{step}/{net}/gradient/{name}", grad)


def main(args):
    command = "python -m parity " + " ".join(sys.argv[1:])
    if (args.model is None) == (args.factory is None):
        raise ValueError("give a MODEL or --factory pkg.module:function, not both")
    if args.factory:
        manifest = dump_factory(args.factory, args.framework, args.out, args.inputs, args.input_shape, args.seed,
                                args.level, args.device, command)
        args.model = args.factory
    else:
        manifest = dump(args.model, args.framework, args.out, args.steps, args.batch, args.seed, args.inputs,
                        args.checkpoint, args.level, args.device, args.mode, command)
    env = manifest["environment"]
    print(f"dumped {args.model} ({env['framework']} {env['framework_version']} on {env['device']}, "
          f"{manifest['steps']} steps, batch {manifest['batch']}, level {manifest['level']}): "
          f"{len(manifest['tensors'])} tensors in {args.out}")
    return 0
