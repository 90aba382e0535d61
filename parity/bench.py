"""`python -m parity bench`: both frameworks' throughput, side by side in one run.

For each model asked for (`--model all`: every one), at its training batch, measures train
steps (one D step and one G step: MindSpore's trainer in jit and PyNative mode, PyTorch's
in eager mode and under torch.compile), generator inference, and for 3-channel models the
data pipelines (faces-like 96x96 JPEGs, made here, to 64x64 batches), all in images/s; then
the wall time of `parity check` and `parity convert` on a checkpoint of the model. Every group's
implementations are timed in turns (repeat 1 of each, then repeat 2 of each, ...), so a
machine shared with other jobs slows them alike: compare the ratios of one run, not
absolute figures across runs. Each implementation first runs `warmup` untimed steps:
MindSpore's jit step stalls for 50-300 ms now and then in its first dozen steps after the
compile (docs/bench_cpu.md#warm-up), which a training run of hundreds of steps pays once;
and each timed call follows an untimed call of its own, so that none is timed while the
other framework's threads still spin from its turn. With several models, each model is
timed in a Python process of its own, as a user's training run is: one model's run leaves
the allocators in another state for the next (gan's MindSpore/PyTorch ratio 1.11 alone,
0.83 right after dcgan_mnist; docs/bench_cpu.md#one-process-per-model).
"""
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import mindspore as ms
import numpy as np
import torch
from PIL import Image

import ms_gan.data
import ms_gan.models
import torch_gan.data
import torch_gan.models
from ms_gan import native
from ms_gan.checkpoint import FORMAT
from ms_gan.device import use_device as use_ms_device
from ms_gan.generate import generate as ms_generate
from ms_gan.train import TrainStep as MsTrainStep
from parity.check import run_check
from parity.common import run_settings
from parity.common.configs import MODELS, get_config
from parity.common.files import write_json_atomic
from parity.common.subcommands import run_module
from parity.convert import convert
from parity.twins import TORCH_DEVICE_FOR
from torch_gan.generate import generate as torch_generate
from torch_gan.train import TrainStep as TorchTrainStep

TORCH_REFERENCE = {"train": "torch eager", "generate": "torch", "data": "torch DataLoader"}
# MindSpore's own ops beside the native kernels (docs/native.md), where those are on.
NO_NATIVE = {"train": "ms jit, no native", "generate": "ms, no native"}
# The batch each model trains at by default (parity/common/run_settings.py DEFAULTS): the faces
# tutorial's for the default model with --data (dcgan), the embedded digits' for the others.
TRAINING_BATCH = {name: run_settings.DEFAULTS["data" if name == run_settings.DEFAULTS["data"]["model"] else "embedded"]
                  ["batch_size"] for name in MODELS}


def model_names(names):
    """The models of `--model`: names, or "all" for every one."""
    if list(names) == ["all"]:
        return sorted(MODELS)
    for name in names:
        get_config(name)                 # a one-line error naming the known models
    return list(dict.fromkeys(names))


