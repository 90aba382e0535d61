"""python -m parity COMMAND ...: checks, conversion and benchmarks across the twins."""
import argparse
import importlib
import sys


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m parity", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="compare both frameworks' outputs, losses, gradients and "
                                              "BatchNorm statistics on the same weights and inputs")
    check.add_argument("model", help="model name, e.g. dcgan")
    check.add_argument("--device", default="CPU", help="MindSpore device: CPU, GPU or Ascend (default CPU)")
    check.add_argument("--batch", type=int, default=8, help="batch size of the compared inputs (default 8)")
    check.add_argument("--seed", type=int, default=0, help="seed of weights and inputs (default 0)")
    check.add_argument("--json", metavar="PATH", help="also write the result as JSON")
    check.add_argument("--markdown", metavar="PATH", help="also write the result as a Markdown table")
    return parser


# command -> module with main(args) -> exit code; imported only when its command runs,
# since each imports both frameworks.
MODULES = {"check": "parity.check"}


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return importlib.import_module(MODULES[args.command]).main(args)
    except (ValueError, RuntimeError, FileNotFoundError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
