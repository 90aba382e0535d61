"""python -m parity COMMAND ...: checks, conversion and benchmarks across the twins."""
import argparse
import importlib
import sys

from parity.common import arguments, devices
from parity.common.configs import MODELS
from parity.common.frameworks import FRAMEWORKS, MINDSPORE, PACKAGES, TORCH
from parity.common.command_line import run_command
from parity.common.fid import INCEPTION, KINDS, default_cache_dir
from parity.common.run_settings import FID_N


# BatchNorm's train-mode statistics need two images a batch (PyTorch refuses one on
# BatchNorm1d), and the parity check compares them.
BATCH = arguments.bounded(int, 2)


def build_parser():
    parser = argparse.ArgumentParser(prog=arguments.program("python -m parity"), description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="compare both frameworks' outputs, losses, gradients and "
                                              "BatchNorm statistics on the same weights and inputs")
    check.add_argument("model", nargs="?", choices=sorted(MODELS),
                       help="the model (or your own twins: --ms-model, --torch-model, --input-shape)")
    check.add_argument("--device", type=arguments.DEVICE, default="cpu",
                       help=f"MindSpore's device, and PyTorch's where it has it: {devices.ALLOWED} (default cpu)")
    check.add_argument("--batch", type=BATCH, default=8, help="batch size of the compared inputs (default 8)")
    check.add_argument("--seed", type=arguments.SEED, default=0, help="seed of weights and inputs (default 0)")
    check.add_argument("--json", metavar="PATH", help="also write the result as JSON (default: none)")
    check.add_argument("--markdown", metavar="PATH", help="also write the result as a Markdown table (default: none)")
    check.add_argument("--layers", action="store_true",
                       help="compare every layer's output, running statistics and backward instead, "
                            "and name the first layer that diverges")
    own = check.add_argument_group("your own port (docs/parity_check.md#your-own-port)")
    own.add_argument("--ms-model", metavar="MODULE:FACTORY",
                     help="the MindSpore model: a factory (called with no arguments) in a dotted module or a .py file "
                          "(default: none, the project's MODEL)")
    own.add_argument("--torch-model", metavar="MODULE:FACTORY", help="the PyTorch model, the same way (default: none)")
    own.add_argument("--input-shape", type=arguments.SHAPE, action="append", metavar="N,C,...",
                     help="shape of the model's input; repeat for each input of a model with several (default: none)")
    own.add_argument("--tokens", type=arguments.POSITIVE_INT, metavar="N",
                     help="inputs are int32 token ids in [0, N) (an Embedding's) (default: float32 N(0, 1))")
    own.add_argument("--mapping", metavar="MODULE:NAME",
                     help="a dict of MindSpore names or layer paths to PyTorch's, or a callable, for twins "
                          "whose names differ (default: none, the same paths)")
    own.add_argument("--copy", choices=(TORCH, MINDSPORE), default=TORCH,
                     help="whose weights are copied into the other (default %(default)s)")

    trajectory = commands.add_parser("trajectory", help="train both frameworks N steps from the same weights, "
                                                         "batches and noise, and show where they part")
    trajectory.add_argument("model", choices=sorted(MODELS), help="the model")
    trajectory.add_argument("--steps", type=arguments.POSITIVE_INT, default=20, help="training steps (default 20)")
    trajectory.add_argument("--batch", type=BATCH, default=16, help="batch size (default 16)")
    trajectory.add_argument("--seed", type=arguments.SEED, default=0,
                            help="seed of weights, batches and noise (default 0)")
    trajectory.add_argument("--device", type=arguments.DEVICE, default="cpu",
                       help=f"MindSpore's device, and PyTorch's where it has it: {devices.ALLOWED} (default cpu)")
    trajectory.add_argument("--mode", choices=("jit", "pynative"), default="jit",
                            help="MindSpore's step: compiled with ms.jit (default) or eager")
    trajectory.add_argument("--only-mindspore", action="store_true",
                            help="skip the nn.Adam and PyTorch +1 ulp runs")
    trajectory.add_argument("--json", metavar="PATH", help="also write every step as JSON (default: none)")
    trajectory.add_argument("--markdown", metavar="PATH", help="also write the result as Markdown (default: none)")
    trajectory.add_argument("--plot", metavar="PATH",
                            help="also plot the differences over the steps (PNG; default: none)")

    convert = commands.add_parser("convert", help="convert a checkpoint between MindSpore (.ckpt) and "
                                                  "PyTorch (.pt/.pth), either way")
    convert.add_argument("src", help="checkpoint to read: project, tutorial or training layout")
    convert.add_argument("dst", help="checkpoint to write; its suffix picks the framework")
    convert.add_argument("--model", choices=sorted(MODELS), metavar="MODEL",
                         help=f"model the weights belong to: {', '.join(sorted(MODELS))} "
                              "(default: found from the file's parameters)")
    convert.add_argument("--layout", choices=("project", "tutorial"), default="project",
                         help="names to write: the project's models' or the target framework's tutorial's "
                              "(default %(default)s)")
    convert.add_argument("--verify", action="store_true",
                         help="run both frameworks' models on the converted weights and compare")
    convert.add_argument("--force", action="store_true", help="overwrite an existing DST")
    convert.add_argument("--strict", action="store_true", help="refuse weights holding NaN or Inf")
    convert.add_argument("--ms-model", metavar="MODULE:FACTORY",
                         help="your own port: the MindSpore model the weights belong to (a factory called with "
                              "no arguments, in a dotted module or a .py file); with --torch-model (default: none)")
    convert.add_argument("--torch-model", metavar="MODULE:FACTORY",
                         help="your own port: the PyTorch model (default: none)")
    convert.add_argument("--mapping", metavar="MODULE:NAME",
                         help="with --ms-model: a dict of MindSpore names or layer paths to PyTorch's, or a "
                              "callable (default: none, the same paths)")

    export_check = commands.add_parser("export-check", help="export a model's networks from both frameworks "
                                                            "(MINDIR, ONNX) and compare every file with its network "
                                                            "and the two ONNX files with each other")
    export_check.add_argument("model", nargs="?", choices=sorted(MODELS),
                              help="the model: its seeded weights, or the model of --checkpoint")
    export_check.add_argument("--checkpoint", metavar="PATH",
                              help="a checkpoint of either framework, training or weights-only, instead of "
                                   "seeded weights (default: none)")
    export_check.add_argument("--seed", type=arguments.SEED, default=0, help="seed of weights and inputs (default 0)")
    export_check.add_argument("--json", metavar="PATH", help="also write the result as JSON (default: none)")
    export_check.add_argument("--markdown", metavar="PATH",
                              help="also write the result as a Markdown table (default: none)")

    bench = commands.add_parser("bench", help="train-step, generator, data-pipeline and command throughput "
                                              "of both frameworks, side by side")
    bench.add_argument("--model", nargs="+", default=["dcgan"], metavar="MODEL",
                       help=f"model names ({', '.join(sorted(MODELS))}), or all (default dcgan)")
    bench.add_argument("--batch", type=BATCH,
                       help="batch size (default: each model's training batch, dcgan 128 as in the faces "
                            "tutorial, the others 32 as on the embedded digits)")
    bench.add_argument("--device", type=arguments.DEVICE, default="cpu",
                       help=f"MindSpore's device, and PyTorch's where it has it: {devices.ALLOWED} (default cpu)")
    bench.add_argument("--repeats", type=arguments.POSITIVE_INT, default=5,
                       help="timed repeats of each implementation (default 5)")
    bench.add_argument("--steps", type=arguments.POSITIVE_INT, default=2,
                       help="train steps or generator calls per repeat (default 2)")
    bench.add_argument("--warmup", type=arguments.COUNT, default=10, metavar="STEPS",
                       help="untimed steps or calls of each implementation before timing, rounded up to whole "
                            "repeats, at least one (default 10; MindSpore's first jit steps stall now and then)")
    bench.add_argument("--images", type=arguments.POSITIVE_INT, default=2048,
                       help="JPEGs for the data pipelines (default 2048)")
    bench.add_argument("--workers", type=arguments.COUNT, default=2, help="data pipeline workers (default 2)")
    bench.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    bench.add_argument("--no-commands", action="store_true", help="skip timing parity check and convert")
    bench.add_argument("--json", metavar="PATH", help="also write the result as JSON (default: none)")

    per_op = {"bench-convs": "every convolution of the models at its training batch, per op: MindSpore's own "
                             "kernels, the native ones and PyTorch's",
              "bench-ops": "the models' Dense layers per op and each network's Adam step: MindSpore's own ops, "
                           "the native kernels and PyTorch's"}
    for name, help_text in per_op.items():
        op_bench = commands.add_parser(name, help=help_text)
        op_bench.add_argument("--model", nargs="+", default=["all"], metavar="MODEL",
                              help="model names, or all (default all)")
        op_bench.add_argument("--repeats", type=arguments.POSITIVE_INT, default=5,
                              help="timed repeats of each op (default 5)")
        op_bench.add_argument("--json", metavar="PATH", help="also write the result as JSON (default: none)")

    workers = commands.add_parser("bench-workers", help="training throughput with 1 and 2 data-parallel workers "
                                                        "per framework, started by msrun and torchrun")
    workers.add_argument("--model", choices=sorted(MODELS), default="gan", help="the model (default gan)")
    workers.add_argument("--images", type=arguments.POSITIVE_INT, default=1024,
                         help="embedded digits an epoch (default 1024)")
    workers.add_argument("--batch-size", type=arguments.POSITIVE_INT, default=64,
                         help="global batch of a step (default 64)")
    workers.add_argument("--epochs", type=arguments.bounded(int, 2), default=4,
                         help="epochs of each run; an epoch's time is taken between the first and the last "
                              "(default 4)")
    workers.add_argument("--worker-counts", type=arguments.POSITIVE_INT, nargs="+", default=[1, 2],
                         metavar="W", help="worker counts to measure (default 1 2)")
    workers.add_argument("--json", metavar="PATH", help="also write the result as JSON (default: none)")

    study = commands.add_parser("sgan-study", help="semi-supervised sgan against the same D trained as a plain "
                                                   "classifier, on a few labels, in both frameworks: test accuracy")
    study.add_argument("--train", metavar="DIR", required=True, help="training images, DIR/<class>/...")
    study.add_argument("--test", metavar="DIR", required=True, help="test images, DIR/<class>/...")
    study.add_argument("--labels", type=arguments.POSITIVE_INT, nargs="+", default=[100, 1000],
                       help="labelled training images, one study row each (default 100 1000)")
    study.add_argument("--epochs", type=arguments.POSITIVE_INT, default=2, help="epochs of every run (default 2)")
    study.add_argument("--batch-size", type=arguments.POSITIVE_INT, default=32,
                       help="unlabelled and labelled images a step, each (default 32)")
    study.add_argument("--seed", type=arguments.SEED, default=0,
                       help="which digits are labelled, the weights, the data order and the noise (default 0)")
    study.add_argument("--frameworks", nargs="+", choices=PACKAGES, default=list(PACKAGES),
                       help="the trainers to run (default both)")
    study.add_argument("--out", metavar="DIR", default="runs/sgan_study",
                       help="one folder a run; a finished run is not trained or evaluated again, and a longer "
                            "--epochs continues it (default %(default)s)")
    study.add_argument("--markdown", metavar="PATH", help="also write the table as Markdown (default: none)")

    quality_study = commands.add_parser("quality-study", help="train a model with several seeds in both frameworks, "
                                                              "scored after every epoch (--fid-every 1): is "
                                                              "MindSpore's G as good as PyTorch's? docs/quality_study.md")
    quality_study.add_argument("--model", choices=sorted(MODELS), default="cnn_gan", help="the model (default cnn_gan)")
    quality_study.add_argument("--seeds", type=arguments.SEED, nargs="+", default=[0, 1, 2],
                               help="one run of each framework per seed (default 0 1 2)")
    quality_study.add_argument("--epochs", type=arguments.POSITIVE_INT, default=2, help="epochs of every run (default 2)")
    quality_study.add_argument("--data", metavar="DIR", help="training and real images (default: the embedded digits)")
    quality_study.add_argument("--fid-n", type=arguments.FID_IMAGES, default=FID_N, metavar="M",
                               help="images scored after each epoch (default %(default)s)")
    quality_study.add_argument("--batch-size", type=arguments.POSITIVE_INT,
                               help="images per step (default: the trainers')")
    quality_study.add_argument("--frameworks", nargs="+", choices=PACKAGES, default=list(PACKAGES), help="the trainers to run (default both)")
    quality_study.add_argument("--out", metavar="DIR", default="runs/quality_study",
                               help="one folder a run; a finished run is not trained again, and a longer --epochs "
                                    "continues it (default %(default)s)")
    quality_study.add_argument("--markdown", metavar="PATH", help="also write the tables as Markdown (default: none)")
    quality_study.add_argument("--plot", metavar="PATH", help="also plot every run's score per epoch (PNG; default: none)")

    fid = commands.add_parser("fid", help="FID of generated images against real ones (the standard Inception "
                                          "features, or a digit classifier's), docs/fid.md")
    fid.add_argument("real", metavar="REAL", help="folder of real images (searched recursively)")
    fid.add_argument("fake", metavar="FAKE",
                     help="folder of images; a .npy of float (N, C, H, W) images in [-1, 1]; or a generator "
                          "checkpoint of either framework (.ckpt, .pt, .pth), which draws --n images")
    fid.add_argument("--n", type=arguments.FID_IMAGES, default=10000,
                     help="images of each side; a larger folder gives a fixed choice of them (default 10000)")
    fid.add_argument("--batch-size", type=arguments.POSITIVE_INT, default=100,
                     help="images a forward pass (default 100)")
    fid.add_argument("--features", choices=KINDS, default=INCEPTION,
                     help="inception: the standard FID Inception's 2048 pool3 features; digit: the shipped "
                          "digit classifier's 64, with its confident share and class entropy (default inception)")
    fid.add_argument("--seed", type=arguments.SEED, default=0, help="seed of a checkpoint's noise (default 0)")
    fid.add_argument("--model", choices=sorted(MODELS),
                     help="model of a checkpoint FAKE (default: found from the file)")
    fid.add_argument("--device", type=arguments.DEVICE, default="cpu",
                     help=f"device of the Inception network and the generator: {devices.ALLOWED} (default cpu)")
    fid.add_argument("--cache-dir", metavar="DIR", default=str(default_cache_dir()),
                     help="where a folder's statistics are kept, keyed by its content, --n and the features "
                          "(default %(default)s)")
    fid.add_argument("--no-cache", action="store_true", help="neither read nor write cached statistics")
    fid.add_argument("--json", metavar="PATH", help="also write the result as JSON (default: none)")

    digits = commands.add_parser("digit-classifier", help="train the digit classifier of `fid --features digit` "
                                                          "on the embedded digits (PyTorch)")
    digits.add_argument("--out", metavar="PATH", required=True, help="the .npz of weights to write")
    digits.add_argument("--seed", type=arguments.SEED, default=0, help="seed of the weights and the order (default 0)")
    digits.add_argument("--epochs", type=arguments.POSITIVE_INT, default=8, help="epochs (default 8)")
    digits.add_argument("--force", action="store_true", help="overwrite an existing PATH")
    add_cross_machine_commands(commands)
    for command in commands.choices.values():      # one rule for every output file: files.check_output_file
        arguments.output_files(command, "--json", "--markdown", "--plot", "--html",
                               "--out" if command is digits else "--json", "dst" if command is convert else "--json")
    return parser