def make_faces(folder, count, seed=0):
    """`count` 96x96 RGB JPEGs of smooth colour blobs with grain, about the size (4 KB)
    of faces.zip's anime faces."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        coarse = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((96, 96), Image.BICUBIC)
        grain = rng.normal(0, 8, (96, 96, 3))
        image = np.clip(np.asarray(coarse, np.float64) + grain, 0, 255).astype(np.uint8)
        Image.fromarray(image).save(folder / f"{i:05d}.jpg", quality=90)
    return folder


def interleaved(runs, repeats, warmup=1):
    """{name: [images/s of each repeat]} for `runs` {name: fn() -> images done}, timed in
    turns after `warmup` (at least 1) untimed calls of each. Each timed call follows an
    untimed one of its own: right after the other framework's call, that framework's threads
    still spin for a while (measured: a 2-step MindSpore run of gan's generator at 0.45x its
    speed after PyTorch's, PyTorch's at 0.17x after MindSpore's; docs/bench_ops.md#the-spinning-wait)."""
    for fn in runs.values():
        for _ in range(warmup):
            fn()
    rates = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            fn()
            start = time.perf_counter()
            images = fn()
            rates[name].append(images / (time.perf_counter() - start))
    return rates


def entries(model, batch, group, rates):
    """One JSON entry per implementation: median, min, max and the ratio to PyTorch's."""
    reference = statistics.median(rates[TORCH_REFERENCE[group]])
    out = []
    for name, values in rates.items():
        median = statistics.median(values)
        out.append({"model": model, "batch": batch, "group": group, "impl": name, "images_per_s": median,
                    "min": min(values), "max": max(values), "repeats": len(values),
                    "ratio_to_torch": median / reference})
    return out


def train_runs(model, batch, steps, torch_device, compile_torch, notes):
    config = get_config(model)
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (batch, *config.image_shape)).astype(np.float32)
    z = rng.standard_normal((batch, *config.noise_shape)).astype(np.float32)
    labels = rng.integers(0, config.num_classes, batch) if config.num_classes else None
    steppers = {f"mindspore {mode}": MsTrainStep(*ms_gan.models.build(model, seed=0), mode=mode, loss=config.loss)
                for mode in ("jit", "pynative")}
    if native.library() is not None:
        with native.suspended():
            steppers[NO_NATIVE["train"]] = MsTrainStep(*ms_gan.models.build(model, seed=0), mode="jit",
                                                       loss=config.loss)
    steppers["torch eager"] = TorchTrainStep(*(net.to(torch_device) for net in torch_gan.models.build(model, seed=0)),
                                             loss=config.loss)
    if compile_torch:
        g, d = (torch.compile(net.to(torch_device)) for net in torch_gan.models.build(model, seed=0))
        compiled = TorchTrainStep(g, d, loss=config.loss)
        try:
            compiled(real, z, labels)  # compiles; a failure (no C++ compiler, ...) leaves it out
            steppers["torch compile"] = compiled
        except Exception as error:     # torch._dynamo raises many kinds
            notes.append(f"torch.compile left out: {type(error).__name__}: {str(error).splitlines()[0][:200]}")

    def run(step):
        def fn():
            for _ in range(steps):
                step(real, z, labels)
            return steps * batch
        return fn
    return {name: run(step) for name, step in steppers.items()}


def generate_runs(model, batch, steps, torch_device):
    noise = np.random.default_rng(1).standard_normal((batch, *get_config(model).noise_shape)).astype(np.float32)
    ms_g, _ = ms_gan.models.build(model, seed=0)
    torch_g, _ = torch_gan.models.build(model, seed=0)
    torch_g.to(torch_device)
    generators = {"mindspore": ms_g}
    if native.library() is not None:
        with native.suspended():
            generators[NO_NATIVE["generate"]] = ms_gan.models.build(model, seed=0)[0]

    def run(generate, generator):
        def fn():
            for _ in range(steps):
                generate(generator, noise)
            return steps * batch
        return fn
    return {**{name: run(ms_generate, g) for name, g in generators.items()}, "torch": run(torch_generate, torch_g)}


def data_runs(model, folder, batch, workers):
    channels, size, _ = get_config(model).image_shape

    def mindspore_pass():
        dataset = ms_gan.data.create_pipeline(folder, size, channels, batch, num_workers=workers)
        return sum(images.shape[0] for images, in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1))

    def torch_pass():
        loader = torch_gan.data.create_pipeline(folder, size, channels, batch, num_workers=workers)
        return sum(images.shape[0] for images in loader)
    return {"mindspore dataset": mindspore_pass, "torch DataLoader": torch_pass}


def command_timings(model, device, folder, repeats):
    """Median seconds of `parity check` (batch 8) and of `parity convert` both ways of a
    training checkpoint."""
    step = MsTrainStep(*ms_gan.models.build(model, seed=0), mode="pynative", loss=get_config(model).loss)
    ckpt, pt, back = (folder / f"train{suffix}" for suffix in (".ckpt", ".pt", "_back.ckpt"))
    FORMAT.save_training_checkpoint(ckpt, step, 1, {"model": model})
    runs = {f"check {model}": lambda: run_check(model, device),
            "convert .ckpt -> .pt": lambda: convert(ckpt, pt, model=model, force=True),
            "convert .pt -> .ckpt": lambda: convert(pt, back, model=model, force=True)}
    seconds = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            seconds[name].append(time.perf_counter() - start)
    return [{"model": model, "command": name, "seconds": statistics.median(s), "min": min(s), "max": max(s),
             "repeats": len(s)} for name, s in seconds.items()]


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": os.getloadavg(),
            "python": platform.python_version(), "mindspore": ms.__version__, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads()}


def native_state():
    path, reason = native.state()
    return "on" if path is not None else f"off ({reason})"


