"""python -m torch_gan train|generate|evaluate|export ...: see `python -m torch_gan COMMAND --help`."""
import sys

from parity.common.command_line import build_parser, run_command
from parity.common.devices import DEVICES


def main(argv=None):
    args = build_parser("python -m torch_gan", DEVICES, "cpu").parse_args(argv)
    if args.command == "train":
        from torch_gan.train import train as command
    elif args.command == "generate":
        from torch_gan.generate import main as command
    elif args.command == "export":
        from torch_gan.export import main as command
    else:
        from torch_gan.evaluate import main as command
    return run_command(command, args)


if __name__ == "__main__":
    sys.exit(main())
