"""A twin's checkpoint files, the part written once: `TwinFormat`, the base of the
`CheckpointFormat` of ms_gan/checkpoint.py and torch_gan/checkpoint.py (as `Backend` is
the loop's, parity/common/loop.py). Each twin reads and writes its own framework's files
with the framework, the other's with parity/common/layouts.py, so each reads and writes
both with one framework installed; `parity convert` goes through whichever imports.

What a subclass supplies, its framework's part (each a leaf: none calls back here):

    framework                              its record, parity/common/frameworks.py
    build(model)                           (G, D) of the model, built
    expected_of(network)                   its Expected: names, shapes, trainable order
    load_arrays(network, arrays)           {MindSpore name: array} into a built network
    state_arrays(network)                  {MindSpore name: array} of a built network
    adam_state(path, key, network, optimizer) -> AdamState of a TrainStep's optimizer
    load_adam(network, optimizer, state, config)  an AdamState into it
    read_own(path)                         its loader's result for its own file, numpy arrays for tensors
    write_own(raw, path)                   its saver; the number of tensors written
    native(raw)                            `raw` as its loader returns it (its tensor type)
"""
import warnings
from pathlib import Path

from .checkpoints import (DISCRIMINATOR, GENERATOR, NETWORKS, Checkpoint, candidate_models, framework_of, identify,
                          nonfinite, require_training)
from .files import atomic_path
from .layouts import LAYOUTS


class TwinFormat:
    framework = None

    def __init__(self):
        self._expected = {}

    def expected(self, model):
        """{GENERATOR / DISCRIMINATOR: Expected} of `model`, from building it (once)."""
        if model not in self._expected:
            self._expected[model] = dict(zip(NETWORKS, map(self.expected_of, self.build(model))))
        return self._expected[model]

    # ------------------------------------------------------------ files

    def _own(self, path):
        return framework_of(path) == self.framework.key

    def read_file(self, path):
        """What `path`'s framework's loader gives for it, tensors as numpy arrays."""
        path = Path(path)
        own = self._own(path)       # first: an unknown suffix is the error
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint {path}")
        return self.read_own(path) if own else LAYOUTS[framework_of(path)].read_file(path)

    def read(self, path, model=None, part=None):
        """The Checkpoint a file of either framework holds, its model found and every name and
        shape checked (checkpoints.identify); `part` reads one network only."""
        raw = self.read_file(path)
        ck = LAYOUTS[framework_of(path)].parse(path, raw)
        ck = identify(path, ck, {name: self.expected(name) for name in candidate_models(ck)}, model, part)
        ck.source = raw
        return ck

    def _read_told(self, path, model=None, part=None):
        """read(), and for the other framework's file what converting it first would have
        said: its notes printed, NaN/Inf warned of."""
        ck = self.read(path, model, part)
        if not self._own(path):
            for note in ck.notes:
                print(f"note: {path}: {note}")
            bad = nonfinite(ck)
            if bad:
                warnings.warn(f"{path}: NaN or Inf in {', '.join(bad)}", RuntimeWarning, stacklevel=3)
        return ck

    def write(self, ck, path, layout="project"):
        """Write a Checkpoint as `path`'s framework's file (by its suffix), atomically
        (parity.common.files.atomic_path); returns the number of tensors written. `layout`
        "tutorial": the target tutorial's names."""
        key = framework_of(path)
        raw = LAYOUTS[key].unparse(ck, self.expected(ck.model), layout)
        with atomic_path(path) as tmp:
            return self.write_own(raw, tmp) if key == self.framework.key else LAYOUTS[key].write_file(raw, tmp)

    def to_native(self, ck):
        """What this framework's loader would return for `ck` in the project's layout."""
        return self.native(LAYOUTS[self.framework.key].unparse(ck, self.expected(ck.model), "project"))

    def read_native(self, path, model=None):
        """What this framework's loader gives for `path` (mindspore.load_checkpoint,
        torch.load); the other framework's file converted in memory, as `parity convert` would."""
        if self._own(path):
            return self.native(self.read_file(path))
        return self.to_native(self._read_told(path, model))

    def stored_config(self, path):
        """The run's config in a training checkpoint, or None."""
        return LAYOUTS[framework_of(path)].config(path, self.read_file(path))

    # ------------------------------------------------------------ networks and training

    def load_network(self, path, part=GENERATOR, model=None):
        """(model name, network) of G (`part` GENERATOR) or D (DISCRIMINATOR) loaded from a
        training checkpoint, or a weights-only one of that network, of either framework; the
        model comes from the file (checkpoints.identify), `model` must agree."""
        ck = self._read_told(path, model, part)
        net = self.build(ck.model)[NETWORKS.index(part)]
        self.load_arrays(net, ck.networks[part])
        return ck.model, net

    @staticmethod
    def _parts(step):
        """(network key, network, its optimizer) of a TrainStep."""
        return ((GENERATOR, step.generator, step.optimizer_g), (DISCRIMINATOR, step.discriminator, step.optimizer_d))

    def save_training_checkpoint(self, path, step, epoch, config):
        """G, D, both Adam states, `epoch` (epochs done) and `config`, written atomically."""
        parts = self._parts(step)
        self.write(Checkpoint({key: self.state_arrays(net) for key, net, _ in parts}, training=True,
                              optimizers={key: self.adam_state(path, key, net, optimizer)
                                          for key, net, optimizer in parts},
                              epoch=epoch, config=config, model=config["model"]), path)

    def load_training_checkpoint(self, path, step):
        """Load a training checkpoint into a TrainStep; returns (epochs done, config)."""
        ck = require_training(path, self._read_told(path))
        for key, net, optimizer in self._parts(step):
            self.load_arrays(net, ck.networks[key])
            self.load_adam(net, optimizer, ck.optimizers[key], ck.config)
        return int(ck.epoch), ck.config