def in_own_process(model, tmp, device, batch, repeats, steps, images, workers, compile_torch, commands, warmup,
                   log):
    """`python -m parity bench` of one model in a new process: its JSON result."""
    log(f"timing {model} in a process of its own ...")
    path = tmp / f"{model}.json"
    run_module(["parity", "bench", "--model", model, "--device", device, "--repeats", repeats, "--steps", steps,
                "--warmup", warmup, "--images", images, "--workers", workers, "--json", path,
                *(["--batch", batch] if batch else []), *([] if compile_torch else ["--no-compile"]),
                *([] if commands else ["--no-commands"])])
    return json.loads(path.read_text())


def run_bench(models=("dcgan",), batch=None, device="CPU", repeats=5, steps=2, images=2048, workers=2,
              compile_torch=True, commands=True, warmup=10, log=print):
    """All measurements of every model (at `batch`, or its training batch), each
    implementation after `warmup` untimed steps (rounded up to whole repeats of `steps`);
    returns the JSON-ready result."""
    start = time.perf_counter()
    ms_device = use_ms_device(device)
    torch_device = torch.device(TORCH_DEVICE_FOR[ms_device])
    result = {"models": list(models), "device": ms_device, "torch_device": str(torch_device),
              "machine": machine(), "native": native_state(), "warmup_steps": warmup, "entries": [],
              "commands": [], "notes": [], "pid": os.getpid(), "model_pids": {}}
    warmup_calls = max(1, -(-warmup // steps))
    notes = result["notes"]
    with tempfile.TemporaryDirectory(prefix="parity_bench_") as tmp:
        tmp = Path(tmp)
        for model in models:
            if len(models) > 1:      # each in a process of its own (the module's docstring)
                part = in_own_process(model, tmp, ms_device, batch, repeats, steps, images, workers, compile_torch,
                                      commands, warmup, log)
                for key in ("entries", "commands", "notes"):
                    result[key] += part[key]
                result["model_pids"][model] = part["pid"]
                continue
            result["model_pids"][model] = os.getpid()
            size = batch or TRAINING_BATCH[model]
            groups = {"train": lambda: train_runs(model, size, steps, torch_device, compile_torch, notes),
                      "generate": lambda: generate_runs(model, size, steps, torch_device)}
            if get_config(model).image_shape[0] == 3:      # the faces pipeline; MNIST-shaped models have their own
                folder = tmp / "faces"
                if not folder.exists():
                    make_faces(folder, images)
                groups["data"] = lambda: data_runs(model, folder, size, workers)
            for group, runs in groups.items():
                log(f"timing {model} {group} at batch {size} ...")
                result["entries"] += entries(model, size, group, interleaved(runs(), repeats, warmup_calls))
            if commands:
                log(f"timing parity check and convert of {model} ...")
                result["commands"] += command_timings(model, ms_device, tmp, max(1, repeats // 2))
    result["machine"]["load_average_after"] = os.getloadavg()
    result["seconds"] = time.perf_counter() - start
    return result


def format_result(result):
    m = result["machine"]
    lines = [f"parity bench: {', '.join(result['models'])}; MindSpore {m['mindspore']} on {result['device']}, "
             f"PyTorch {m['torch']} on {result['torch_device']} ({m['torch_threads']} threads)",
             f"machine: {m['cpu']}, {m['cores']} cores, load average {m['load_average'][0]:.1f} at the start, "
             f"{m['load_average_after'][0]:.1f} at the end",
             f"native CPU kernels (docs/native.md): {result['native']}; {result['warmup_steps']} untimed warm-up "
             f"steps of each implementation",
             f"{'model':12s} {'batch':>5s} {'group':9s} {'implementation':18s} {'img/s':>9s} {'min':>9s} "
             f"{'max':>9s} {'x torch':>8s}"]
    for e in result["entries"]:
        lines.append(f"{e['model']:12s} {e['batch']:5d} {e['group']:9s} {e['impl']:18s} {e['images_per_s']:9.1f} "
                     f"{e['min']:9.1f} {e['max']:9.1f} {e['ratio_to_torch']:8.2f}")
    for c in result["commands"]:
        lines.append(f"{c['model']:12s} {'':5s} {'command':9s} {c['command']:28s} {c['seconds']:9.2f} s  "
                     f"(min {c['min']:.2f}, max {c['max']:.2f})")
    lines += [f"note: {note}" for note in result["notes"]]
    lines.append(f"bench took {result['seconds']:.0f} s")
    return "\n".join(lines)


def main(args):
    result = run_bench(model_names(args.model), args.batch, args.device, args.repeats, args.steps, args.images,
                       args.workers, not args.no_compile, not args.no_commands, args.warmup)
    print(format_result(result))
    if args.json:
        write_json_atomic(args.json, result)
    return 0