def add_cross_machine_commands(commands):
    """`dump` and `compare` (docs/cross_machine.md)."""
    dump = commands.add_parser("dump", help="one framework's run of a model, every layer and step, into a folder "
                                            "for `compare` (imports only that framework)")
    dump.add_argument("model", nargs="?", choices=sorted(MODELS), help="the model (or --factory)")
    dump.add_argument("--factory", metavar="PKG.MODULE:FUNCTION",
                      help="dump your own network: a function returning one network of --framework (default: none)")
    dump.add_argument("--input-shape", type=arguments.SHAPE,
                      help="--factory's input shape, e.g. 4,3,32,32, drawn from --seed (default: --inputs)")
    dump.add_argument("--framework", choices=tuple(FRAMEWORKS), required=True, help="the framework to run")
    dump.add_argument("--out", required=True, help="the folder to write (must not exist)")
    dump.add_argument("--steps", type=arguments.POSITIVE_INT, default=2, help="training steps (default 2)")
    dump.add_argument("--batch", type=BATCH, default=4, help="batch size (default 4)")
    dump.add_argument("--seed", type=arguments.SEED, default=0, help="seed of weights and inputs (default 0)")
    dump.add_argument("--inputs", help="use the inputs of this dump folder (or its inputs.npz) (default: drawn from --seed)")
    dump.add_argument("--checkpoint", help="weights from this checkpoint of either framework (default: --seed's)")
    dump.add_argument("--level", choices=("full", "stats"), default="full",
                      help="full: every tensor as .npy; stats: statistics and checksums only (default full)")
    dump.add_argument("--device", type=arguments.DEVICE, default="cpu",
                      help=f"the dumped framework's device: {devices.ALLOWED} (default cpu)")
    dump.add_argument("--mode", choices=("jit", "pynative"), default="pynative",
                      help="MindSpore's training step: eager (default) or compiled with ms.jit")

    compare = commands.add_parser("compare", help="compare two dumps on any machine (imports neither framework)")
    compare.add_argument("a", help="a dump folder (the port, e.g. MindSpore)")
    compare.add_argument("b", help="a dump folder (the reference, e.g. PyTorch)")
    compare.add_argument("--json", metavar="PATH", help="also write every comparison as JSON (default: none)")
    compare.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report (default: none)")
    compare.add_argument("--mapping", metavar="FILE.json", help="A's layer paths to B's, as a JSON object, "
                         "where your two ports name a layer differently (default: the same paths)")


