"""`python -m parity check --ms-model M:F --torch-model M:F --input-shape 2,3,32,32`: the
parity check on a porter's own twins, models that are not the project's.

M:F is a module (dotted, importable from the current directory, or a .py path) and a
factory in it called with no arguments (or a model object). In order: the settings of
every paired layer (parity/common/layer_rules.py), named in both frameworks' terms on a
mismatch, before any number; PyTorch's weights copied into MindSpore (or back, --copy);
outputs and every parameter's gradient in eval mode, then in train mode (dropout off
there: the frameworks' masks come from different RNGs, docs/framework_differences.md#dropout);
with --layers, or on a failure, every layer's forward, running statistics and backward in
train mode and the first that diverges.
"""
import importlib
import importlib.util
import sys
from contextlib import contextmanager
from pathlib import Path

import mindspore as ms
import numpy as np
import torch

from ms_gan.device import use_device as use_ms_device
from parity.common.layer_rules import dropout_p
from parity.layers import compare_layers, describe, first_diverging
from parity.pairing import copy_weights, layer_pairs, setting_mismatches
from parity.report import format_table, write_json
from parity.testing import parity_checks
from parity.twins import GRAD_TOL, OUTPUT_TOL, TORCH_DEVICE_FOR


def load_object(spec, flag):
    """The object `name` of module `spec` = "module:name" (a dotted module or a .py file)."""
    module_name, _, name = spec.rpartition(":")
    if not module_name or not name:
        raise ValueError(f"{flag} {spec}: give MODULE:NAME (a dotted module or a .py file, and a factory in it)")
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise ValueError(f"{flag} {spec}: no such file {path}")
            loader = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(loader)
            sys.modules[path.stem] = module
            loader.loader.exec_module(module)
        else:
            if "." not in sys.path:
                sys.path.insert(0, ".")      # a porter's package in the current directory, as python -m finds
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"{flag} {spec}: cannot import {module_name}: {error}") from None
    if not hasattr(module, name):
        raise ValueError(f"{flag} {spec}: {module_name} has no {name}")
    return getattr(module, name)


def load_model(spec, flag, kind):
    obj = load_object(spec, flag)
    model = obj if isinstance(obj, kind) else obj()
    if not isinstance(model, kind):
        raise ValueError(f"{flag} {spec}: gives a {type(model).__name__}, not a {kind.__module__}.{kind.__name__}")
    return model


def draw_inputs(shapes, tokens, seed):
    """float32 N(0, 1) arrays of `shapes`, or int32 ids in [0, tokens) when tokens is given."""
    rng = np.random.default_rng(seed)
    if tokens:
        return tuple(rng.integers(0, tokens, shape).astype(np.int32) for shape in shapes)
    return tuple(rng.standard_normal(shape, dtype=np.float32) for shape in shapes)


@contextmanager
def dropout_off(ms_model, torch_model, mapping=None):
    """Every paired dropout layer at p = 0 (the identity) for the block; yields their names."""
    changed = []
    for path, cell, module, rule in layer_pairs(ms_model, torch_model, mapping):
        if "Dropout" in rule.ms_classes and (module.p > 0 or dropout_p(cell) > 0):
            changed.append((path, cell, module, (getattr(cell, "p", None), cell.keep_prob, module.p)))
            cell.p, cell.keep_prob, module.p = 0.0, 1.0, 0.0     # what their forwards test for the identity
    try:
        yield [path for path, *_ in changed]
    finally:
        for _, cell, module, (p, keep_prob, torch_p) in changed:
            cell.p, cell.keep_prob, module.p = p, keep_prob, torch_p


def check_port(ms_model, torch_model, inputs, mapping=None, copy="torch", layers=False, notes=None):
    """(settings mismatches, checks): the settings first; the numbers only if they agree."""
    notes = [] if notes is None else notes
    mismatches = setting_mismatches(ms_model, torch_model, mapping)
    if mismatches:
        return mismatches, []
    copy_weights(ms_model, torch_model, copy, mapping)
    checks = []
    for mode in ("eval", "train"):
        ms_model.set_train(mode == "train")
        torch_model.train(mode == "train")
        with dropout_off(ms_model, torch_model, mapping) if mode == "train" else _nothing() as off:
            if off:
                notes.append(f"dropout ({', '.join(off)}) off in train mode: the frameworks' masks come from "
                             "different RNGs and cannot match")
            rows = parity_checks(ms_model, torch_model, inputs, OUTPUT_TOL, GRAD_TOL, mapping)
            for row in rows:
                row.name = f"{row.name}, {mode} mode"
            checks += rows
            if mode == "train" and (layers or not all(c.passed for c in checks)):
                layer_rows, crossings = compare_layers(ms_model, torch_model, inputs, OUTPUT_TOL, GRAD_TOL,
                                                       mapping=mapping)
                checks += layer_rows
                notes += [f"{n} input(s) of {name} on opposite sides of 0: float32 rounding at a kink moves "
                          "gradients; try another --seed" for name, (n, _) in crossings.items()]
    return [], checks


@contextmanager
def _nothing():
    yield []


def main(args):
    if not (args.ms_model and args.torch_model and args.input_shape):
        raise ValueError("--ms-model, --torch-model and --input-shape go together: give all three")
    device = use_ms_device(args.device)
    torch.manual_seed(args.seed)      # the factories' own initialisation, the same on every run
    ms.set_seed(args.seed)
    ms_model = load_model(args.ms_model, "--ms-model", ms.nn.Cell)
    torch_model = load_model(args.torch_model, "--torch-model", torch.nn.Module).to(TORCH_DEVICE_FOR[device])
    mapping = load_object(args.mapping, "--mapping") if args.mapping else None
    inputs = draw_inputs(args.input_shape, args.tokens, args.seed)
    notes = []
    mismatches, checks = check_port(ms_model, torch_model, inputs, mapping, args.copy, args.layers, notes)
    print(f"parity check: {args.ms_model} against {args.torch_model}, MindSpore {ms.__version__} on {device}, "
          f"PyTorch {torch.__version__}, inputs {' '.join('x'.join(map(str, s)) for s in args.input_shape)}"
          f"{f' (token ids < {args.tokens})' if args.tokens else ''}, seed {args.seed}")
    if mismatches:
        print("settings differ (compared before any number):")
        for line in mismatches:
            print(f"  {line}")
    else:
        print(f"settings: the {len(layer_pairs(ms_model, torch_model, mapping))} paired layers agree")
        print(format_table(checks))
    for note in notes:
        print("note:", note)
    if checks and not all(c.passed for c in checks):
        print(describe(first_diverging([c for c in checks if not c.name.endswith(" mode")])))   # the layers' rows
    passed = not mismatches and all(c.passed for c in checks)
    if args.json:
        write_json(args.json, f"{args.ms_model} | {args.torch_model}", device, checks, passed=passed,
                   settings=mismatches, notes=notes)
    return 0 if passed else 1