# command -> module with main(args) -> exit code; imported only when its command runs,
# since each imports both frameworks.
MODULES = {"check": "parity.check", "convert": "parity.convert", "trajectory": "parity.trajectory",
           "bench": "parity.bench", "sgan-study": "parity.sgan_study", "quality-study": "parity.quality_study",
           "fid": "parity.fid", "digit-classifier": "parity.digit_classifier",
           "bench-workers": "parity.bench_workers", "export-check": "parity.export_check",
           "bench-convs": "parity.bench_convs", "bench-ops": "parity.bench_ops", "dump": "parity.dump",
           "compare": "parity.compare"}


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    module = MODULES[args.command]
    if args.command == "check":
        own = args.ms_model or args.torch_model or args.input_shape
        if own and args.model:
            parser.error(f"check: give the model {args.model} or --ms-model/--torch-model, not both")
        if own and not (args.ms_model and args.torch_model and args.input_shape):
            parser.error("check: --ms-model, --torch-model and --input-shape go together")
        if not own and not args.model:
            parser.error(f"check: give a model ({', '.join(sorted(MODELS))}) or --ms-model, --torch-model "
                         "and --input-shape")
        module = "parity.port_check" if own else "parity.layers" if args.layers else module
    return run_command(importlib.import_module(module).main, args)


if __name__ == "__main__":
    sys.exit(main())
